/**
 * Which coupon to offer (REFERENCE.md §2, the original's logic with its bugs fixed): score the
 * department's valid coupons, keep the top MAX_COUPONS_PER_CALL, keep those above the threshold,
 * offer the best one not yet offered in this visit. Nothing qualifies: no offer, and why.
 */
import type { CatalogueEntry } from './coupon-catalogue.ts';
import type { Department } from '../../schemas/departments.ts';

/** A focus as a session holds it: the input it came from, its event time, its department. */
export interface FocusInput {
  inputId: string;
  ts: number;
  dep: Department;
}

/** How a decision was chosen (issue 34): by the configured policy or by exploration, and with what probability. */
export interface Chosen {
  policy?: 'model' | 'uplift' | 'exploration';
  propensity?: number;
}

/** What became of a focus: the coupon offered and its score, or why there is none. */
export type ScoreResult = ({ couponId: number; score: number } | { reason: NoOfferReason }) & Chosen;

export type NoOfferReason =
  | 'no_coupons'
  | 'no_valid_coupons'
  | 'below_threshold'
  | 'all_offered'
  | 'unknown_customer'
  | 'scorer_failed'
  | 'customer_left'
  | 'holdout'
  | 'discount_budget';

export type Decision = { offer: true; entry: CatalogueEntry; score: number } | { offer: false; reason: NoOfferReason };

export function decide(
  candidates: readonly CatalogueEntry[],
  scores: readonly number[],
  offered: readonly number[],
  maxCoupons: number,
  threshold: number,
): Decision {
  if (candidates.length === 0) return { offer: false, reason: 'no_coupons' };
  // the top maxCoupons by score, ties to the lower coupon id, picked in one pass (no sort of them all;
  // no closures either: this runs for every focus)
  const top: number[] = [];
  for (let i = 0; i < candidates.length && maxCoupons > 0; i++) {
    if (top.length === maxCoupons && !ranksBefore(candidates, scores, i, top[maxCoupons - 1])) continue;
    let k = Math.min(top.length, maxCoupons - 1);
    while (k > 0 && ranksBefore(candidates, scores, i, top[k - 1])) {
      top[k] = top[k - 1];
      k--;
    }
    top[k] = i;
  }
  let above = false;
  for (const i of top) {
    if (!(scores[i] > threshold)) continue;
    above = true;
    if (!offered.includes(candidates[i].coupon.coupon_id)) return { offer: true, entry: candidates[i], score: scores[i] };
  }
  return { offer: false, reason: above ? 'all_offered' : 'below_threshold' };
}

/** Candidate i ranks before candidate j: a higher score, or the same score and a lower coupon id. */
function ranksBefore(candidates: readonly CatalogueEntry[], scores: readonly number[], i: number, j: number): boolean {
  return scores[i] > scores[j] || (scores[i] === scores[j] && candidates[i].coupon.coupon_id < candidates[j].coupon.coupon_id);
}
