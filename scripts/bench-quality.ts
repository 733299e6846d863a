/**
 * `npm run bench:quality`: do the coupons we pick pay? (issues 23 and 34)
 *
 * On a store generated from a seed no policy was trained on (default 4242; the models were trained on 42), a
 * simulated day (the simulator's shoppers, virtual time) goes through the focus detector once; its focuses then go
 * through the recommender's sessions (the replay path: same machines and decision as live) once per policy, with
 * COUPON_VALIDITY=ignore so a department offers a real choice (~350 coupons, not three). Each policy offers at most
 * one coupon per focus (top-1). Figures are expected values under the shoppers' hidden world
 * (actors/simulator/shopper-value.ts), not realised draws: incremental margin per visit against offering nothing,
 * redemption rate (mean redemption probability of the offers made), offers per visit. Policies:
 *   control          offers nothing
 *   random           a random coupon of the department (not yet offered in the visit)
 *   highestDiscount  the highest discount (ties: the lower coupon id)
 *   model            the default policy: the redemption model at PREDICTION_THRESHOLD (--threshold, 0.2)
 *   uplift           POLICY=uplift: the highest expected incremental margin by the uplift model, if above MIN_EXPECTED_MARGIN (0)
 *   oracle           the highest true expected incremental margin, if positive (it knows the hidden preferences)
 * Then off-policy evaluation: a log of 20,000 visits under the default policy with EXPLORATION_RATE 0.2 (visits
 * without walking, COUPON_VALIDITY=check as live), the uplift policy evaluated from it (IPS, self-normalised IPS,
 * doubly robust) against its true value on the same focuses. `--coverage` repeats that for store seeds 1–10.
 * `--budget X`: every policy of the day under DISCOUNT_BUDGET X (the live rule, actors/recommender/discount-budget.ts).
 *   npm run bench:quality -- [--json] [--seed N] [--model FILE] [--uplift FILE] [--threshold X] [--hours H] [--average N] [--visits N] [--budget X] [--write-log FILE] [--coverage]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cli } from './cli.ts';
import { loadCouponModel, type LoadedCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { createUpliftScorer, loadUpliftModel, type UpliftModelFile } from '../actors/recommender/uplift-model.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import type { CouponInfo, CouponScorer } from '../actors/data/store-data.ts';
import type { ScoringSettings } from '../actors/recommender/score-focus.ts';
import { QualityWorld, type Decided } from '../adapters/simulator/quality-world.ts';
import { evaluateLog, type LogLine } from '../adapters/recommender/off-policy-log.ts';

const { values, int, num, fail } = cli({
  usage:
    'npm run bench:quality -- [--json] [--seed N] [--model FILE] [--uplift FILE] [--threshold X] [--hours H] [--average N] [--visits N] [--budget X] [--write-log FILE] [--coverage]',
  summary:
    'Do the coupons we pick pay? Incremental margin per visit against offering nothing, for control, random, highest discount, the model, the uplift policy and the oracle, on a store no policy was trained on; then off-policy estimates of the uplift policy from a logged run.',
  options: {
    json: { type: 'boolean', help: 'one JSON document instead of the tables' },
    seed: { type: 'string', arg: 'N', help: "the store's and the day's seed (default 4242; the models were trained on 42)" },
    model: { type: 'string', arg: 'FILE', help: 'the redemption model (default: the committed one)' },
    uplift: { type: 'string', arg: 'FILE', help: 'the uplift model (default: the committed one)' },
    threshold: { type: 'string', arg: 'X', help: 'PREDICTION_THRESHOLD of the model policy (default 0.2)' },
    hours: { type: 'string', arg: 'H', help: 'hours of the simulated day (default 10)' },
    average: { type: 'string', arg: 'N', help: 'shoppers in the store on average (default 20)' },
    visits: { type: 'string', arg: 'N', help: 'visits of the off-policy log (default 20000)' },
    budget: { type: 'string', arg: 'X', help: "DISCOUNT_BUDGET for every policy of the day: the coupons' discounts offered per UTC day (default 0: none)" },
    'write-log': { type: 'string', arg: 'FILE', help: 'write the off-policy log (JSON lines, the input of npm run evaluate)' },
    coverage: { type: 'boolean', help: 'also run the off-policy evaluation for store seeds 1–10 and count the intervals that cover the truth' },
  },
});
const seed = int('seed', 4242),
  threshold = num('threshold', 0.2, { min: 0, max: 1 }),
  hours = num('hours', 10, { min: 0 }),
  average = num('average', 20, { min: 0 }),
  logVisits = int('visits', 20_000, { min: 1 }),
  budget = num('budget', 0, { min: 0 });
for (const f of [values.model, values.uplift]) if (f !== undefined && !existsSync(f)) fail(`no such model file: ${f}`);
const model = loadCouponModel(values.model || undefined);
const upliftModel = loadUpliftModel(values.uplift || undefined);
const TOP1 = { maxCoupons: 5, couponValidity: 'ignore' as const, ...(budget > 0 ? { discountBudget: budget } : {}) };
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

// ---------------------------------------------------------------- the policies on a simulated day
const world = new QualityWorld(seed);
const day = world.period({ seed, from: '2026-06-01T08:00:00Z', hours, average });
const uplift = createUpliftScorer(upliftModel, (id) => world.margins.get(id));
const randomRng = createPrng(seed).fork('policy/random');
const every = -Number.MAX_VALUE;
const policies: Record<string, { scorer: CouponScorer; settings: ScoringSettings }> = {
  control: { scorer: { synchronous: true, score: (_c, coupons) => coupons.map(() => 0) }, settings: { ...TOP1, threshold: 1 } },
  random: { scorer: { synchronous: true, score: (_c, coupons) => coupons.map(() => randomRng.float()) }, settings: { ...TOP1, threshold: every } },
  highestDiscount: {
    scorer: { synchronous: true, score: (_c, coupons: readonly CouponInfo[]) => coupons.map((k) => Number(k.discount) / 100) },
    settings: { ...TOP1, threshold: every },
  },
  model: { scorer: model, settings: { ...TOP1, threshold } },
  uplift: { scorer: uplift, settings: { ...TOP1, threshold: 0, policy: 'uplift' } },
  // the oracle looks beyond the top five, so that no visit's earlier offers keep it from its next best
  oracle: { scorer: world.oracle(), settings: { ...TOP1, maxCoupons: 1_000_000, threshold: 0 } },
};
const figures: Record<string, ReturnType<QualityWorld['figures']>> = {};
for (const [name, p] of Object.entries(policies)) figures[name] = world.figures(world.decide(day, p.scorer, p.settings), day.visits);

// ---------------------------------------------------------------- off-policy evaluation of the uplift policy
function offPolicy(storeSeed: number, upliftFile: UpliftModelFile, redemption: LoadedCouponModel) {
  const w = storeSeed === seed ? world : new QualityWorld(storeSeed);
  const period = w.visits({ seed: storeSeed, from: '2026-06-01T08:00:00Z', visits: logVisits });
  const live = { maxCoupons: 5, couponValidity: 'check' as const };
  const logged = w.decide(period, redemption, { ...live, threshold, explorationRate: 0.2 });
  const byInput = new Map<string, Decided>(logged.map((d) => [d.inputId, d]));
  const lines: LogLine[] = [];
  for (const e of period.inputs) {
    if (e.type === 'entry') lines.push({ type: 'entry', data: e.data as { id: string; ts: number } });
    const d = e.type === 'focus' && e.message_id ? byInput.get(e.message_id) : undefined;
    if (!d || d.dep < 0) continue;
    const data = {
      customer_id: d.customerId,
      ts: d.ts,
      dep: ['Men', 'Sport', 'Boys', 'Girls', 'Women'][d.dep],
      reason: d.reason,
      policy: d.policy,
      propensity: d.propensity,
      v: 2,
    };
    const coupon = d.couponId === undefined ? undefined : { id: d.couponId, department: data.dep };
    lines.push({ type: coupon ? 'prediction' : 'no_prediction', data: coupon ? { ...data, coupon } : data, margin: w.realised(d).margin });
  }
  if (storeSeed === seed && values['write-log']) writeFileSync(values['write-log'], `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const scorer = createUpliftScorer(upliftFile, (id) => w.margins.get(id));
  const result = evaluateLog(lines, {
    catalogue: w.catalogue,
    customers: w.customers,
    candidate: scorer,
    settings: { ...live, threshold: 0, policy: 'uplift' },
    reward: scorer,
    marginOf: (id) => w.margins.get(id) ?? 0,
  });
  let truth = 0;
  for (const c of result.choices) if (c.couponId !== undefined) truth += w.truth(c.customerId, c.dep, c.couponId).im;
  truth = r4(truth / result.visits);
  const out: Record<string, { estimate: number; truth: number; ciLow: number; ciHigh: number }> = {};
  for (const [k, e] of Object.entries(result.estimates)) out[k] = { ...e, truth };
  // the oracle on the log's own visits (three valid coupons a department): the scale of the estimates here
  const oracleOnLog = w.figures(w.decide(period, w.oracle(), { ...live, maxCoupons: 1_000_000, threshold: 0 }), period.visits).incrementalMarginPerVisit;
  return { visits: result.visits, focuses: result.focuses, oracleOnLog, estimators: out };
}
const ope = offPolicy(seed, upliftModel, model);
const coverage = values.coverage
  ? Array.from({ length: 10 }, (_, i) => {
      const dr = offPolicy(i + 1, upliftModel, model).estimators.dr;
      return { seed: i + 1, ...dr, covers: dr.ciLow <= dr.truth && dr.truth <= dr.ciHigh };
    })
  : undefined;

const o = figures.oracle.incrementalMarginPerVisit,
  h = figures.highestDiscount.incrementalMarginPerVisit,
  u = figures.uplift.incrementalMarginPerVisit;
const dr = ope.estimators.dr;
const targets = {
  upliftVsOracle: r4(o ? u / o : 0),
  upliftOverHalfGap: r4(u - (h + (o - h) / 2)),
  drError: r4(Math.abs(dr.estimate - dr.truth)),
  drErrorLimit: r4(0.1 * o),
  ...(coverage ? { drCoverage: coverage.filter((c) => c.covers).length } : {}),
};
const met =
  targets.upliftVsOracle >= 0.8 &&
  targets.upliftOverHalfGap >= 0 &&
  targets.drError <= targets.drErrorLimit &&
  (coverage ? coverage.filter((c) => c.covers).length >= 9 : true);
const result = {
  seed,
  model: `${model.model.kind} (trained on seed ${model.model.seed})`,
  visits: day.visits,
  focuses: day.focuses,
  ...(budget > 0 ? { budget } : {}),
  policies: figures,
  ope: {
    visits: ope.visits,
    focuses: ope.focuses,
    oracleIncrementalMarginPerVisit: ope.oracleOnLog,
    candidate: 'uplift',
    loggingPolicy: `model at ${threshold}, EXPLORATION_RATE 0.2`,
    ...ope.estimators,
  },
  ...(coverage ? { coverage } : {}),
  targets: { ...targets, met },
};

if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(
    `bench:quality — store seed ${seed} (model: ${result.model}), ${day.visits} visits over ${hours} h (average ${average} inside), ${day.focuses} focuses, COUPON_VALIDITY=ignore${budget > 0 ? `, DISCOUNT_BUDGET ${budget}` : ''}\n`,
  );
  console.log(row(['policy', 'incremental margin / visit', 'margin / visit', 'redemption rate', 'offers / visit']));
  console.log(row(['---', '---:', '---:', '---:', '---:']));
  for (const [name, f] of Object.entries(figures))
    console.log(
      row([
        name === 'model' ? `model (threshold ${threshold})` : name,
        f.incrementalMarginPerVisit.toFixed(3),
        f.marginPerVisit.toFixed(3),
        pct(f.redemptionRate),
        f.offersPerVisit.toFixed(2),
      ]),
    );
  console.log(
    `\noff-policy estimates of the uplift policy from ${ope.visits} logged visits (${ope.focuses} focuses; ${result.ope.loggingPolicy}; COUPON_VALIDITY=check; the oracle there: ${ope.oracleOnLog.toFixed(3)} per visit):\n`,
  );
  console.log(row(['estimator', 'estimate', '95 % interval', 'truth']));
  console.log(row(['---', '---:', '---:', '---:']));
  for (const [k, e] of Object.entries(ope.estimators))
    console.log(row([k, e.estimate.toFixed(3), `${e.ciLow.toFixed(3)} … ${e.ciHigh.toFixed(3)}`, e.truth.toFixed(3)]));
  if (coverage)
    console.log(
      `\ndoubly robust, store seeds 1–10: the interval covers the truth for ${targets.drCoverage} of 10 (${coverage.map((c) => `${c.seed}: ${c.estimate.toFixed(3)} vs ${c.truth.toFixed(3)}`).join(', ')})`,
    );
  console.log(
    `\nuplift: ${pct(targets.upliftVsOracle)} of the oracle (target ≥ 80 %), ${targets.upliftOverHalfGap.toFixed(3)} above highest discount + half the gap to the oracle (target ≥ 0); doubly robust off by ${targets.drError.toFixed(3)} (target ≤ ${targets.drErrorLimit.toFixed(3)}): ${met ? 'met' : 'NOT met'}`,
  );
}
