/**
 * After a restart: the walks of shoppers still in the store, made again from their newest snapshot of the detector in
 * force (its actor and footsteps: docs/snapshots.md) and by running the logged entries, moves and exits after it (from
 * the visit's start when there is none) through the detector, so a dwell counted before a crash goes on counting. The focus and browsing events already in the log are not made again (their ids are in `logged`); one
 * the detector would have made that is not in the log (a crash came between its move and it) is made now.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { Input, Recovery } from '../process/processor-contract.ts';
import { inputOf } from '../engine/inputs.ts';
import { eventsOf, openVisitPages, type OpenVisit } from '../recommender/open-visits.ts';
import type { MachineVersion } from '../engine/machine-version.ts';
import type { DetectorProcessor } from './processor.ts';

/** `machine`: the detector's version whose snapshots to start from (default: the one in force); `ignored` as recoverSessions says. */
export async function recoverWalks(
  eventLog: EventLog,
  processor: Pick<DetectorProcessor, 'consumes' | 'restore' | 'machine'>,
  o: { idleTimeoutS: number; machine?: MachineVersion },
): Promise<Recovery & { shoppers: number; restored: number; ignored: number }> {
  // moves keep a visit open here: a shopper walking since long ago is still followed
  const visits: OpenVisit[] = [];
  const logged = new Set<string>();
  const inputs: Input[] = [];
  const streams = new Set<string>();
  let restored = 0;
  // each page's walks made while the database reads the next pages
  for await (const page of openVisitPages(eventLog, o.idleTimeoutS, { moves: true, machine: o.machine ?? processor.machine }))
    for (const v of page) {
      visits.push(v);
      if (!v.snapshot) continue;
      processor.restore(v.streamId.slice('customer-'.length), v.snapshot);
      streams.add(v.streamId);
      restored++;
    }
  for (const e of eventsOf(visits)) {
    if (e.metadata.source === 'output') {
      if (e.messageId) logged.add(e.messageId);
      continue;
    }
    // the engine's one reading of a logged input: the kinds the detector consumes
    const input = inputOf(e, e, { kinds: processor.consumes });
    if (!input) continue;
    streams.add(e.streamId);
    inputs.push(input);
  }
  return { inputs, logged, shoppers: streams.size, restored, ignored: visits.filter((v) => v.ignored).length };
}
