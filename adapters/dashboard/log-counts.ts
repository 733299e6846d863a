/** The dashboard's reads of the log: events of a type counted since a time, and a stream's latest event of a type. */
import type { EventLog, LoggedEvent } from '../../actors/kernel/event-log.ts';

/** How many events of `type` were recorded since `ms`, up to position `upTo`. */
export function countSince(log: EventLog, type: string, ms: number, upTo: number): Promise<number> {
  return log.queries?.countSince?.(type, ms, upTo) ?? countSinceOverPort(log, type, ms, upTo);
}

export async function countSinceOverPort(log: EventLog, type: string, ms: number, upTo: number): Promise<number> {
  let n = 0;
  for await (const page of log.pages({ types: [type], fromTime: ms, toPosition: upTo })) n += page.length;
  return n;
}

/** A stream's latest event of `type`. */
export function last(log: EventLog, streamId: string, type: string): Promise<LoggedEvent | undefined> {
  return log.queries?.last?.(streamId, type) ?? lastOverPort(log, streamId, type);
}

export async function lastOverPort(log: EventLog, streamId: string, type: string): Promise<LoggedEvent | undefined> {
  const stream = await log.readStream(streamId);
  for (let i = stream.length - 1; i >= 0; i--) if (stream[i].type === type) return stream[i];
  return undefined;
}
