/**
 * After a restart: the sessions of customers still in the store, rebuilt by running their visits'
 * logged inputs through the processor again. Decisions already in the log come back as they were
 * (not scored again); a focus logged just before a crash with no decision yet is decided now; the
 * predictions of the last seconds before the crash are published again (at-least-once, same ids).
 */
import { fromFlat } from '../../schemas/events.ts';
import type { PostgresEventLog } from '../edges/postgres-event-log.ts';
import type { Input, Recovery } from '../process/pipeline.ts';
import type { RecommenderProcessor } from './processor.ts';

const INPUT_TYPES = new Set(['entry', 'focus', 'exit']);
/** Predictions logged this long before the last one are taken as sent (group commits publish within milliseconds). */
const REPUBLISH_WINDOW_MS = 5000;

/** `localFocus`: a detector here hands its focus events to the recommender (they are outputs in the log). */
export async function recoverSessions(
  eventLog: PostgresEventLog,
  processor: RecommenderProcessor,
  o: { idleTimeoutS: number; localFocus: boolean },
): Promise<Recovery & { sessions: number }> {
  const visits = await eventLog.openVisits(o.idleTimeoutS);
  const logged = new Set<string>();
  const inputs: Input[] = [];
  const streams = new Set<string>();
  for (const e of visits) {
    if (e.streamId.startsWith('customer-')) processor.followed(e.streamId.slice(9), e.version);
    const cause = e.metadata.cause as string | undefined;
    if ((e.type === 'prediction' || e.type === 'no_prediction') && cause) {
      logged.add(e.messageId ?? '');
      processor.recall(
        cause,
        e.type === 'prediction' ? { couponId: (e.data as any).coupon.id, score: (e.data as any).score } : { reason: (e.data as any).reason },
      );
      continue;
    }
    if (!INPUT_TYPES.has(e.type)) continue;
    if (e.metadata.source === 'output' && !(e.type === 'focus' && o.localFocus)) continue;
    const event = fromFlat(e.type, e.data);
    if (!event) continue;
    streams.add(e.streamId);
    inputs.push({ logged: e, event });
  }
  // a SIGKILL can come between logging a prediction and sending it: unless the last run stopped cleanly, the
  // predictions of its last seconds go out again
  const republish = (await stoppedCleanly(eventLog))
    ? []
    : (await eventLog.latestOf('prediction', REPUBLISH_WINDOW_MS)).flatMap((e) => processor.published(e) ?? []);
  return { inputs, logged, republish, sessions: streams.size };
}

/** Whether the run before this one logged its clean stop (`recommender_stopped` after its `recommender_started`). */
async function stoppedCleanly(eventLog: PostgresEventLog): Promise<boolean> {
  const runs = await eventLog.read({ streamId: 'process', types: ['recommender_started', 'recommender_stopped'] });
  // the last record is this run's start; the one before it tells how the previous run ended
  const previous = runs.at(-2);
  return previous === undefined || previous.type === 'recommender_stopped';
}
