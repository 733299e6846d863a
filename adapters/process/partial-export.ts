/**
 * A partial export — one customer's stream, or the positions from `from` to `to` — that replays as the whole log does.
 * Besides the records selected it carries what their replay needs and the selection lacks (docs/replay-provenance.md):
 * - a `partial_export` header, which tells replay to end visits idle only where the export says so;
 * - the `recommender_started`, `detector_started` and `catalogue_loaded` records in force at `from` (settings, model,
 *   catalogue, customer table), and for one customer the `process` stream's records within the range;
 * - the `recommender_started` and `detector_started` records from those in force when the earliest visit open at `from`
 *   began, marked `context`: a visit that began before a restart had its early inputs handled by the processors then
 *   running (settings, and whether the recommender ran at all);
 * - the state of every visit open at `from`: its inputs and outputs from the visit's first input on, marked `context`
 *   (replayed, not compared);
 * - the outputs of its inputs logged after `to` (within OUTPUTS_AFTER positions), as a decision is logged after its
 *   input and others' inputs may come between;
 * - the idle ends that closed the selected customers' visits (`idle_end`, just before the input that moved event time
 *   on). An idle end is decided by event time, which every customer's inputs move on, so a log of one customer or of
 *   a range cannot tell them: the export finds them by replaying the log up to `to` without a store (the visits'
 *   lives do not depend on what was offered) — the same clocks, in the same order, as a replay of the whole log.
 */
import type { ExportedEvent } from '../../actors/kernel/event-log.ts';
import { EVENT_VERSIONS } from '../../actors/kernel/upcasters.ts';
import { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import { inDecisionOrder } from '../engine/decision-order.ts';
import { Replayer, type IdleEnd, type RecommenderSettings } from '../engine/replay.ts';
import { cameIn, isInputType } from '../engine/inputs.ts';
import { causeOf } from './processor-contract.ts';

export interface Selection {
  from: number;
  to: number;
  /** One customer's stream (`customer-<id>`). */
  customer?: string;
}

/** Reads the log's records from `from` to `to` (positions, inclusive), in pages, in position order. */
export type ReadLog = (from: number, to: number) => AsyncIterable<ExportedEvent[]>;

/** How far past `to` the outputs of the selection's inputs are looked for. */
const OUTPUTS_AFTER = 10_000;
const IN_FORCE = new Set(['recommender_started', 'detector_started', 'catalogue_loaded']);
const STARTS = new Set(['recommender_started', 'detector_started']);

interface Plan {
  /** The process records in force at `from`, by position. */
  inForce: Set<number>;
  /** The customers with a visit open at `from`, and the position of the visit's first input. */
  openVisits: Map<string, number>;
  /** The selection's idle ends, by position. */
  idleEnds: IdleEnd[];
  /** The first start (`recommender_started`, `detector_started`) a visit open at `from` needs: its early inputs met those processors. */
  contextStarts: number;
}

/** Whether a record is one of the selection's own inputs (not context, not an output): what its replay compares by. */
export function isSelectedInput(e: ExportedEvent): boolean {
  return isInputType(e.type) && cameIn(e) && !e.context;
}

/** Whether an export of `s` needs more than its records to replay: not the whole log. */
export function isPartial(s: Selection): boolean {
  return s.from > 1 || s.to < Number.MAX_SAFE_INTEGER || s.customer !== undefined;
}

/** The records of a partial export, in the order `npm run replay` reads them. */
export async function* partialExport(read: ReadLog, s: Selection, settings: RecommenderSettings): AsyncIterable<ExportedEvent> {
  const plan = await planOf(read, s, settings);
  yield {
    position: 0,
    stream_id: 'export',
    version: 0,
    type: 'partial_export',
    schema_version: EVENT_VERSIONS.partial_export,
    data: { from: s.from, to: s.to, ...(s.customer !== undefined ? { customer: s.customer } : {}) },
    metadata: { source: 'export' },
    message_id: null,
    recorded_at: new Date().toISOString(),
  };
  const start = Math.min(s.from, plan.contextStarts, ...plan.inForce, ...plan.openVisits.values());
  const stream = s.customer !== undefined ? `customer-${s.customer}` : undefined;
  const selected = (e: ExportedEvent) => stream === undefined || e.stream_id === stream || e.stream_id === 'process';
  /** The selection's inputs near its end, by id: their outputs logged after `to` go along (none further back can have one). */
  const inputs = new Set<string>();
  const late = s.to - OUTPUTS_AFTER;
  let next = 0;
  for await (const page of read(start, s.to))
    for (const e of page) {
      if (e.position < s.from) {
        if (plan.inForce.has(e.position)) yield e;
        else if (STARTS.has(e.type) && e.position >= plan.contextStarts) yield { ...e, context: true };
        else {
          const opened = plan.openVisits.get(e.stream_id);
          if (opened !== undefined && e.position >= opened) yield { ...e, context: true };
        }
        continue;
      }
      for (; next < plan.idleEnds.length && plan.idleEnds[next].position <= e.position; next++) yield idleEndRecord(plan.idleEnds[next]);
      if (!selected(e)) continue;
      if (e.position > late && e.message_id && isSelectedInput(e)) inputs.add(e.message_id);
      yield e;
    }
  for (; next < plan.idleEnds.length; next++) yield idleEndRecord(plan.idleEnds[next]);
  if (s.to >= Number.MAX_SAFE_INTEGER - OUTPUTS_AFTER) return;
  for await (const page of read(s.to + 1, s.to + OUTPUTS_AFTER))
    for (const e of page) {
      const cause = e.metadata?.source === 'output' && e.message_id ? causeOf(e.message_id) : undefined;
      if (cause !== undefined && inputs.has(cause)) yield e;
    }
}

function idleEndRecord(end: IdleEnd): ExportedEvent {
  return {
    // just before the input whose event time ended the visit
    position: end.position - 0.5,
    stream_id: `customer-${end.id}`,
    version: 0,
    type: 'idle_end',
    schema_version: EVENT_VERSIONS.idle_end,
    data: { id: end.id, ts: end.ts, of: end.of },
    metadata: { source: 'export' },
    message_id: null,
    recorded_at: new Date(0).toISOString(),
  };
}

/**
 * The log from its start to `to` through a replayer without a store: the records in force, the visits open at `from`,
 * the idle ends. It keeps no outputs (`compare: false`): what it holds grows with the customers and the selection's
 * idle ends, not with the log.
 */
async function planOf(read: ReadLog, s: Selection, settings: RecommenderSettings): Promise<Plan> {
  const idleEnds: IdleEnd[] = [];
  const selected = (id: string) => s.customer === undefined || id === s.customer;
  const replayer = new Replayer({
    catalogue: new CouponCatalogue([], [], []),
    customers: new Map(),
    scorer: { synchronous: true, score: (_c, coupons) => coupons.map(() => 0) },
    settings,
    compare: false,
    onIdleEnd: (end) => {
      if (end.position >= s.from && end.position <= s.to && selected(end.id)) idleEnds.push(end);
    },
  });
  const last = new Map<string, number>();
  /** Each customer's first input since they last had no session and no shopper, by stream. */
  const visitStart = new Map<string, number>();
  /** The earliest of the starts in force when each visit began, by stream. */
  const startedBy = new Map<string, number>();
  let openVisits: Map<string, number> | undefined;
  async function* all() {
    for await (const page of read(1, s.to)) yield* page;
  }
  try {
    for await (const e of inDecisionOrder(all())) {
      if (e.position < s.from && IN_FORCE.has(e.type)) {
        // a start names everything anew; a reload the catalogue and customers
        if (e.type === 'recommender_started') last.delete('catalogue_loaded');
        last.set(e.type, e.position);
      }
      if (e.position >= s.from && openVisits === undefined) openVisits = open(replayer, visitStart, selected);
      if (isInputType(e.type) && cameIn(e)) {
        const id = String(e.data?.id);
        if (!replayer.live(id) && e.position < s.from) {
          visitStart.set(`customer-${id}`, e.position);
          startedBy.set(
            `customer-${id}`,
            Math.min(last.get('recommender_started') ?? Number.POSITIVE_INFINITY, last.get('detector_started') ?? Number.POSITIVE_INFINITY),
          );
        }
      }
      if (replayer.feedSync(e)) await replayer.settle();
    }
  } finally {
    replayer.stop();
  }
  const atFrom = openVisits ?? new Map<string, number>();
  let contextStarts = Number.POSITIVE_INFINITY;
  for (const stream of atFrom.keys()) contextStarts = Math.min(contextStarts, startedBy.get(stream) ?? Number.POSITIVE_INFINITY);
  return { inForce: new Set(last.values()), openVisits: atFrom, idleEnds: idleEnds.sort((a, b) => a.position - b.position), contextStarts };
}

/** The selected customers whose visit is open now (a session or a shopper), by stream, and where it began. */
function open(replayer: Replayer, visitStart: Map<string, number>, selected: (id: string) => boolean): Map<string, number> {
  const open = new Map<string, number>();
  for (const [stream, position] of visitStart) {
    const id = stream.slice('customer-'.length);
    if (selected(id) && replayer.live(id)) open.set(stream, position);
  }
  return open;
}
