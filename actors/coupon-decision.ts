/**
 * Which coupon to offer (REFERENCE.md §2, the original's logic with its bugs fixed): score the
 * department's valid coupons, keep the top MAX_COUPONS_PER_CALL, keep those above the threshold,
 * offer the best one not yet offered in this visit. Nothing qualifies: no offer, and why.
 */
import type { CatalogueEntry } from './coupon-catalogue.ts';

export type NoOfferReason = 'no_coupons' | 'below_threshold' | 'all_offered' | 'unknown_customer' | 'scorer_failed' | 'customer_left';

export type Decision =
  | { offer: true; entry: CatalogueEntry; score: number }
  | { offer: false; reason: NoOfferReason };

export function decide(candidates: readonly CatalogueEntry[], scores: readonly number[], offered: readonly number[], maxCoupons: number, threshold: number): Decision {
  if (candidates.length === 0) return { offer: false, reason: 'no_coupons' };
  const ranked = candidates
    .map((entry, i) => ({ entry, score: scores[i] }))
    .sort((a, b) => b.score - a.score || a.entry.coupon.coupon_id - b.entry.coupon.coupon_id)
    .slice(0, maxCoupons)
    .filter((r) => r.score > threshold);
  if (ranked.length === 0) return { offer: false, reason: 'below_threshold' };
  const best = ranked.find((r) => !offered.includes(r.entry.coupon.coupon_id));
  return best ? { offer: true, entry: best.entry, score: best.score } : { offer: false, reason: 'all_offered' };
}
