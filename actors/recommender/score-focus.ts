/** A focus scored: the department's valid coupons, ranked by the scorer, and the best one not yet offered. */
import type { CouponCatalogue } from './coupon-catalogue.ts';
import { dateOf } from './coupon-catalogue.ts';
import { decide, type ScoreResult, type FocusInput } from './coupon-decision.ts';
import type { CouponScorer, CustomerInfo } from '../data/store-data.ts';
import { explore } from './exploration.ts';

export interface ScoringSettings {
  maxCoupons: number;
  /** PREDICTION_THRESHOLD for the model policy, MIN_EXPECTED_MARGIN for the uplift policy. */
  threshold: number;
  couponValidity: 'check' | 'ignore';
  /** Which policy the scorer is (absent: the redemption model). */
  policy?: 'model' | 'uplift';
  /** EXPLORATION_RATE (absent: 0). */
  explorationRate?: number;
  /** The discount this process may offer per UTC day of event time (absent or 0: no budget; actors/recommender/discount-budget.ts). */
  discountBudget?: number;
}

/**
 * The department's valid coupons, scored, and the best one not yet offered. Throws (or rejects) if the
 * scorer fails. Synchronous with a synchronous scorer (the in-process model): no promise per focus.
 */
export function scoreFocus(
  catalogue: CouponCatalogue,
  scorer: CouponScorer,
  s: ScoringSettings,
  input: { customer: CustomerInfo; focus: FocusInput; offered: number[] },
): ScoreResult | Promise<ScoreResult> {
  const candidates = catalogue.candidates(input.focus.dep, s.couponValidity === 'ignore' ? undefined : dateOf(input.focus.ts));
  // coupons in the department, none valid at the event's date (the original data set is of 2010–2013): say so
  if (candidates.entries.length === 0)
    return { reason: s.couponValidity !== 'ignore' && catalogue.validity(input.focus.dep) ? 'no_valid_coupons' : 'no_coupons' };
  const scores = scorer.score(input.customer, candidates.coupons);
  const pick = (scores: number[]): ScoreResult => {
    const d = decide(candidates.entries, scores, input.offered, s.maxCoupons, s.threshold);
    const greedy: ScoreResult = d.offer ? { couponId: d.entry.coupon.coupon_id, score: d.score } : { reason: d.reason };
    return explore(greedy, candidates.entries, scores, input.offered, {
      inputId: input.focus.inputId,
      rate: s.explorationRate ?? 0,
      policy: s.policy ?? 'model',
    });
  };
  return scores instanceof Promise ? scores.then(pick) : pick(scores);
}
