/**
 * After a restart: the walks of shoppers still in the store, made again by running their visits' logged entries,
 * moves and exits through the detector (its footsteps and its actors), so a dwell counted before a crash goes on
 * counting. The focus and browsing events already in the log are not made again (their ids are in `logged`); one
 * the detector would have made that is not in the log (a crash came between its move and it) is made now.
 */
import { fromFlat } from '../../schemas/events.ts';
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { Input, Recovery } from '../process/processor-contract.ts';
import type { DetectorProcessor } from './processor.ts';

export async function recoverWalks(
  eventLog: Pick<EventLog, 'openVisits'>,
  processor: Pick<DetectorProcessor, 'consumes'>,
  o: { idleTimeoutS: number },
): Promise<Recovery & { shoppers: number }> {
  // moves keep a visit open here: a shopper walking since long ago is still followed
  const visits = await eventLog.openVisits(o.idleTimeoutS, { moves: true });
  const consumes: readonly string[] = processor.consumes;
  const logged = new Set<string>();
  const inputs: Input[] = [];
  const streams = new Set<string>();
  for (const e of visits) {
    if (e.metadata.source === 'output') {
      if (e.messageId) logged.add(e.messageId);
      continue;
    }
    if (!consumes.includes(e.type)) continue;
    const event = fromFlat(e.type, e.data);
    if (!event) continue;
    streams.add(e.streamId);
    inputs.push({ logged: e, event });
  }
  return { inputs, logged, shoppers: streams.size };
}
