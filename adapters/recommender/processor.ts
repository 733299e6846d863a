/**
 * The recommender's processor: a session actor per customer in the store (entry → load context →
 * focus → score coupons → decision), hosted by the generic customer host. An entry, focus or exit
 * in; the decision a focus came to out (a `prediction` to log and publish, or a logged
 * `no_prediction` with the reason). Live runs, recovery and replay use this one module; only the
 * data it reads differs (the database's catalogue and customers, or a replay's).
 */
import { sessionMachine, type SessionEmitted, type SessionEvent } from '../../machines/session.ts';
import { CustomerHost } from '../../actors/kernel/customer-host.ts';
import { fromValueOrPromise } from '../../actors/kernel/value-or-promise.ts';
import { scoreFocus, type ScoringSettings } from '../../actors/recommender/score-focus.ts';
import type { FocusInput, ScoreResult } from '../../actors/recommender/coupon-decision.ts';
import type { CouponCatalogue, CatalogueEntry } from '../../actors/recommender/coupon-catalogue.ts';
import { noValidCouponsDetail } from '../../actors/recommender/coupon-validity.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { StoreEvent } from '../../schemas/events.ts';
import { loggedInputId, outputId, type Input, type Output, type Processor } from '../process/pipeline.ts';

export interface RecommenderSettings extends ScoringSettings {
  idleTimeoutS: number;
}

export interface RecommenderProcessorOptions {
  catalogue(): CouponCatalogue;
  /** A customer's context (null: not in customer_info); synchronous when it is in memory. */
  customer(id: number): CustomerInfo | null | Promise<CustomerInfo | null>;
  scorer(): CouponScorer;
  /** Scoring settings in force (replay changes them where the log says they changed). */
  settings(): RecommenderSettings;
  topic: string;
  format: 'flat' | 'envelope';
  inspect?: (e: any) => void;
  onScorerFailure?(customerId: string, err: unknown): void;
  onUnknownCustomer?(customerId: string): void;
  onContextFailed?(customerId: string, error: string): void;
  onCreated?(): void;
  onEnded?(): void;
  onError?(customerId: string, err: unknown): void;
}

interface Routable {
  event: StoreEvent;
  inputId: string;
}
type Decision = Extract<SessionEmitted, { type: 'decision' }>;

export class RecommenderProcessor implements Processor {
  readonly consumes = ['entry', 'focus', 'exit'] as const;
  readonly host: CustomerHost<typeof sessionMachine, Routable, SessionEmitted>;
  /** Focuses whose decision is still to come (context loading, a remote scorer), by input id. */
  private waiting = new Map<string, (outputs: Output[]) => void>();
  /** Decisions already in the log, by focus input id: recovery gives them back instead of scoring again. */
  private recalled = new Map<string, ScoreResult>();

  constructor(private o: RecommenderProcessorOptions) {
    const machine = sessionMachine.provide({
      actors: {
        loadCustomer: fromValueOrPromise<CustomerInfo | null, { customerId: string }>(({ input }) => {
          const id = Number(input.customerId);
          return Number.isSafeInteger(id) ? o.customer(id) : null;
        }),
        // the in-process model decides in the same step (no promise per focus); a remote scorer is awaited
        scoreCoupons: fromValueOrPromise<ScoreResult, { customer: CustomerInfo; focus: FocusInput; offered: number[] }>(({ input }) => {
          const recalled = this.recalled.get(input.focus.inputId);
          if (recalled) return recalled;
          const failed = (err: unknown): ScoreResult => {
            o.onScorerFailure?.(String(input.customer.customer_id), err);
            return { reason: 'scorer_failed' };
          };
          try {
            const result = scoreFocus(o.catalogue(), o.scorer(), o.settings(), input);
            return result instanceof Promise ? result.catch(failed) : result;
          } catch (err) {
            return failed(err);
          }
        }),
      },
    });
    this.host = new CustomerHost<typeof sessionMachine, Routable, SessionEmitted>({
      machine,
      emits: ['decision', 'unknownCustomer', 'contextFailed'],
      inspect: o.inspect,
      // a new session's clock starts at its customer's own first event
      input: (customerId) => ({ customerId, idleTimeoutS: o.settings().idleTimeoutS }),
      idleTimeoutS: o.settings().idleTimeoutS,
      tick: (ts) => ({ type: 'tick', ts }),
      route: ({ event, inputId }) => ({ customerId: event.id, ts: event.ts, routed: route(event, inputId) }),
      onLater: (e) => this.later(e),
      onCreate: () => o.onCreated?.(),
      onDone: () => o.onEnded?.(),
      onError: (id, err) => {
        o.onEnded?.();
        o.onError?.(id, err);
      },
    });
  }

  get sessions() {
    return this.host.actors;
  }

  handle({ logged, event }: Input): Output[] | Promise<Output[]> {
    const inputId = loggedInputId(logged);
    const outputs: Output[] = [];
    let decided = false;
    for (const e of this.host.input({ event, inputId })) {
      const outs = this.outputsOf(e);
      if (e.type === 'decision' && e.focus.inputId !== inputId) this.settle(e.focus.inputId, outs);
      else {
        decided ||= e.type === 'decision';
        outputs.push(...outs);
      }
    }
    if (event.kind !== 'focus' || decided) return outputs;
    // decided later (the context still loading, a remote scorer): the outputs then
    return new Promise((ok) => this.waiting.set(inputId, (later) => ok([...outputs, ...later])));
  }

  /** A decision already in the log (recovery): the focus gets it back instead of a new score. */
  recall(focusInputId: string, result: ScoreResult): void {
    this.recalled.set(focusInputId, result);
  }

  /** A logged prediction as it was published (rendered again from the catalogue), to publish it again. */
  published(e: { streamId: string; messageId?: string; metadata: Record<string, unknown>; data: unknown }): Output | undefined {
    const d = e.data as { customer_id: string; ts: number; score: number; coupon: { id: number } };
    const entry = this.o.catalogue().get(d?.coupon?.id);
    if (!entry || !e.messageId) return undefined;
    const { payload, data } = renderPrediction(d.customer_id, entry, d.score, d.ts, this.o.format);
    return { streamId: e.streamId, type: 'prediction', data, messageId: e.messageId, metadata: e.metadata, publish: { topic: this.o.topic, payload } };
  }

  stop(): void {
    this.host.actors.stopAll();
    for (const ok of this.waiting.values()) ok([]);
    this.waiting.clear();
  }

  private later(e: SessionEmitted) {
    const outs = this.outputsOf(e);
    if (e.type === 'decision') this.settle(e.focus.inputId, outs);
  }

  private settle(inputId: string, outputs: Output[]) {
    const ok = this.waiting.get(inputId);
    this.waiting.delete(inputId);
    ok?.(outputs);
  }

  private outputsOf(e: SessionEmitted): Output[] {
    if (e.type === 'unknownCustomer') {
      this.o.onUnknownCustomer?.(e.customerId);
      return [];
    }
    if (e.type === 'contextFailed') {
      this.o.onContextFailed?.(e.customerId, e.error);
      return [];
    }
    this.recalled.delete(e.focus.inputId);
    return [this.decisionOutput(e)];
  }

  private decisionOutput(e: Decision): Output {
    const inputId = e.focus.inputId;
    const entry = 'couponId' in e.result ? this.o.catalogue().get(e.result.couponId) : undefined;
    if (!('couponId' in e.result) || !entry) {
      // logged too (not published), so the log says what became of every focus
      const reason = 'reason' in e.result ? e.result.reason : 'coupon_withdrawn';
      return {
        streamId: `customer-${e.customerId}`,
        type: 'no_prediction',
        messageId: outputId(inputId, 'no_prediction'),
        data: noPredictionData(
          e.customerId,
          e.focus,
          reason,
          reason === 'no_valid_coupons' ? noValidCouponsDetail(this.o.catalogue(), e.focus.dep) : undefined,
        ),
        metadata: { cause: inputId },
      };
    }
    const { payload, data } = renderPrediction(e.customerId, entry, e.result.score, e.focus.ts, this.o.format);
    return {
      streamId: `customer-${e.customerId}`,
      type: 'prediction',
      data,
      messageId: outputId(inputId, 'prediction'),
      metadata: { cause: inputId },
      publish: { topic: this.o.topic, payload },
    };
  }
}

/** What a store event means to a customer's session; an exit of someone without a session creates nothing. */
function route(event: StoreEvent, inputId: string): { event: SessionEvent; create: boolean } | undefined {
  switch (event.kind) {
    case 'entry':
      return { event: { type: 'entry', ts: event.ts, inputId }, create: true };
    case 'focus':
      return { event: { type: 'focus', ts: event.ts, dep: event.dep, inputId }, create: true };
    case 'exit':
      return { event: { type: 'exit', ts: event.ts, inputId }, create: false };
    default:
      return undefined;
  }
}

/** The published payload (flat seed 002, or envelope seed 003) and the compact record kept in the log. */
export function renderPrediction(customerId: string, entry: CatalogueEntry, score: number, ts: number, format: 'flat' | 'envelope') {
  const c = entry.coupon;
  const payload =
    format === 'envelope'
      ? JSON.stringify({
          event_type: 'prediction result',
          event_timestamp: new Date(ts * 1000).toISOString(),
          payload: { customer_id: Number(customerId), coupon_id: c.coupon_id, prediction: round(score) },
        })
      : `{"customer":{"id":${JSON.stringify(customerId)}},"coupon":${entry.json},"ts":${Math.floor(ts)}}`;
  const data = {
    customer_id: customerId,
    ts: Math.floor(ts),
    score: round(score),
    coupon: {
      id: c.coupon_id,
      type: c.coupon_type,
      department: c.department,
      discount: Number(c.discount),
      how_many: entry.howMany,
      start_date: c.start_date,
      end_date: c.end_date,
      products_count: entry.productCount,
    },
  };
  return { payload, data };
}

/** The log record of a focus that got no coupon, and why. */
export function noPredictionData(customerId: string, focus: FocusInput, reason: string, detail?: object) {
  return { customer_id: customerId, ts: focus.ts, dep: focus.dep, reason, ...detail };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
