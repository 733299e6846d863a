/**
 * A logged run evaluated for a candidate policy (issue 34, `npm run evaluate`): the log's decisions (version-2
 * records, older ones upcast: the model's, probability 1), each with the margin realised at its focus, in log order
 * with the visits' entries. The candidate decides every logged focus as the sessions would have let it (the coupons
 * the log offered earlier in the visit are not offered again), a reward model guesses every choice's margin, and
 * actors/recommender/off-policy.ts estimates the candidate's incremental margin per visit.
 */
import { offPolicyEstimates, type EvaluatedFocus } from '../../actors/recommender/off-policy.ts';
import { scoreFocus, type ScoringSettings } from '../../actors/recommender/score-focus.ts';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { UpliftScorer } from '../../actors/recommender/uplift-model.ts';
import { DEPARTMENTS, type Department } from '../../schemas/departments.ts';
import { upcast } from '../../actors/kernel/upcasters.ts';

/**
 * A line of the log: a visit's entry, or a decision with the margin realised at its focus (its data of `schema_version`,
 * as an export says it; absent: 1, upcast as the log's reads do).
 */
export type LogLine =
  | { type: 'entry'; data: { id: string; ts: number } }
  | { type: 'prediction' | 'no_prediction'; data: unknown; margin: number; schema_version?: number };

export interface EvaluationContext {
  catalogue: CouponCatalogue;
  customers: Map<number, CustomerInfo>;
  candidate: CouponScorer;
  settings: ScoringSettings;
  /** The reward model: p̂ and b̂ (the uplift model), and every coupon's margin. */
  reward: UpliftScorer;
  marginOf(couponId: number): number;
}

/** A decision of the candidate at a logged focus. */
export interface CandidateChoice {
  customerId: string;
  dep: number;
  couponId?: number;
}

export function evaluateLog(lines: readonly LogLine[], c: EvaluationContext) {
  const offered = new Map<string, number[]>();
  const focuses: EvaluatedFocus[] = [];
  const choices: CandidateChoice[] = [];
  let visits = 0;
  for (const line of lines) {
    if (line.type === 'entry') {
      visits++;
      offered.set(line.data.id, []);
      continue;
    }
    const d = upcast(line.type, 'customer-', line.schema_version ?? 1, line.data) as {
      customer_id: string;
      ts: number;
      dep?: Department;
      coupon?: { id: number; department: Department };
      propensity: number;
    };
    const dep = (d.coupon?.department ?? d.dep) as Department;
    const customer = c.customers.get(Number(d.customer_id));
    const before = offered.get(d.customer_id) ?? [];
    if (d.coupon) offered.set(d.customer_id, [...before, d.coupon.id]);
    if (!customer || !DEPARTMENTS.includes(dep)) continue;
    const s = scoreFocus(c.catalogue, c.candidate, { ...c.settings, explorationRate: 0 }, { customer, focus: { inputId: '', ts: d.ts, dep }, offered: before });
    if (s instanceof Promise) throw new Error('evaluate: the candidate scores asynchronously');
    const candidate = 'couponId' in s ? s.couponId : undefined;
    const depIndex = DEPARTMENTS.indexOf(dep);
    const b = c.reward.baseline(customer, depIndex);
    const guess = (couponId: number | undefined) => {
      const entry = couponId === undefined ? undefined : c.catalogue.get(couponId);
      if (!entry) return b;
      const p = c.reward.redemption(customer, [entry.coupon])[0];
      return p * c.marginOf(entry.coupon.coupon_id) + (1 - p) * b;
    };
    focuses.push({
      logged: d.coupon?.id,
      propensity: d.propensity,
      reward: line.margin,
      candidate,
      predicted: { candidate: guess(candidate), nothing: b, logged: guess(d.coupon?.id) },
    });
    choices.push({ customerId: d.customer_id, dep: depIndex, couponId: candidate });
  }
  return { visits, focuses: focuses.length, choices, estimates: offPolicyEstimates(focuses, Math.max(visits, 1)) };
}
