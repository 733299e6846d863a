/**
 * Deterministic replay: a log's inputs through fresh processors — the same modules the live roles
 * register with the pipeline — with no broker and no real time, and the outputs compared with the
 * recorded ones. Settings come from the log's own `recommender_started` / `detector_started` records.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ScoringSettings } from '../../actors/recommender/score-focus.ts';
import { fromFlat } from '../../schemas/events.ts';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { ExportedEvent } from '../../actors/kernel/event-log.ts';

export type { ExportedEvent };
import type { Input, Output } from './processor-contract.ts';
import { causeOf, loggedInputId } from './processor-contract.ts';
import { RecommenderProcessor } from '../recommender/processor.ts';
import { DetectorProcessor } from '../detector/processor.ts';
import { inDecisionOrder } from './decision-order.ts';
import { SourcesSeen, type LoggedSources } from './replay-provenance.ts';
import { customerTableVersion } from '../../actors/data/customer-table.ts';
import { upcastDecision } from '../recommender/decision-record.ts';

export interface RecommenderSettings extends ScoringSettings {
  idleTimeoutS: number;
}
export interface DetectorSettings {
  focusMinMoves: number;
  browsingMinMoves: number;
  browsingRadius?: number;
}

export interface ReplayDeps {
  catalogue: CouponCatalogue;
  customers: Map<number, CustomerInfo>;
  scorer: CouponScorer;
  /** Used until the log says otherwise. */
  settings: RecommenderSettings;
  detector?: DetectorSettings;
  /**
   * False: outputs are neither kept nor compared (a partial export's plan, which reads only the visits' lives), so
   * memory does not grow with the log.
   */
  compare?: boolean;
  /** A session (`session`) or a detector's shopper (`shopper`) ended idle while the input at `position` was replayed. */
  onIdleEnd?(end: IdleEnd): void;
}

/** An idle end as a partial export carries it (`idle_end`, just before the input that moved event time on). */
export interface IdleEnd {
  id: string;
  ts: number;
  of: 'session' | 'shopper';
  position: number;
}

export interface Difference {
  messageId: string;
  kind: 'different' | 'missing' | 'extra';
  recorded?: unknown;
  replayed?: unknown;
}

export interface ReplayReport {
  inputs: number;
  recordedOutputs: number;
  replayedOutputs: number;
  identical: number;
  different: number;
  missing: number;
  extra: number;
  /** Catalogue versions predictions were rendered from that are not the replay's: their published bytes could differ. */
  otherCatalogues: string[];
  /** What the log says its decisions were made with, and what this replay decides with. */
  sources: LoggedSources & { replay: { model?: string; catalogue: string; customerTable: string } };
  firstDifference?: Difference;
  ms: number;
}

const INPUT_TYPES = new Set(['entry', 'exit', 'focus', 'move', 'browsing']);
const OUTPUT_TYPES = new Set(['prediction', 'no_prediction', 'focus', 'browsing']);
const DECISIONS = new Set(['prediction', 'no_prediction']);

export function isOutput(e: ExportedEvent): boolean {
  return e.metadata?.source === 'output';
}

/**
 * Whether two outputs' data are the same JSON, key order aside (jsonb reorders keys). Structural equality answers
 * almost every comparison without serialising; only a pair it calls different (an absent key against an
 * undefined one, NaN against null) is serialised to be sure.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) || canonical(a) === canonical(b);
}

/** JSON with object keys sorted, so jsonb's key order does not count as a difference. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );
}

export class Replayer {
  private recommender: RecommenderProcessor;
  /** Present once the log says a detector ran (`detector_started`). */
  private detector: DetectorProcessor | undefined;
  /** The settings `detector` was made with (from the log's latest `detector_started`). */
  private detectorSettings: unknown;
  /** Whether the detector's focus went to the recommender locally (else it came back as an input). */
  private localFocus = true;
  /** The recommender decides focuses once the log says it ran (`recommender_started`). */
  private recommending = false;
  private settings: RecommenderSettings;
  private pending = 0;
  readonly produced = new Map<string, { type: string; data: unknown }>();
  readonly recorded = new Map<string, { type: string; data: unknown }>();
  /** Catalogue versions the log's predictions were rendered from that differ from the replay's own. */
  private otherCatalogues = new Set<string>();
  private loggedCatalogue: string | undefined;
  private sources = new SourcesSeen();
  /** A partial export's context inputs (visits open at its start), by id: what they cause is not compared. */
  private contextInputs = new Set<string>();
  /** A partial export: idle ends come from its `idle_end` records, not from this replay's clocks. */
  private idleEndsFromLog = false;
  /** The position of the input being replayed (where an idle end happens). */
  private at = 0;
  inputs = 0;
  private readonly compare: boolean;

  constructor(private deps: ReplayDeps) {
    this.settings = deps.settings;
    this.compare = deps.compare !== false;
    const { catalogue, customers, scorer } = deps;
    this.recommender = new RecommenderProcessor({
      catalogue: () => catalogue,
      customer: (id) => customers.get(id) ?? null,
      scorer: () => scorer,
      settings: () => this.settings,
      topic: 'replay',
      format: 'flat',
      onIdleEnd: deps.onIdleEnd && ((id, ts) => deps.onIdleEnd?.({ id, ts, of: 'session', position: this.at })),
    });
  }

  /** Whether the customer has a session or a detector's shopper now (a visit open). */
  live(customerId: string): boolean {
    return this.recommender.sessions.has(customerId) || this.detector?.shoppers.has(customerId) === true;
  }

  /** Feed one record: inputs drive the processors, outputs are kept for comparison. */
  async feed(e: ExportedEvent): Promise<void> {
    if (this.feedSync(e)) await this.settle();
  }

  /** A session still deciding (an asynchronous scorer): let it, before the next input, as live. */
  async settle(): Promise<void> {
    for (let i = 0; this.pending > 0 && i < 10_000; i++) await (i < 50 ? null : new Promise((r) => setImmediate(r)));
  }

  /** Feed one record without waiting; true when a session is deciding and settle() is due. */
  feedSync(e: ExportedEvent): boolean {
    if (isOutput(e)) {
      if (e.context) return false; // a partial export's context: replayed, not compared
      if (OUTPUT_TYPES.has(e.type) && e.message_id && this.compare)
        this.recorded.set(e.message_id, { type: e.type, data: DECISIONS.has(e.type) ? upcastDecision(e.data) : e.data });
      if (e.type === 'prediction' || e.type === 'no_prediction') {
        this.sources.decided();
        if (e.type === 'prediction' && this.loggedCatalogue !== undefined && this.loggedCatalogue !== this.deps.catalogue.version)
          this.otherCatalogues.add(this.loggedCatalogue);
      }
      return false;
    }
    if (!INPUT_TYPES.has(e.type)) {
      this.control(e);
      return false;
    }
    const event = fromFlat(e.type, e.data);
    if (!event) return false;
    this.at = e.position;
    // what a processor reads of the entry (fromExported would also parse recorded_at, which none of them reads)
    const input: Input = { logged: { position: e.position, version: e.version, messageId: e.message_id ?? undefined }, event };
    if (!e.context) this.inputs++;
    else if (this.compare) this.contextInputs.add(loggedInputId(input.logged));
    // as live: the detector first (its focus goes on to the sessions), then the sessions
    if (this.detector?.consumes.includes(event.kind as never)) {
      for (const o of this.detector.handle(input)) {
        this.keep([o]);
        if (o.event?.kind === 'focus' && this.localFocus) this.recommend({ logged: { ...input.logged, messageId: o.messageId }, event: o.event });
      }
    }
    if (this.recommender.consumes.includes(event.kind as never)) this.recommend(input);
    return this.pending > 0;
  }

  /** A record that is neither an input nor an output: a start, a reload, a partial export's idle end or header. */
  private control(e: ExportedEvent) {
    // the catalogue the decisions from here on rendered their coupons from (a log recorded before versions: unknown);
    // a partial export's context start only sets the recommender going for the visits open at its start
    if ((e.type === 'recommender_started' || e.type === 'catalogue_loaded') && !e.context) {
      if (typeof e.data?.catalogue === 'string') this.loggedCatalogue = e.data.catalogue;
      this.sources.note(e);
    }
    if (e.type === 'recommender_started') {
      // a restart: settings may have changed, and live sessions were rebuilt from the log
      this.settings = { ...this.settings, ...e.data.settings };
      this.recommending = true;
    } else if (e.type === 'detector_started') {
      this.localFocus = e.data.handOff !== 'broker';
      // a run that recovers walks at start goes on with them, so the replay's detector does (unless its settings
      // changed: the run rebuilt the open visits with the new ones, which a streamed replay no longer holds);
      // before that, a dwell in progress started again
      const s = { ...this.deps.detector, ...e.data.settings };
      if (this.detector && e.data.recoversWalks === true && sameJson(s, this.detectorSettings)) return;
      this.detectorSettings = s;
      this.detector?.stop();
      // a log recorded before BROWSING_RADIUS existed has no radius: browsing was any 6 moves outside, so 0
      this.detector = new DetectorProcessor({
        settings: {
          focusMinMoves: s.focusMinMoves ?? 3,
          browsingMinMoves: s.browsingMinMoves ?? 6,
          browsingRadius: s.browsingRadius ?? 0,
          idleTimeoutS: this.settings.idleTimeoutS,
        },
        topics: { focus: 'replay', browsing: 'replay' },
        onIdleEnd: this.deps.onIdleEnd && ((id, ts) => this.deps.onIdleEnd?.({ id, ts, of: 'shopper', position: this.at })),
      });
      if (this.idleEndsFromLog) this.detector.host.idleEndsFromLog();
    } else if (e.type === 'partial_export') {
      this.idleEndsFromLog = true;
      this.recommender.host.idleEndsFromLog();
      this.detector?.host.idleEndsFromLog();
    } else if (e.type === 'idle_end') {
      const d = e.data as Omit<IdleEnd, 'position'>;
      (d.of === 'shopper' ? this.detector?.host : this.recommender.host)?.idleEnd(String(d.id), d.ts);
    }
  }

  private recommend(input: Input) {
    if (!this.recommending) return;
    const result = this.recommender.handle(input);
    if (Array.isArray(result)) return this.keep(result);
    this.pending++;
    void result.then((outs) => {
      this.pending--;
      this.keep(outs);
    });
  }

  private keep(outputs: Output[]) {
    if (!this.compare) return;
    for (const o of outputs) this.produced.set(o.messageId, { type: o.type, data: o.data });
  }

  report(started: number): ReplayReport {
    let identical = 0,
      different = 0,
      missing = 0,
      extra = 0;
    let first: Difference | undefined;
    const note = (d: Difference) => {
      first ??= d;
    };
    for (const [id, rec] of this.recorded) {
      const got = this.produced.get(id);
      if (!got) {
        missing++;
        note({ messageId: id, kind: 'missing', recorded: rec });
        continue;
      }
      if (got.type === rec.type && sameJson(got.data, rec.data)) identical++;
      else {
        different++;
        note({ messageId: id, kind: 'different', recorded: rec, replayed: got });
      }
    }
    let context = 0;
    for (const [id, got] of this.produced) {
      if (this.recorded.has(id)) continue;
      if (this.fromContext(id)) context++;
      else {
        extra++;
        note({ messageId: id, kind: 'extra', replayed: got });
      }
    }
    return {
      inputs: this.inputs,
      recordedOutputs: this.recorded.size,
      replayedOutputs: this.produced.size - context,
      identical,
      different,
      missing,
      extra,
      otherCatalogues: [...this.otherCatalogues],
      sources: {
        ...this.sources.report(),
        replay: { model: this.deps.scorer.version, catalogue: this.deps.catalogue.version, customerTable: customerTableVersion(this.deps.customers.values()) },
      },
      firstDifference: first,
      ms: Date.now() - started,
    };
  }

  /** An output a partial export's context input caused (an output id is its cause's id, `:` and what it is). */
  private fromContext(outputId: string): boolean {
    const cause = causeOf(outputId);
    return cause !== undefined && this.contextInputs.has(cause);
  }

  stop() {
    this.recommender.stop();
    this.detector?.stop();
  }
}

/** `npm run replay`'s path: the log in the order its decisions were made (decision-order.ts), through a Replayer. */
export async function replay(records: Iterable<ExportedEvent> | AsyncIterable<ExportedEvent>, deps: ReplayDeps): Promise<ReplayReport> {
  const started = Date.now();
  const r = new Replayer(deps);
  for await (const e of inDecisionOrder(records)) await r.feed(e);
  const report = r.report(started);
  r.stop();
  return report;
}
