/**
 * Exploration with logged propensities (issue 34). With EXPLORATION_RATE ε, a focus is explored with probability ε;
 * an explored focus is, in equal halves, a holdout (offered nothing) or offered a coupon drawn uniformly from the
 * eligible ones (the department's candidates not yet offered in the visit). Every decision says with what
 * probability its choice was made under this scheme, so a log can tell how another policy would have done
 * (off-policy evaluation, actors/recommender/off-policy.ts):
 *
 *   P(coupon a) = (1 − ε) × [the policy picks a] + ε / 2 / n
 *   P(nothing)  = (1 − ε) × [the policy offers nothing] + ε / 2     (ε when there is nothing eligible)
 *
 * The draws come from a stream named by the focus's input id: replaying a log makes the same choices.
 */
import { createPrng } from '../kernel/prng.ts';
import type { CatalogueEntry } from './coupon-catalogue.ts';
import type { ScoreResult } from './coupon-decision.ts';

/** Who chose a decision: the configured policy, or exploration. */
export type ChosenBy = 'model' | 'uplift' | 'exploration';

/** The policy's own decision, explored at rate ε: what is offered, with its propensity. */
export function explore(
  greedy: ScoreResult,
  entries: readonly CatalogueEntry[],
  scores: readonly number[],
  offered: readonly number[],
  o: { inputId: string; rate: number; policy: ChosenBy },
): ScoreResult {
  const rate = o.rate > 0 ? Math.min(o.rate, 1) : 0;
  if (rate === 0) return { ...greedy, policy: o.policy, propensity: 1 };
  const eligible: number[] = [];
  for (let i = 0; i < entries.length; i++) if (!offered.includes(entries[i].coupon.coupon_id)) eligible.push(i);
  const n = eligible.length;
  const greedyCoupon = 'couponId' in greedy ? greedy.couponId : undefined;
  const pNothing = (1 - rate) * (greedyCoupon === undefined ? 1 : 0) + (n ? rate / 2 : rate);
  const pCoupon = (id: number) => (1 - rate) * (greedyCoupon === id ? 1 : 0) + (n ? rate / 2 / n : 0);
  const rng = createPrng(o.inputId).fork('exploration');
  if (!(rng.float() < rate)) {
    return { ...greedy, policy: o.policy, propensity: round(greedyCoupon === undefined ? pNothing : pCoupon(greedyCoupon)) };
  }
  if (n === 0 || rng.float() < 0.5) {
    const reason = greedyCoupon === undefined && 'reason' in greedy ? greedy.reason : 'holdout';
    return { reason, policy: 'exploration', propensity: round(pNothing) };
  }
  const i = eligible[rng.int(0, n - 1)];
  const couponId = entries[i].coupon.coupon_id;
  return { couponId, score: scores[i], policy: 'exploration', propensity: round(pCoupon(couponId)) };
}

/** Propensities are logged to 9 decimals (a replay compares them exactly). */
const round = (x: number) => Math.round(x * 1e9) / 1e9;
