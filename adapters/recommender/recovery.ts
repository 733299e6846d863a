/**
 * After a restart: the sessions of customers still in the store, rebuilt by running their visits'
 * logged inputs through the processor again. Decisions already in the log come back as they were
 * (not scored again, not published again); a focus logged just before a crash with no decision yet is
 * decided now.
 */
import { fromFlat } from '../../schemas/events.ts';
import type { PostgresEventLog } from '../edges/postgres-event-log.ts';
import type { Input, Recovery } from '../process/pipeline.ts';
import type { RecommenderProcessor } from './processor.ts';

const INPUT_TYPES = new Set(['entry', 'focus', 'exit']);

/** `localFocus`: a detector here hands its focus events to the recommender (they are outputs in the log). */
export async function recoverSessions(eventLog: PostgresEventLog, processor: RecommenderProcessor, o: { idleTimeoutS: number; localFocus: boolean }): Promise<Recovery & { sessions: number }> {
  const visits = await eventLog.openVisits(o.idleTimeoutS);
  const logged = new Set<string>();
  const inputs: Input[] = [];
  const streams = new Set<string>();
  for (const e of visits) {
    const cause = e.metadata.cause as string | undefined;
    if ((e.type === 'prediction' || e.type === 'no_prediction') && cause) {
      logged.add(e.messageId ?? '');
      processor.recall(cause, e.type === 'prediction' ? { couponId: (e.data as any).coupon.id, score: (e.data as any).score } : { reason: (e.data as any).reason });
      continue;
    }
    if (!INPUT_TYPES.has(e.type)) continue;
    if (e.metadata.source === 'output' && !(e.type === 'focus' && o.localFocus)) continue;
    const event = fromFlat(e.type, e.data);
    if (!event) continue;
    streams.add(e.streamId);
    inputs.push({ logged: e, event });
  }
  return { inputs, logged, sessions: streams.size };
}
