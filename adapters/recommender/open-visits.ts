/**
 * The recovery query of both roles: the visits with work left at the log's end, each from where its actor starts — the
 * customers still in the store, and visits already closed that hold a focus never decided (a crash between the focus
 * and its decision: from the exit before that focus). A visit is open when its customer entered or focused (with
 * `moves`, the detector's view, moved) after their last exit, and their last event is within `idleTimeoutS` of the
 * log's time: the latest event time two customers have reached (one clock far ahead moves nobody). No window of
 * recorded time: a visit of any length is read from its start, or from its newest snapshot of the machine version in
 * force (adapters/engine/restore.ts), and a visit idle by the log's own time is closed however recent its recording.
 * Where visits start comes from the log's stream heads (PostgreSQL: sql/007_snapshots.sql), or from reading the port.
 */
import type { EventLog, LoggedEvent, OpenVisitsOptions, VisitRead, VisitStart } from '../../actors/kernel/event-log.ts';
import type { StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import type { MachineVersion } from '../engine/machine-version.ts';
import { restorePoint } from '../engine/restore.ts';
import { SESSION_INPUTS, WALK_INPUTS } from '../engine/inputs.ts';

/** An open visit as recovery reads it: the snapshot its actor starts from (if any), and its stream's events after that. */
export type OpenVisit = VisitRead;

/** Visits read per statement, and statements in flight: the database reads the next pages while the caller restores one. */
const PAGE = 2000;
const AHEAD = 2;

/**
 * The open visits, each with its restore point when `machine` names the machine whose snapshots to start from.
 * `via: 'port'` reads through the port even where the log has faster queries (the contract test compares both).
 */
export async function openVisits(
  log: EventLog,
  idleTimeoutS: number,
  o: OpenVisitsOptions & { machine?: MachineVersion } = {},
  via: 'own' | 'port' = 'own',
): Promise<OpenVisit[]> {
  const visits: OpenVisit[] = [];
  for await (const page of openVisitPages(log, idleTimeoutS, o, via)) for (const v of page) visits.push(v);
  return visits;
}

/**
 * The open visits in pages (in stream order), each page one read of the snapshots and the events after them, the next
 * pages already being read while the caller takes one: a start restores sessions while the database reads.
 */
export async function* openVisitPages(
  log: EventLog,
  idleTimeoutS: number,
  o: OpenVisitsOptions & { machine?: MachineVersion } = {},
  via: 'own' | 'port' = 'own',
): AsyncGenerator<OpenVisit[]> {
  const q = via === 'own' ? log.queries : undefined;
  const starts = await (q?.openVisitStarts?.(idleTimeoutS, { moves: o.moves }) ?? openVisitStartsOverPort(log, idleTimeoutS, { moves: o.moves }));
  // each visit with its last activity, from its start
  const read = (page: VisitStart[]) =>
    (q?.visitsFrom?.(page, o.machine) ?? visitsFromOverPort(log, page, o.machine)).then((visits) =>
      visits.map((v, i) => (page[i].ts === undefined ? v : { ...v, ts: page[i].ts })),
    );
  const reading: Promise<OpenVisit[]>[] = [];
  let next = 0;
  const readNext = () => {
    if (next >= starts.length) return;
    const page = read(starts.slice(next, next + PAGE));
    page.catch(() => undefined); // awaited in turn below; one the caller stops before is not left unhandled
    reading.push(page);
    next += PAGE;
  };
  while (reading.length < AHEAD && next < starts.length) readNext();
  while (reading.length > 0) {
    const page = await (reading.shift() as Promise<OpenVisit[]>);
    readNext();
    yield page;
  }
}

/** Each visit's restore point and its stream's events after it, read through the port (the snapshot store's and readStream). */
export async function visitsFromOverPort(log: EventLog, starts: readonly VisitStart[], machine?: MachineVersion): Promise<OpenVisit[]> {
  const kept =
    machine && log.snapshots
      ? await log.snapshots.read(
          machine.machine,
          starts.map((s) => s.streamId),
        )
      : [];
  const byStream = new Map<string, StateSnapshot[]>();
  for (const s of kept) byStream.set(s.streamId, [...(byStream.get(s.streamId) ?? []), s]);
  const visits: OpenVisit[] = [];
  for (const s of starts) {
    const { after, ...point } = machine ? restorePoint(byStream.get(s.streamId) ?? [], machine, s.after) : { after: s.after };
    visits.push({ streamId: s.streamId, ...point, events: await log.readStream(s.streamId, after) });
  }
  return visits;
}

/** Every open visit's events, in log order (what recovery runs again). */
export function eventsOf(visits: readonly OpenVisit[]): LoggedEvent[] {
  return visits.flatMap((v) => v.events).sort((a, b) => a.position - b.position);
}

/** Where a customer stream stands: its latest event times and the versions of its latest entry, focus, move, exit, decision (0: none). */
export interface StreamHead {
  streamId: string;
  lastEntry: number;
  lastFocus: number;
  lastMove: number;
  lastExit: number;
  lastDecision: number;
  /** The latest event time of its inputs. */
  ts?: number;
}

/**
 * Among the heads of streams active within the idle timeout of the log's time: the open visits (from their last
 * exit), and the closed ones holding a focus never decided (their start is the exit before that focus: the caller's).
 */
export function visitsOf<H extends StreamHead>(heads: readonly H[], o: OpenVisitsOptions = {}): { open: VisitStart[]; undecided: H[] } {
  const open: VisitStart[] = [];
  const undecided: H[] = [];
  for (const h of heads) {
    const lastIn = Math.max(h.lastEntry, h.lastFocus, o.moves ? h.lastMove : 0);
    if (lastIn > h.lastExit) open.push({ streamId: h.streamId, after: h.lastExit, ...(h.ts === undefined ? {} : { ts: h.ts }) });
    else if (h.lastFocus > 0 && h.lastFocus > h.lastDecision) undecided.push(h);
  }
  open.sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
  return { open, undecided };
}

/** The visits' starts read through the port: one pass over the customers' inputs and decisions, the heads kept here. */
export async function openVisitStartsOverPort(log: EventLog, idleTimeoutS: number, o: OpenVisitsOptions = {}): Promise<VisitStart[]> {
  const timed: ReadonlySet<string> = new Set<string>([...SESSION_INPUTS, ...(o.moves ? WALK_INPUTS : [])]);
  const types = [...new Set<string>([...SESSION_INPUTS, ...WALK_INPUTS]), 'prediction', 'no_prediction'];
  const heads = new Map<string, StreamHead & { ts: number; exits: number[] }>();
  for await (const page of log.pages({ types })) {
    for (const e of page) {
      if (!e.streamId.startsWith('customer-')) continue;
      let h = heads.get(e.streamId);
      if (!h) {
        h = { streamId: e.streamId, lastEntry: 0, lastFocus: 0, lastMove: 0, lastExit: 0, lastDecision: 0, ts: Number.NaN, exits: [] };
        heads.set(e.streamId, h);
      }
      // read as a number only when it is one, as the database reads it: a value an older version let in never stops a start
      const ts = (e.data as { ts?: unknown } | null)?.ts;
      if (timed.has(e.type) && typeof ts === 'number' && Number.isFinite(ts)) h.ts = Number.isNaN(h.ts) ? ts : Math.max(h.ts, ts);
      if (e.type === 'entry') h.lastEntry = e.version;
      else if (e.type === 'focus') h.lastFocus = e.version;
      else if (e.type === 'move') h.lastMove = e.version;
      else if (e.type === 'exit') {
        h.lastExit = e.version;
        h.exits.push(e.version);
      } else h.lastDecision = e.version;
    }
  }
  const timedHeads = [...heads.values()].filter((h) => !Number.isNaN(h.ts));
  const times = timedHeads.map((h) => h.ts).sort((a, b) => b - a);
  if (times.length === 0) return [];
  const logTime = times[Math.min(1, times.length - 1)];
  const active = timedHeads.filter((h) => h.ts > logTime - idleTimeoutS);
  const { open, undecided } = visitsOf(active, o);
  const starts = [...open, ...undecided.map((h) => ({ streamId: h.streamId, after: Math.max(0, ...h.exits.filter((v) => v < h.lastFocus)) }))];
  return starts.sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
}
