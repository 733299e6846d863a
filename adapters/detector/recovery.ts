/**
 * After a restart: the walks of shoppers still in the store, made again by running their visits' logged entries,
 * moves and exits through the detector (its footsteps and its actors), so a dwell counted before a crash goes on
 * counting. The focus and browsing events already in the log are not made again (their ids are in `logged`); one
 * the detector would have made that is not in the log (a crash came between its move and it) is made now.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { Input, Recovery } from '../process/processor-contract.ts';
import { inputOf } from '../engine/inputs.ts';
import { openVisits } from '../recommender/open-visits.ts';
import type { DetectorProcessor } from './processor.ts';

export async function recoverWalks(
  eventLog: EventLog,
  processor: Pick<DetectorProcessor, 'consumes'>,
  o: { idleTimeoutS: number },
): Promise<Recovery & { shoppers: number }> {
  // moves keep a visit open here: a shopper walking since long ago is still followed
  const visits = await openVisits(eventLog, o.idleTimeoutS, { moves: true });
  const logged = new Set<string>();
  const inputs: Input[] = [];
  const streams = new Set<string>();
  for (const e of visits) {
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
  return { inputs, logged, shoppers: streams.size };
}
