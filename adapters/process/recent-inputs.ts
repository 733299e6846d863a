/**
 * The de-duplication window's queries: the ids of inputs (not outputs) recorded since a time, and a wait for other
 * writers' appends still under way (a process SIGKILLed a moment ago). Read through the port, or by the log's own.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';

export function inputIdsSince(log: EventLog, sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]> {
  return log.queries?.inputIdsSince?.(sinceMs) ?? inputIdsSinceOverPort(log, sinceMs);
}

export async function inputIdsSinceOverPort(log: EventLog, sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]> {
  const out: { messageId: string; recordedAt: number }[] = [];
  for await (const page of log.pages({ fromTime: sinceMs }))
    for (const e of page) if (e.messageId !== undefined && e.metadata.source !== 'output') out.push({ messageId: e.messageId, recordedAt: e.recordedAt });
  return out;
}

/** Once no other writer is appending (a log that cannot tell, as one in memory whose appends are done when they resolve: at once). */
export async function quiet(log: EventLog, timeoutMs: number): Promise<void> {
  await log.queries?.quiet?.(timeoutMs);
}
