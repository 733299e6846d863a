/**
 * Off-policy evaluation (issue 34): how a candidate policy would have done, from a log another policy made, with
 * the probability of every logged choice (actors/recommender/exploration.ts). The quantity is the candidate's
 * incremental margin per visit against offering nothing:
 *
 *   Δ = (1 / visits) × Σ over focuses of E[r(candidate's choice)] − E[r(nothing)]
 *
 * With w = 1 / (the logged choice's propensity), r the margin realised at the focus and r̂ a reward model's guess:
 *   IPS                 Σ ([logged = candidate's] − [logged = nothing]) × w × r
 *   self-normalised IPS the two terms each divided by the mean of their weights
 *   doubly robust       Σ r̂(candidate's) − r̂(nothing) + ([logged = candidate's] − [logged = nothing]) × w × (r − r̂(logged))
 * Where the candidate offers nothing a focus adds nothing. 95 % intervals: the estimate ± 1.96 standard errors,
 * focuses counted as independent (the delta method for the self-normalised one).
 */

/** A logged focus: the logged choice (undefined: nothing), its propensity, the realised margin, the candidate's choice, and r̂. */
export interface EvaluatedFocus {
  logged?: number;
  propensity: number;
  reward: number;
  candidate?: number;
  /** r̂ of the candidate's choice, of nothing, and of the logged choice. */
  predicted: { candidate: number; nothing: number; logged: number };
}

export interface Estimate {
  estimate: number;
  ciLow: number;
  ciHigh: number;
}

const Z = 1.959964;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

function interval(terms: readonly number[], visits: number): Estimate {
  const n = terms.length;
  const sum = terms.reduce((a, b) => a + b, 0);
  const mean = n ? sum / n : 0;
  const variance = n > 1 ? terms.reduce((a, y) => a + (y - mean) ** 2, 0) / (n - 1) : 0;
  const estimate = sum / visits,
    se = Math.sqrt(n * variance) / visits;
  return { estimate: r4(estimate), ciLow: r4(estimate - Z * se), ciHigh: r4(estimate + Z * se) };
}

/** IPS, self-normalised IPS and doubly robust estimates of Δ per visit. */
export function offPolicyEstimates(focuses: readonly EvaluatedFocus[], visits: number): { ips: Estimate; snips: Estimate; dr: Estimate } {
  const ips: number[] = [],
    dr: number[] = [];
  const offering = focuses.filter((f) => f.candidate !== undefined);
  for (const f of focuses) {
    if (f.candidate === undefined) {
      ips.push(0);
      dr.push(0);
      continue;
    }
    const sign = (f.logged === f.candidate ? 1 : 0) - (f.logged === undefined ? 1 : 0);
    const w = sign / f.propensity;
    ips.push(w * f.reward);
    dr.push(f.predicted.candidate - f.predicted.nothing + w * (f.reward - f.predicted.logged));
  }
  // self-normalised: the candidate's and nothing's mean rewards over the focuses where the candidate offers
  const wc = offering.map((f) => (f.logged === f.candidate ? 1 / f.propensity : 0)),
    wn = offering.map((f) => (f.logged === undefined ? 1 / f.propensity : 0));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const mc = mean(wc),
    mn = mean(wn);
  const vc = mc ? offering.reduce((a, f, i) => a + wc[i] * f.reward, 0) / offering.length / mc : 0,
    vn = mn ? offering.reduce((a, f, i) => a + wn[i] * f.reward, 0) / offering.length / mn : 0;
  const share = offering.length / visits;
  const influence = offering.map((f, i) => (mc ? (wc[i] * (f.reward - vc)) / mc : 0) - (mn ? (wn[i] * (f.reward - vn)) / mn : 0));
  const snipsSe = interval(influence, offering.length);
  const snips = share * (vc - vn);
  const half = share * (snipsSe.ciHigh - snipsSe.estimate);
  return {
    ips: interval(ips, visits),
    snips: { estimate: r4(snips), ciLow: r4(snips - half), ciHigh: r4(snips + half) },
    dr: interval(dr, visits),
  };
}
