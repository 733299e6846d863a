/** Whether any of these message ids is logged (an input another process left undecided: its outcomes' ids). */
import type { EventLog } from '../../actors/kernel/event-log.ts';

export function anyOf(log: EventLog, ids: string[]): Promise<boolean> {
  return log.queries?.anyOf?.(ids) ?? anyOfOverPort(log, ids);
}

export async function anyOfOverPort(log: EventLog, ids: string[]): Promise<boolean> {
  const wanted = new Set(ids);
  for await (const page of log.pages()) if (page.some((e) => e.messageId !== undefined && wanted.has(e.messageId))) return true;
  return false;
}
