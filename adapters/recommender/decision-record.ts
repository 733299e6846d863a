/**
 * A decision as the log keeps it and as the broker publishes it: the compact record (coupon id, score and the
 * coupon's terms; never the product list), the payload in the configured format (seed 002's flat coupon with its
 * products, or seed 003's envelope), the record of a focus that got no coupon, and a logged decision read back.
 */
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import type { FocusInput, ScoreResult } from '../../actors/recommender/coupon-decision.ts';
import type { CatalogueEntry } from '../../actors/recommender/coupon-catalogue.ts';

/** A logged decision as the scorer's result, to give a focus back what was decided for it. */
export function decisionResult(e: Pick<LoggedEvent, 'type' | 'data'>): ScoreResult {
  const d = e.data as { coupon?: { id: number }; score?: number; reason?: string };
  return e.type === 'prediction' ? { couponId: d.coupon!.id, score: d.score! } : ({ reason: d.reason } as ScoreResult);
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
