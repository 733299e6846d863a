/**
 * What a crash may have left unsent: the events of a type recorded within a window before the latest of them (the
 * recommender republishes its last predictions after an unclean stop). Read through the port, or by the log's own.
 */
import type { EventLog, LoggedEvent } from '../../actors/kernel/event-log.ts';

export function latestOf(log: EventLog, type: string, windowMs: number): Promise<LoggedEvent[]> {
  return log.queries?.latestOf?.(type, windowMs) ?? latestOfOverPort(log, type, windowMs);
}

export async function latestOfOverPort(log: EventLog, type: string, windowMs: number): Promise<LoggedEvent[]> {
  const all: LoggedEvent[] = [];
  for await (const page of log.pages({ types: [type] })) all.push(...page);
  const until = all.at(-1)?.recordedAt;
  return until === undefined ? [] : all.filter((e) => e.recordedAt >= until - windowMs);
}
