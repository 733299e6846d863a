/**
 * Deterministic replay: a log's inputs through fresh machines, no broker, no real time, and the
 * outputs compared with the recorded ones. The recommender's sessions are hosted exactly as live
 * (actors/session-host.ts); settings come from the log's own `recommender_started` records.
 */
import { sessionMachine, type ScoreResult, type FocusInput, type SessionEmitted } from '../machines/session.ts';
import { SessionHost, scoreFocus, fromValueOrPromise, type ScoringSettings } from '../actors/session-host.ts';
import { DetectorHost, detectedEvent } from '../actors/detector-host.ts';
import { toFlat, fromFlat } from '../schemas/events.ts';
import type { CouponCatalogue } from '../actors/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../actors/store-data.ts';
import { renderPrediction, noPredictionData } from './recommender.ts';
import { outputId } from './pipeline.ts';

/** One log record as `npm run export` writes it (one JSON object per NDJSON line). */
export interface ExportedEvent {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  data: any;
  metadata: Record<string, any>;
  message_id: string | null;
  recorded_at: string;
}

export interface RecommenderSettings extends ScoringSettings { idleTimeoutS: number }
export interface DetectorSettings { focusMinMoves: number; browsingMinMoves: number }

export interface ReplayDeps {
  catalogue: CouponCatalogue;
  customers: Map<number, CustomerInfo>;
  scorer: CouponScorer;
  /** Used until the log says otherwise. */
  settings: RecommenderSettings;
  detector?: DetectorSettings;
}

export interface Difference { messageId: string; kind: 'different' | 'missing' | 'extra'; recorded?: unknown; replayed?: unknown }

export interface ReplayReport {
  inputs: number;
  recordedOutputs: number;
  replayedOutputs: number;
  identical: number;
  different: number;
  missing: number;
  extra: number;
  firstDifference?: Difference;
  ms: number;
}

const INPUT_TYPES = new Set(['entry', 'exit', 'focus', 'move', 'browsing']);
const OUTPUT_TYPES = new Set(['prediction', 'no_prediction', 'focus', 'browsing']);

export function isOutput(e: ExportedEvent): boolean {
  return e.metadata?.source === 'output';
}

/** JSON with object keys sorted, so jsonb's key order does not count as a difference. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));
}

export class Replayer {
  private host: SessionHost;
  /** Present once the log says a detector ran (`detector_started`). */
  private detector: DetectorHost | undefined;
  /** The recommender decides focuses once the log says it ran (`recommender_started`). */
  private recommending = false;
  private settings: RecommenderSettings;
  private pending = 0;
  readonly produced = new Map<string, { type: string; data: unknown }>();
  readonly recorded = new Map<string, { type: string; data: unknown }>();
  inputs = 0;

  constructor(private deps: ReplayDeps) {
    this.settings = deps.settings;
    this.host = this.makeHost();
  }

  private makeDetector(s: Partial<DetectorSettings>): DetectorHost {
    return new DetectorHost({ focusMinMoves: s.focusMinMoves ?? 3, browsingMinMoves: s.browsingMinMoves ?? 6, idleTimeoutS: this.settings.idleTimeoutS });
  }

  private makeHost(): SessionHost {
    const { catalogue, customers, scorer } = this.deps;
    const machine = sessionMachine.provide({
      actors: {
        // synchronous where the data allows (customers in memory, the in-process model): a session then
        // decides within host.input(), with no promise to settle; a session's decisions do not depend on
        // whether a focus waited for its context, so the outputs are those of the live, asynchronous run
        loadCustomer: fromValueOrPromise<CustomerInfo | null, { customerId: string }>(({ input }) => customers.get(Number(input.customerId)) ?? null),
        scoreCoupons: fromValueOrPromise<ScoreResult, { customer: CustomerInfo; focus: FocusInput; offered: number[] }>(({ input }) => {
          const failed = (): ScoreResult => ({ reason: 'scorer_failed' });
          try {
            const result = scoreFocus(catalogue, scorer, this.settings, input);
            return result instanceof Promise ? result.catch(failed) : result;
          } catch {
            return failed();
          }
        }),
      },
    });
    return new SessionHost({ machine, idleTimeoutS: this.settings.idleTimeoutS, onEmitted: (e) => this.onEmitted(e) });
  }

  private onEmitted(e: SessionEmitted) {
    if (e.type !== 'decision') return;
    this.pending--;
    const inputId = e.focus.inputId;
    if ('couponId' in e.result) {
      const entry = this.deps.catalogue.get(e.result.couponId)!;
      this.produced.set(outputId(inputId, 'prediction'), { type: 'prediction', data: renderPrediction(e.customerId, entry, e.result.score, e.focus.ts, 'flat').data });
    } else {
      this.produced.set(outputId(inputId, 'no_prediction'), { type: 'no_prediction', data: noPredictionData(e.customerId, e.focus, e.result.reason) });
    }
  }

  /** Feed one record: inputs drive the machines, outputs are kept for comparison. */
  async feed(e: ExportedEvent): Promise<void> {
    if (this.feedSync(e)) await this.settle();
  }

  /** A session still deciding (an asynchronous scorer): let it, before the next input, as live. */
  async settle(): Promise<void> {
    for (let i = 0; this.pending > 0 && i < 10_000; i++) await (i < 50 ? null : new Promise((r) => setImmediate(r)));
  }

  /** Feed one record without waiting; true when a session is deciding and settle() is due. */
  feedSync(e: ExportedEvent): boolean {
    if (e.type === 'recommender_started') {
      // a restart: settings may have changed, and live sessions were rebuilt from the log
      this.settings = { ...this.settings, ...e.data.settings };
      this.recommending = true;
      return false;
    }
    if (e.type === 'detector_started') {
      // detectors are not rebuilt on restart (a dwell in progress starts again), so neither are they here
      this.detector?.shoppers.stopAll();
      this.detector = this.makeDetector({ ...this.deps.detector, ...e.data.settings });
      return false;
    }
    if (isOutput(e)) {
      if (OUTPUT_TYPES.has(e.type) && e.message_id) this.recorded.set(e.message_id, { type: e.type, data: e.data });
      return false;
    }
    if (!INPUT_TYPES.has(e.type)) return false;
    const event = fromFlat(e.type, e.data);
    if (!event) return false;
    this.inputs++;
    const inputId = e.message_id ?? `position-${e.position}`;
    // as live: the detector first (its focus goes on to the sessions), then the sessions
    for (const d of this.detector?.input(event, inputId) ?? []) {
      const detected = detectedEvent(d);
      const id = outputId(d.inputId, d.type);
      this.produced.set(id, { type: d.type, data: toFlat(detected) });
      if (detected.kind === 'focus' && this.recommending) { this.pending++; this.host.input(detected, id); }
    }
    if (this.recommending) {
      if (event.kind === 'focus') this.pending++;
      this.host.input(event, inputId);
    }
    return this.pending > 0;
  }

  report(started: number): ReplayReport {
    let identical = 0, different = 0, missing = 0, extra = 0;
    let first: Difference | undefined;
    const note = (d: Difference) => { first ??= d; };
    for (const [id, rec] of this.recorded) {
      const got = this.produced.get(id);
      if (!got) { missing++; note({ messageId: id, kind: 'missing', recorded: rec }); continue; }
      if (canonical(got.data) === canonical(rec.data) && got.type === rec.type) identical++;
      else { different++; note({ messageId: id, kind: 'different', recorded: rec, replayed: got }); }
    }
    for (const [id, got] of this.produced) if (!this.recorded.has(id)) { extra++; note({ messageId: id, kind: 'extra', replayed: got }); }
    return { inputs: this.inputs, recordedOutputs: this.recorded.size, replayedOutputs: this.produced.size, identical, different, missing, extra, firstDifference: first, ms: Date.now() - started };
  }

  stop() {
    this.host.sessions.stopAll();
    this.detector?.shoppers.stopAll();
  }
}

export async function replay(records: Iterable<ExportedEvent> | AsyncIterable<ExportedEvent>, deps: ReplayDeps): Promise<ReplayReport> {
  const started = Date.now();
  const r = new Replayer(deps);
  for await (const e of records) await r.feed(e);
  const report = r.report(started);
  r.stop();
  return report;
}
