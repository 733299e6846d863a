/**
 * The recommender's recovery query: the visits with work left at the log's end, and what they logged so far — the
 * customers still in the store (every event of their streams after their last exit, inputs and decisions, in log
 * order), and visits already closed that hold a focus never decided (a crash between the focus and its decision:
 * from the exit before that focus). A visit is open when the customer entered or focused after their last exit,
 * within `idleTimeoutS` of event time, event time being the latest time two customers have reached (one clock far
 * ahead moves nobody). Only what was recorded (wall time) within the idle timeout and RECOVERY_MARGIN_S is read: the
 * cost of a start follows recent traffic, not the length of the log (a longer visit keeps the window's part).
 * Read through the port, or by the log's faster version (adapters/edges/postgres-log-reads.ts: the same in SQL).
 */
import type { EventLog, LoggedEvent, OpenVisitsOptions } from '../../actors/kernel/event-log.ts';
import { SESSION_INPUTS, WALK_INPUTS } from '../engine/inputs.ts';

/** Recovery looks this much further back than the idle timeout for customers still in the store (clock skew, a slow start). */
export const RECOVERY_MARGIN_S = 600;

/** `moves`: a move keeps a visit open as an entry does (the detector's view: a shopper still walking is in the store). */
export function openVisits(log: EventLog, idleTimeoutS: number, o: OpenVisitsOptions = {}): Promise<LoggedEvent[]> {
  return log.queries?.openVisits?.(idleTimeoutS, o) ?? openVisitsOverPort(log, idleTimeoutS, o);
}

/** Per stream, over the window: its latest time, last exit, last entry or focus, last focus, last decision, first position. */
interface Visit {
  maxTs: number;
  lastExit: number;
  lastIn: number;
  lastFocus: number;
  lastDecision: number;
  firstInWindow: number;
}

export async function openVisitsOverPort(log: EventLog, idleTimeoutS: number, o: OpenVisitsOptions = {}): Promise<LoggedEvent[]> {
  const types: string[] = [...new Set([...SESSION_INPUTS, ...(o.moves ? WALK_INPUTS : [])]), 'prediction', 'no_prediction'];
  const since = Date.now() - (idleTimeoutS + RECOVERY_MARGIN_S) * 1000;
  const visits = new Map<string, Visit>();
  for await (const page of log.pages({ fromTime: since, types })) {
    for (const e of page) {
      if (!e.streamId.startsWith('customer-')) continue;
      const v = visits.get(e.streamId) ?? { maxTs: Number.NaN, lastExit: 0, lastIn: 0, lastFocus: 0, lastDecision: 0, firstInWindow: e.position };
      visits.set(e.streamId, v);
      if (e.type === 'prediction' || e.type === 'no_prediction') v.lastDecision = e.position;
      else {
        // read as a number, as the SQL reads it as numeric: a value an older version let in never stops a start
        const ts = Number((e.data as { ts?: unknown } | null)?.ts);
        if (Number.isFinite(ts)) v.maxTs = Number.isNaN(v.maxTs) ? ts : Math.max(v.maxTs, ts);
        if (e.type === 'exit') v.lastExit = e.position;
        else v.lastIn = e.position;
        if (e.type === 'focus') v.lastFocus = e.position;
      }
    }
  }
  // a stream with only decisions in the window counts as time 0, as the SQL's Number(null) does
  const times = [...visits.values()].map((v) => (Number.isNaN(v.maxTs) ? 0 : v.maxTs)).sort((a, b) => b - a);
  if (times.length === 0) return [];
  const eventTime = times[Math.min(1, times.length - 1)];
  const out: LoggedEvent[] = [];
  for (const [streamId, v] of visits) {
    if (!((Number.isNaN(v.maxTs) ? 0 : v.maxTs) > eventTime - idleTimeoutS)) continue;
    const open = v.lastIn > 0 && v.lastExit < v.lastIn;
    const undecided = !open && v.lastFocus > 0 && v.lastFocus > v.lastDecision;
    if (!open && !undecided) continue;
    const stream = await log.readStream(streamId);
    // a visit is read from its last exit (an undecided one: the exit before its focus), or from the window's start
    const exit = open ? v.lastExit : Math.max(0, ...stream.filter((e) => e.type === 'exit' && e.position < v.lastFocus).map((e) => e.position));
    const after = Math.max(exit, v.firstInWindow - 1);
    out.push(...stream.filter((e) => e.position > after));
  }
  return out.sort((a, b) => a.position - b.position);
}
