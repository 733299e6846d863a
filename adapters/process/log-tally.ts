/** A watcher's cheap progress: the events after a position counted by type and by `metadata.source`, and the last position among them (0: none). */
import type { EventLog, LogTally } from '../../actors/kernel/event-log.ts';

export function tally(log: EventLog, afterPosition = 0): Promise<LogTally> {
  return log.queries?.tally?.(afterPosition) ?? tallyOverPort(log, afterPosition);
}

export async function tallyOverPort(log: EventLog, afterPosition = 0): Promise<LogTally> {
  const t: LogTally = { head: 0, types: {}, sources: {} };
  for await (const page of log.pages({ fromPosition: afterPosition + 1 }))
    for (const e of page) {
      t.types[e.type] = (t.types[e.type] ?? 0) + 1;
      const source = e.metadata.source;
      if (typeof source === 'string') t.sources[source] = (t.sources[source] ?? 0) + 1;
      t.head = e.position;
    }
  return t;
}
