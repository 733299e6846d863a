/**
 * A focus's decision, as one function of what the session knows (the customer, the focus, the coupons
 * offered in this visit) and what the recommender holds (catalogue, scorer, settings, the day's discount
 * spent): the decision the log already holds when it is recalled, else the department's coupons scored, the
 * best one not yet offered, held to the day's discount budget. Tested on its own (test/decide-focus.test.ts).
 */
import type { CouponCatalogue } from './coupon-catalogue.ts';
import type { ScoreResult, FocusInput } from './coupon-decision.ts';
import type { CouponScorer, CustomerInfo } from '../data/store-data.ts';
import type { DiscountBudget } from './discount-budget.ts';
import { scoreFocus, type ScoringSettings } from './score-focus.ts';

/** What a session asks to be decided: its customer, the focus, the coupons offered so far in the visit. */
export interface FocusToDecide {
  customer: CustomerInfo;
  focus: FocusInput;
  offered: number[];
}

export interface FocusDeciding {
  catalogue: CouponCatalogue;
  scorer: CouponScorer;
  settings: ScoringSettings;
  /** The discount offered per day so far; an offer counts against it (in decision order: replay repeats it). */
  budget: DiscountBudget;
  /** The decision the log holds for this focus (recovery, a rebuild): given back, not scored again. */
  recalled?: ScoreResult;
  /** The scorer threw or rejected (the decision is then `scorer_failed`). */
  failed?(err: unknown): void;
}

/** Synchronous with a synchronous scorer (the in-process model): no promise per focus. Never throws or rejects. */
export function decideFocus(d: FocusDeciding, input: FocusToDecide): ScoreResult | Promise<ScoreResult> {
  if (d.recalled) return d.recalled;
  const failed = (err: unknown): ScoreResult => {
    d.failed?.(err);
    return { reason: 'scorer_failed' };
  };
  // the day's discount budget, after whichever policy chose
  const budgeted = (r: ScoreResult) => d.budget.apply(r, input.focus.ts, d.settings.discountBudget, d.catalogue);
  try {
    const result = scoreFocus(d.catalogue, d.scorer, d.settings, input);
    return result instanceof Promise ? result.then(budgeted, failed) : budgeted(result);
  } catch (err) {
    return failed(err);
  }
}
