/**
 * After a restart: the sessions of customers still in the store, each made from its newest snapshot of the session
 * machine in force (docs/snapshots.md) and the logged inputs after it run through the processor again (from the
 * visit's start when there is none). Decisions already in the log come back as they were (not scored again); a focus
 * logged just before a crash with no decision yet is decided now; the predictions of the last seconds before the crash
 * are published again (at-least-once, same ids).
 */
import { loggedInputId, type Input, type Recovery } from '../process/processor-contract.ts';
import type { EventLog, LoggedEvent } from '../../actors/kernel/event-log.ts';
import { eventsOf, openVisitPages, type OpenVisit } from './open-visits.ts';
import type { MachineVersion } from '../engine/machine-version.ts';
import { latestOf } from './recent-predictions.ts';
import type { RecommenderProcessor } from './processor.ts';
import { inputOf } from '../engine/inputs.ts';
import { deferrableUntil } from './deferred-sessions.ts';

/** Predictions logged this long before the last one are taken as sent (group commits publish within milliseconds). */
const REPUBLISH_WINDOW_MS = 5000;

/**
 * `localFocus`: a detector here hands its focus events to the recommender (they are outputs in the log). `machine`: the
 * session machine's version whose snapshots to start from (default: the one in force). `ignored`: visits whose
 * snapshot, of another machine version, was passed over (made from their events).
 */
export async function recoverSessions(
  eventLog: EventLog,
  processor: RecommenderProcessor,
  o: { idleTimeoutS: number; localFocus: boolean; machine?: MachineVersion },
): Promise<Recovery & { sessions: number; restored: number; ignored: number; deferred: number }> {
  const visits: OpenVisit[] = [];
  const inputs: Input[] = [];
  const later: { customerId: string; visit: OpenVisit; inputs: Input[]; ts: number }[] = [];
  const streams = new Set<string>();
  let restored = 0;
  // each page's visits taken while the database reads the next pages: a session whose inputs after its snapshot are
  // all decided in the log is made on first need (deferred-sessions.ts), any other at once, its inputs run again below
  for await (const page of openVisitPages(eventLog, o.idleTimeoutS, { machine: o.machine ?? processor.machine }))
    for (const v of page) {
      visits.push(v);
      // the engine's one reading of a logged input: the kinds the sessions consume, and a local detector's focus
      const own = v.events.flatMap((e) => inputOf(e, e, { localFocus: o.localFocus, kinds: processor.consumes }) ?? []);
      const customerId = v.streamId.slice('customer-'.length);
      const ts = deferrableUntil(v, own);
      if (v.snapshot) restored++;
      if (v.snapshot || own.length > 0) streams.add(v.streamId);
      if (ts !== undefined && v.snapshot) later.push({ customerId, visit: v, inputs: own, ts });
      else {
        if (v.snapshot) processor.restore(customerId, v.snapshot);
        for (const i of own) inputs.push(i);
      }
    }
  // least recently active first, as the idle clock keeps customers
  later.sort((a, b) => a.ts - b.ts);
  for (const l of later) if (l.visit.snapshot) processor.restoreLater(l.customerId, l.visit.snapshot, l.inputs, l.ts);
  // the inputs run again through the engine, in log order
  inputs.sort((a, b) => a.logged.position - b.logged.position);
  const events = eventsOf(visits);
  const logged = new Set<string>();
  const followed = followedVisits(visits, events);
  // decisions of the inputs run again, now or when a deferred session is made, come back as they were (those of inputs
  // before a snapshot are in it already): the engine hands them to the sessions' replica mode
  const again = new Set([...inputs, ...later.flatMap((l) => l.inputs)].map((i) => loggedInputId(i.logged)));
  const recalled: LoggedEvent[] = [];
  for (const e of events) {
    const cause = e.metadata.cause as string | undefined;
    if ((e.type === 'prediction' || e.type === 'no_prediction') && cause) {
      logged.add(e.messageId ?? '');
      if (again.has(cause)) recalled.push(e);
    }
  }
  // a SIGKILL can come between logging a prediction and sending it: unless the last run stopped cleanly, the
  // predictions of its last seconds go out again
  const republish = (await stoppedCleanly(eventLog))
    ? []
    : (await latestOf(eventLog, 'prediction', REPUBLISH_WINDOW_MS)).flatMap((e) => processor.published(e) ?? []);
  return {
    inputs,
    logged,
    republish,
    followed,
    recalled,
    sessions: streams.size,
    restored,
    ignored: visits.filter((v) => v.ignored).length,
    deferred: later.length,
  };
}

/**
 * The version each recovered session follows (the engine hands it to the sessions' replica mode): the last event
 * recovery read, so its decisions are appended against that version — unless a focus still to be decided has a
 * decision logged after it (another replica's, for a later focus): decided here at its place in the visit, it would
 * not count that offer, so its decision is appended against the stream as of its input, refused, and made again from
 * the log with every offer counted.
 */
function followedVisits(visits: OpenVisit[], events: readonly LoggedEvent[]): Map<string, number> {
  const decided = new Set(events.map((e) => e.metadata.cause).filter((c): c is string => typeof c === 'string'));
  const last = new Map<string, number>();
  for (const v of visits) if (v.snapshot) last.set(v.streamId, v.snapshot.version);
  const undecidedAt = new Map<string, number>();
  const stale = new Set<string>();
  for (const e of events) {
    if (!e.streamId.startsWith('customer-')) continue;
    last.set(e.streamId, e.version);
    if (e.type === 'focus' && !decided.has(loggedInputId(e)) && !undecidedAt.has(e.streamId)) undecidedAt.set(e.streamId, e.version);
    if ((e.type === 'prediction' || e.type === 'no_prediction') && undecidedAt.has(e.streamId)) stale.add(e.streamId);
  }
  const followed = new Map<string, number>();
  for (const [stream, version] of last) if (!stale.has(stream)) followed.set(stream.slice('customer-'.length), version);
  return followed;
}

/** Whether the run before this one logged its clean stop (`recommender_stopped` after its `recommender_started`). */
async function stoppedCleanly(eventLog: Pick<EventLog, 'read'>): Promise<boolean> {
  const runs = await eventLog.read({ streamId: 'process', types: ['recommender_started', 'recommender_stopped'] });
  // the last record is this run's start; the one before it tells how the previous run ended
  const previous = runs.at(-2);
  return previous === undefined || previous.type === 'recommender_stopped';
}
