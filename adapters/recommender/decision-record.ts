/**
 * A decision as the log keeps it and as the broker publishes it: the compact record (coupon id, score and the
 * coupon's terms; never the product list), the payload in the configured format (seed 002's flat coupon with its
 * products, or seed 003's envelope), the record of a focus that got no coupon, and a logged decision read back.
 */
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import { must } from '../../actors/kernel/must.ts';
import { EVENT_VERSIONS } from '../../actors/kernel/upcasters.ts';
import type { Chosen, FocusInput, ScoreResult } from '../../actors/recommender/coupon-decision.ts';
import type { CatalogueEntry, CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import { noValidCouponsDetail } from '../../actors/recommender/coupon-validity.ts';
import { outputId, type Output } from '../process/processor-contract.ts';

/** Where a decision is rendered and published. */
interface Rendering {
  catalogue: CouponCatalogue;
  format: 'flat' | 'envelope';
  topic: string;
}

/**
 * A session's decision as the output to log (and, for a coupon, to publish): a `prediction`, or a `no_prediction`
 * with the reason (a coupon withdrawn from the catalogue since it was scored is one), logged so the log says what
 * became of every focus. `expectedVersion`: the customer's stream version it is appended against (replicas).
 */
export function decisionOutput(e: { customerId: string; focus: FocusInput; result: ScoreResult }, o: Rendering & { expectedVersion?: number }): Output {
  const inputId = e.focus.inputId;
  const entry = 'couponId' in e.result ? o.catalogue.get(e.result.couponId) : undefined;
  const common = { streamId: `customer-${e.customerId}`, expectedVersion: o.expectedVersion, metadata: { cause: inputId } };
  if (!('couponId' in e.result) || !entry) {
    const reason = 'reason' in e.result ? e.result.reason : 'coupon_withdrawn';
    const detail = reason === 'no_valid_coupons' ? noValidCouponsDetail(o.catalogue, e.focus.dep) : undefined;
    const chosen = 'couponId' in e.result ? { policy: e.result.policy, propensity: e.result.propensity } : e.result;
    const data = noPredictionData(e.customerId, e.focus, reason, detail, chosen);
    return { ...common, type: 'no_prediction', messageId: outputId(inputId, 'no_prediction'), data };
  }
  const { payload, data } = renderPrediction(e.customerId, entry, e.result.score, e.focus.ts, o.format, e.result);
  return { ...common, type: 'prediction', data, messageId: outputId(inputId, 'prediction'), publish: { topic: o.topic, payload } };
}

export interface LoggedPrediction {
  streamId: string;
  messageId?: string;
  metadata: Record<string, unknown>;
  data: unknown;
}

/** A logged prediction (read in the current shape) as it was published (rendered again from the catalogue), to publish it again. */
export function publishedAgain(e: LoggedPrediction, o: Rendering): Output | undefined {
  const d = e.data as { customer_id: string; ts: number; score: number; coupon: { id: number } } & Chosen;
  const entry = o.catalogue.get(d?.coupon?.id);
  if (!entry || !e.messageId) return undefined;
  const { payload, data } = renderPrediction(d.customer_id, entry, d.score, d.ts, o.format, d);
  return { streamId: e.streamId, type: 'prediction', data, messageId: e.messageId, metadata: e.metadata, publish: { topic: o.topic, payload } };
}

/** A logged decision (read in the current shape) as the scorer's result, to give a focus back what was decided for it. */
export function decisionResult(e: Pick<LoggedEvent, 'type' | 'data'>): ScoreResult {
  const d = e.data as { coupon?: { id: number }; score?: number; reason?: string } & Chosen;
  const chosen = { policy: d.policy, propensity: d.propensity };
  if (e.type !== 'prediction') return { reason: d.reason, ...chosen } as ScoreResult;
  return { couponId: must(d.coupon, 'a logged prediction names its coupon').id, score: must(d.score, 'a logged prediction has its score'), ...chosen };
}

/**
 * The version of a decision record's data: 2 since issue 34 (who chose it, and with what probability), also said in
 * the data (`v`, from before the log stored versions). Older records are upcast on read (actors/kernel/upcasters.ts).
 */
export const DECISION_RECORD_VERSION = EVENT_VERSIONS.prediction;

/** The published payload (flat seed 002, or envelope seed 003) and the compact record kept in the log. */
export function renderPrediction(customerId: string, entry: CatalogueEntry, score: number, ts: number, format: 'flat' | 'envelope', chosen: Chosen = {}) {
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
    v: DECISION_RECORD_VERSION,
    ...chosenBy(chosen),
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
export function noPredictionData(customerId: string, focus: FocusInput, reason: string, detail?: object, chosen: Chosen = {}) {
  return { v: DECISION_RECORD_VERSION, ...chosenBy(chosen), customer_id: customerId, ts: focus.ts, dep: focus.dep, reason, ...detail };
}

/** Who chose, with what probability: a decision no policy made (an unknown customer, a failed scorer) is the model's, certain. */
function chosenBy(c: Chosen): Required<Chosen> {
  return { policy: c.policy ?? 'model', propensity: c.propensity ?? 1 };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
