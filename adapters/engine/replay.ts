/**
 * Deterministic replay: the engine over a log's records, with no transport and no real time. The records are streamed
 * one by one (never loaded whole): a control record builds the processors the log says ran (`recommender_started`,
 * `detector_started`: their settings and the detector's hand-off), an input is run by the engine, whose outputs go to
 * a comparing log that matches them with the recorded ones as they come.
 */
import pino from 'pino';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import { currentRecord, type ExportedEvent } from '../../actors/kernel/event-log.ts';
import type { Logger } from '../process/logger.ts';
import type { Output } from '../process/processor-contract.ts';
import { RecommenderProcessor, type RecommenderSettings } from '../recommender/processor.ts';
import { DetectorProcessor, type DetectorSettings as DetectorProcessorSettings } from '../detector/processor.ts';
import { inDecisionOrder } from './decision-order.ts';
import { SourcesSeen, type LoggedSources } from '../process/replay-provenance.ts';
import { customerTableVersion } from '../../actors/data/customer-table.ts';
import { Engine } from './engine.ts';
import { cameIn, inputOf } from './inputs.ts';
import { ComparingLog, type Comparison } from './comparing-log.ts';

export type { ExportedEvent, RecommenderSettings };
export { canonical, sameJson, type Difference } from './comparing-log.ts';
import { sameJson } from './comparing-log.ts';
/** A detector's settings as the log records them (its idle timeout is the recommender's). */
export type DetectorSettings = Omit<DetectorProcessorSettings, 'idleTimeoutS'>;

export interface ReplayDeps {
  catalogue: CouponCatalogue;
  customers: Map<number, CustomerInfo>;
  scorer: CouponScorer;
  /** Used until the log says otherwise. */
  settings: RecommenderSettings;
  detector?: Partial<DetectorSettings>;
  /**
   * False: outputs are neither kept nor compared (a partial export's plan, which reads only the visits' lives), so
   * memory does not grow with the log.
   */
  compare?: boolean;
  /** Every output the processors produce, in order (the quality bench reads the detector's focuses and the decisions). */
  onOutput?(o: Output): void;
  /** A session (`session`) or a detector's shopper (`shopper`) ended idle while the input at `position` was replayed. */
  onIdleEnd?(end: IdleEnd): void;
  /** Where a processor's failure is told (default: standard error). */
  log?: Logger;
}

/** An idle end as a partial export carries it (`idle_end`, just before the input that moved event time on). */
export interface IdleEnd {
  id: string;
  ts: number;
  of: 'session' | 'shopper';
  position: number;
}

export interface ReplayReport extends Comparison {
  inputs: number;
  /** Catalogue versions predictions were rendered from that are not the replay's: their published bytes could differ. */
  otherCatalogues: string[];
  /** What the log says its decisions were made with, and what this replay decides with. */
  sources: LoggedSources & { replay: { model?: string; catalogue: string; customerTable: string } };
  ms: number;
}

const OUTPUT_TYPES = new Set(['prediction', 'no_prediction', 'focus', 'browsing']);
const DECISIONS = new Set(['prediction', 'no_prediction']);
let stderrLog: Logger | undefined;
/** A processor's failure in a replay goes to standard error (the report goes to standard output). */
function stderr(): Logger {
  stderrLog ??= pino({ level: 'error' }, pino.destination({ fd: 2, sync: true }));
  return stderrLog;
}

export function isOutput(e: ExportedEvent): boolean {
  return !cameIn(e);
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
  /** The engine, as the processes the log says ran made it up (a start changes it). */
  private engine: Engine;
  /** The outputs: produced and recorded, compared as they come. */
  readonly outputs: ComparingLog;
  /** A turn still deciding (an asynchronous scorer), to settle before the next input, as live. */
  private deciding: Promise<unknown> | undefined;
  /** Catalogue versions the log's predictions were rendered from that differ from the replay's own. */
  private otherCatalogues = new Set<string>();
  private loggedCatalogue: string | undefined;
  private sources = new SourcesSeen();
  /** A partial export: idle ends come from its `idle_end` records, not from this replay's clocks. */
  private idleEndsFromLog = false;
  /** The position of the input being replayed (where an idle end happens). */
  private at = 0;
  inputs = 0;
  private readonly log: Logger;

  constructor(private deps: ReplayDeps) {
    this.settings = deps.settings;
    this.outputs = new ComparingLog(deps.compare !== false, deps.onOutput);
    this.log = deps.log ?? stderr();
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
    this.engine = this.assemble();
  }

  /** The engine of the processors running now, the detector first (its focus goes on to the sessions), as live. */
  private assemble(): Engine {
    const engine = new Engine({ outputs: this.outputs, handOffLocally: this.localFocus, log: this.log });
    if (this.detector) engine.register({ processor: this.detector, name: 'detector' });
    if (this.recommending) engine.register({ processor: this.recommender, name: 'recommender' });
    return engine;
  }

  /** Whether the customer has a session or a detector's shopper now (a visit open). */
  live(customerId: string): boolean {
    return this.recommender.sessions.has(customerId) || this.detector?.shoppers.has(customerId) === true;
  }

  /** Feed one record: inputs are run by the engine, recorded outputs go to the comparison. */
  async feed(e: ExportedEvent): Promise<void> {
    if (this.feedSync(e)) await this.settle();
  }

  /** A turn still deciding (an asynchronous scorer): let it, before the next input, as live. */
  async settle(): Promise<void> {
    const deciding = this.deciding;
    this.deciding = undefined;
    await deciding;
  }

  /** Feed one record (of any schema version: read in the current shape) without waiting; true when a turn is deciding and settle() is due. */
  feedSync(record: ExportedEvent): boolean {
    const e = currentRecord(record);
    if (isOutput(e)) {
      if (e.context) return false; // a partial export's context: replayed, not compared
      if (OUTPUT_TYPES.has(e.type) && e.message_id) this.outputs.record(e.message_id, { type: e.type, data: e.data });
      if (DECISIONS.has(e.type)) {
        this.sources.decided();
        if (e.type === 'prediction' && this.loggedCatalogue !== undefined && this.loggedCatalogue !== this.deps.catalogue.version)
          this.otherCatalogues.add(this.loggedCatalogue);
      }
      return false;
    }
    // what a processor reads of the entry (fromExported would also parse recorded_at, which none of them reads)
    const input = inputOf(e, { position: e.position, version: e.version, messageId: e.message_id ?? undefined });
    if (!input) {
      this.control(e);
      return false;
    }
    this.at = e.position;
    if (!e.context) this.inputs++;
    else this.outputs.context(input);
    const turn = Engine.settled(this.engine.run(input));
    if (!(turn instanceof Promise)) return false;
    this.deciding = turn;
    return true;
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
      this.engine = this.assemble();
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
      this.engine = this.assemble();
    } else if (e.type === 'partial_export') {
      this.idleEndsFromLog = true;
      this.recommender.host.idleEndsFromLog();
      this.detector?.host.idleEndsFromLog();
    } else if (e.type === 'idle_end') {
      const d = e.data as Omit<IdleEnd, 'position'>;
      (d.of === 'shopper' ? this.detector?.host : this.recommender.host)?.idleEnd(String(d.id), d.ts);
    }
  }

  report(started: number): ReplayReport {
    return {
      inputs: this.inputs,
      ...this.outputs.result(),
      otherCatalogues: [...this.otherCatalogues],
      sources: {
        ...this.sources.report(),
        replay: { model: this.deps.scorer.version, catalogue: this.deps.catalogue.version, customerTable: customerTableVersion(this.deps.customers.values()) },
      },
      ms: Date.now() - started,
    };
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
