/**
 * A discount budget per store and day (issue 34): the coupons a process offers on one UTC day of event time may
 * add up to at most DISCOUNT_BUDGET × DISCOUNT_BUDGET_SHARE of discount (the coupons' `discount` values). What counts
 * as spent is every coupon offered, not redeemed: redemptions arrive later, and a replay must decide the same from
 * the decisions alone. The budget applies after the policy (model, uplift or exploration) has chosen: a coupon that
 * would overrun it is not offered, and the decision says `discount_budget`.
 */
import type { ScoreResult } from './coupon-decision.ts';
import type { CouponCatalogue } from './coupon-catalogue.ts';

const DAY_S = 86_400;

/** The UTC day of an event time in seconds (days since 1970-01-01). */
export function dayOf(ts: number): number {
  return Math.floor(ts / DAY_S);
}

export class DiscountBudget {
  /** Discount offered per UTC day of event time. */
  private spent = new Map<number, number>();

  /** Discount offered on `day` so far. */
  spentOn(day: number): number {
    return this.spent.get(day) ?? 0;
  }

  /** Discount offered on `day` that this process did not decide here (after a restart: read from the log). */
  add(day: number, discount: number): void {
    this.spent.set(day, this.spentOn(day) + discount);
  }

  /**
   * The policy's choice under a budget of `limit` per day (absent or 0: none): offered and counted if it fits,
   * else no offer for `discount_budget`. The record keeps who chose the stopped coupon and its propensity.
   */
  apply(result: ScoreResult, ts: number, limit: number | undefined, catalogue: Pick<CouponCatalogue, 'get'>): ScoreResult {
    if (!limit || !('couponId' in result)) return result;
    const entry = catalogue.get(result.couponId);
    if (!entry) return result; // withdrawn from the catalogue: no offer anyway (coupon_withdrawn)
    const discount = Number(entry.coupon.discount);
    const day = dayOf(ts);
    if (this.spentOn(day) + discount > limit) return { reason: 'discount_budget', policy: result.policy, propensity: result.propensity };
    this.add(day, discount);
    return result;
  }
}
