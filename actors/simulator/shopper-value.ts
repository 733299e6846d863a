/**
 * What an offer is worth to the store (issue 34): the shopper's hidden world beyond redeeming.
 *
 * A shopper who dwells in a department may buy there without any coupon. Their no-coupon purchase probability
 * for department d is tied to the same hidden preferences that drive redemption
 * (actors/data/customer-preferences.ts):
 *
 * | term | value |
 * |---|---|
 * | base | −1.0 |
 * | department | +1.0 × ln(weight[d] / mean weight): the shopper's own department weights, their hidden noise included |
 * | thrift | −1.0 × (thrift − 0.5): a thrifty shopper buys less at full price |
 *
 * What they would buy: one item with the department's mean item margin (the mean over its products of
 * buy_price × margin rate), times a spend factor 1.25 − 0.5 × thrift (a thrifty shopper picks cheaper items).
 *
 * A redeemed coupon is a purchase of its items (the basket of actors/simulator/redemption.ts) at the discount:
 * its margin after the discount is Σ item price × (margin rate − discount), negative where the discount is
 * larger than the margin (couponMargin, actors/data/product-margins.ts). It replaces what the shopper would have bought without it. So, for shopper c offered
 * coupon k at a focus in department d, with p the redemption probability, q the no-coupon purchase probability
 * and B the no-coupon item margin:
 *
 *   value of a redemption      = M_k − q × B          (its margin after the discount, minus what it displaced)
 *   expected incremental margin = p × (M_k − q × B)    (against offering nothing: a shopper who does not redeem
 *                                                       buys exactly as without the coupon)
 *
 * Realised outcomes (a log's rewards) draw the redemption with redemptionDraw and the purchase from a stream named
 * by the focus (`purchase/<customer>/<ts>`), so every policy meets the same shopper's same luck.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import { createPrng } from '../kernel/prng.ts';
import { marginRate } from '../data/product-margins.ts';
import { redemptionProbability, type CouponTraits, type CustomerPreferences } from '../data/customer-preferences.ts';
import type { ProductInfo } from '../data/store-data.ts';
import { redemptionDraw } from './redemption.ts';

/** The no-coupon purchase model's constants (see the table above). */
export const PURCHASE = { base: -1.0, department: 1.0, thrift: -1.0, spend: [1.25, -0.5] as const };

/** The probability that the shopper buys in the department (DEPARTMENTS index) when offered nothing. */
export function purchaseProbability(p: CustomerPreferences, department: number): number {
  const w = p.departmentWeights;
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  const logit = PURCHASE.base + PURCHASE.department * Math.log((w[department] ?? mean) / mean) + PURCHASE.thrift * (p.thrift - 0.5);
  return 1 / (1 + Math.exp(-logit));
}

/** The margin of the item the shopper buys without a coupon in the department (given that they buy). */
export function noCouponItemMargin(p: CustomerPreferences, department: number, itemMargins: readonly number[]): number {
  return (itemMargins[department] ?? 0) * (PURCHASE.spend[0] + PURCHASE.spend[1] * p.thrift);
}

/** The shopper's expected no-coupon margin at a focus in the department: q × B. */
export function noCouponMargin(p: CustomerPreferences, department: number, itemMargins: readonly number[]): number {
  return purchaseProbability(p, department) * noCouponItemMargin(p, department, itemMargins);
}

/** Per department (DEPARTMENTS order), the mean over its products of buy_price × margin rate. */
export function departmentItemMargins(products: readonly ProductInfo[], rates?: ReadonlyMap<number, number>): number[] {
  return DEPARTMENTS.map((d) => {
    const ps = products.filter((p) => p.department === d);
    return ps.length ? ps.reduce((a, p) => a + Number(p.buy_price) * marginRate({ margin_rate: rates?.get(p.product_id) }), 0) / ps.length : 0;
  });
}

/** An offer's expected incremental margin against offering nothing: p × (M − q × B). */
export function expectedIncrementalMargin(p: CustomerPreferences, k: CouponTraits, margin: number, noCoupon: number): number {
  return redemptionProbability(p, k) * (margin - noCoupon);
}

/** A focus as the shopper lives it: who, when, where, and the coupon offered (with its margin), if any. */
export interface FocusLived {
  customerId: string;
  ts: number;
  department: number;
  offer?: { couponId: number; traits: CouponTraits; margin: number };
}

/** The margin the store realises at a focus (drawn): the redeemed coupon's, else a no-coupon purchase's, else 0. */
export function realisedMargin(
  seed: number | string,
  p: CustomerPreferences,
  f: FocusLived,
  itemMargins: readonly number[],
): { margin: number; redeemed: boolean } {
  const o = f.offer;
  if (o && redemptionDraw(seed, { customerId: f.customerId, ts: f.ts, couponId: o.couponId }) < redemptionProbability(p, o.traits))
    return { margin: o.margin, redeemed: true };
  const buys = createPrng(seed).fork(`purchase/${f.customerId}/${f.ts}`).float() < purchaseProbability(p, f.department);
  return { margin: buys ? noCouponItemMargin(p, f.department, itemMargins) : 0, redeemed: false };
}
