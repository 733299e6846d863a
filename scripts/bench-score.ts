/**
 * `npm run bench:score`: throughput of the in-process scorer (actors/recommender/coupon-scorer.ts) in
 * customer × coupon pairs per second, against a baseline measured in the same run over feature
 * vectors built beforehand (the least work any scorer of this model must do): for a logistic
 * regression a plain 24-weight dot product + sigmoid, for boosted trees each tree walked level by
 * level + sigmoid. Two call shapes: 3 coupons per call (a focus: the department's
 * valid coupons) and 300 per call. Medians of 7 rounds. MODEL_FILE scores another model file.
 */
import { cli } from './cli.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { FEATURE_COUNT, featureVector } from '../actors/recommender/coupon-features.ts';
import { JSON_OPTION, printBenchJson, type BenchRow } from './bench-report.ts';

const { values } = cli({
  usage: 'npm run bench:score -- [--json]',
  summary: 'In-process coupon scoring throughput (customer × coupon pairs/s), 3 and 300 coupons per call, against a baseline over prebuilt feature vectors.',
  options: JSON_OPTION,
  more: 'environment: MODEL_FILE (another model file)',
});
const store = generateStore({ customers: 200 });
const scorer = loadCouponModel(process.env.MODEL_FILE || undefined); // MODEL_FILE: another model file, as the service takes it
const { customers, coupons } = store;
const m = scorer.model;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let sink = 0;

function measure(perCall: number): { scorer: number; baseline: number } {
  const calls = Math.max(1, Math.floor(2_000_000 / perCall));
  const batches = Array.from({ length: 64 }, (_, i) => coupons.slice((i * 37) % (coupons.length - perCall), ((i * 37) % (coupons.length - perCall)) + perCall));
  // baseline input: the same pairs as prebuilt (for the regression, standardised) vectors
  const vectors = batches.map((b) =>
    b.map((c) => {
      const v = featureVector(customers[0], c);
      if (m.kind === 'logistic-regression')
        for (let f = 0; f < FEATURE_COUNT; f++) v[f] = ((m.transform[f] === 'log1p' ? Math.log1p(v[f]) : v[f]) - m.mean[f]) / m.std[f];
      return v;
    }),
  );
  const w = m.kind === 'logistic-regression' ? Float64Array.from(m.weights) : new Float64Array(0);
  const trees = m.kind === 'gradient-boosted-trees' ? m.trees : [];
  const walk = (v: Float64Array) => {
    let z = m.bias;
    for (const t of trees) {
      let i = 0;
      for (let l = 0; l < t.features.length; l++) i = i * 2 + (v[t.features[l]] > t.thresholds[l] ? 1 : 0);
      z += t.leaves[i];
    }
    return z;
  };
  const rounds = { scorer: [] as number[], baseline: [] as number[] };
  for (let round = 0; round < 8; round++) {
    let t = performance.now();
    for (let i = 0; i < calls; i++) {
      const s = scorer.score(customers[i % customers.length], batches[i & 63]);
      sink += s[0];
    }
    const scorerRate = (calls * perCall) / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < calls; i++) {
      const vs = vectors[i & 63];
      const out = new Array<number>(perCall);
      if (w.length) {
        // the regression's loop as it always was (the ratio stays comparable with earlier runs)
        for (let k = 0; k < perCall; k++) {
          const v = vs[k];
          let z = m.bias;
          for (let f = 0; f < FEATURE_COUNT; f++) z += w[f] * v[f];
          out[k] = 1 / (1 + Math.exp(-z));
        }
      } else for (let k = 0; k < perCall; k++) out[k] = 1 / (1 + Math.exp(-walk(vs[k])));
      sink += out[0];
    }
    const baselineRate = (calls * perCall) / ((performance.now() - t) / 1000);
    if (round > 0) {
      rounds.scorer.push(scorerRate);
      rounds.baseline.push(baselineRate);
    } // round 0 warms up
  }
  return { scorer: median(rounds.scorer), baseline: median(rounds.baseline) };
}

const fmt = (x: number) => `${(x / 1e6).toFixed(1)} M pairs/s`;
const rows: BenchRow[] = [];
for (const perCall of [3, 300]) {
  const r = measure(perCall);
  rows.push({
    figure: `scoring, ${perCall} coupons per call`,
    value: Math.round(r.scorer / 1e5) / 10,
    unit: 'M pairs/s',
    baseline: { what: `prebuilt vectors, ${m.kind === 'logistic-regression' ? 'dot product' : 'trees walked'}`, value: Math.round(r.baseline / 1e5) / 10 },
    ratio: r.scorer / r.baseline,
    target: '≥ 1 M pairs/s',
    met: r.scorer >= 1e6,
  });
  console.log(
    `${String(perCall).padStart(3)} coupons per call: scorer ${fmt(r.scorer)}, baseline (prebuilt vectors, ${m.kind === 'logistic-regression' ? 'dot product' : 'trees walked'}) ${fmt(r.baseline)}, ratio ${(r.scorer / r.baseline).toFixed(2)} (target ≥ 1 M pairs/s: ${r.scorer >= 1e6 ? 'met' : 'NOT met'})`,
  );
}
if (sink === 42) console.log('');
if (values.json) printBenchJson({ bench: 'score', setting: `${m.kind}, medians of 7 rounds`, rows });
