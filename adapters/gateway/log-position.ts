/** Where a replay from a time starts: the first position recorded at or after `ms` (head + 1 when none). */
import type { EventLog } from '../../actors/kernel/event-log.ts';

export function firstPositionSince(log: EventLog, ms: number): Promise<number> {
  return log.queries?.firstPositionSince?.(ms) ?? firstPositionSinceOverPort(log, ms);
}

export async function firstPositionSinceOverPort(log: EventLog, ms: number): Promise<number> {
  const [first] = await log.read({ fromTime: ms, limit: 1 });
  return first?.position ?? (await log.head()) + 1;
}
