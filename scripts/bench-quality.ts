/**
 * `npm run bench:quality`: do shoppers use the coupons we pick? (issue 23)
 *
 * On a store generated from a seed the committed model was not trained on (default 4242; the model
 * was trained on 42), a simulated day (the simulator's shoppers, virtual time) goes through the
 * focus detector once; its focuses then go through the recommender's sessions (the replay path:
 * same machines and decision as live) once per policy, with COUPON_VALIDITY=ignore so a department
 * offers a real choice (~350 coupons, not three). Each offer is redeemed or not by the shopper's
 * hidden preferences (actors/simulator/redemption.ts: seeded by the offer, the same outcome for every
 * policy that makes the same offer). Policies:
 *   model            the in-process model (actors/recommender/coupon-model.json or --model), PREDICTION_THRESHOLD (--threshold, 0.2), top 5
 *   random           a random coupon of the department (not yet offered in the visit)
 *   highestDiscount  the highest discount (ties: the lower coupon id)
 *   oracle           the highest redemption probability by the hidden preferences
 * Figures per policy: offers per visit, redemption rate (redeemed / offered), its expectation (mean
 * probability of the offers made), redemptions per visit, revenue per visit (what redeeming shoppers
 * pay for the coupons' items) and revenue uplift (revenue per visit over the random policy's). Then
 * the model at other thresholds. Deterministic: the same arguments print the same bytes.
 *   npm run bench:quality -- [--json] [--seed N] [--model FILE] [--threshold X] [--hours H] [--average N] [--customers N]
 */
import { cli } from './cli.ts';
import { existsSync } from 'node:fs';
import { generateStore } from '../actors/data/store-generator.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { couponTraits, redemptionProbability, type CouponTraits } from '../actors/data/customer-preferences.ts';
import { basketValue, redeem } from '../actors/simulator/redemption.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../actors/data/store-data.ts';
import { simulateDay } from '../adapters/simulator/simulation.ts';
import { Replayer, type ExportedEvent } from '../adapters/process/replay.ts';
import { must } from '../actors/kernel/must.ts';

const { values, int, num, fail } = cli({
  usage: 'npm run bench:quality -- [--json] [--seed N] [--model FILE] [--threshold X] [--hours H] [--average N] [--customers N]',
  summary:
    'Do shoppers use the coupons we pick? A simulated day on a store the model was not trained on, through the detector and the sessions, once per policy (model, random, highest discount, oracle).',
  options: {
    json: { type: 'boolean', help: 'one JSON document instead of the tables' },
    seed: { type: 'string', arg: 'N', help: "the store's and the day's seed (default 4242; the model was trained on 42)" },
    model: { type: 'string', arg: 'FILE', help: 'the coupon model (default: the committed one)' },
    threshold: { type: 'string', arg: 'X', help: 'PREDICTION_THRESHOLD of the model policy (default 0.2)' },
    hours: { type: 'string', arg: 'H', help: 'hours of the simulated day (default 10)' },
    average: { type: 'string', arg: 'N', help: 'shoppers in the store on average (default 20)' },
    customers: { type: 'string', arg: 'N', help: 'customers of the generated store (default 1000)' },
  },
});
const seed = int('seed', 4242),
  threshold = num('threshold', 0.2, { min: 0, max: 1 }),
  hours = num('hours', 10, { min: 0 }),
  average = num('average', 20, { min: 0 }),
  customerCount = int('customers', 1000, { min: 1 });
if (values.model !== undefined && !existsSync(values.model)) fail(`no such model file: ${values.model}`);
const MAX_COUPONS = 5,
  SETTINGS = { maxCoupons: MAX_COUPONS, couponValidity: 'ignore' as const, idleTimeoutS: 7200 };

// ---------------------------------------------------------------- the store, its truth, the day
const store = generateStore({ seed, customers: customerCount });
const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
const customers = new Map(store.customers.map((c) => [c.customer_id, c]));
const prefsById = new Map(store.customers.map((c, i) => [c.customer_id, store.preferences[i]]));
const product = new Map(store.products.map((p) => [p.product_id, p]));
const productsOf = new Map<number, number[]>();
for (const l of store.couponProducts) productsOf.set(l.coupon_id, [...(productsOf.get(l.coupon_id) ?? []), l.product_id]);
const traits = new Map<number, CouponTraits>(),
  basket = new Map<number, number>();
for (const c of store.coupons) {
  const ps = (productsOf.get(c.coupon_id) ?? []).map((id) => must(product.get(id), `product ${id}`));
  traits.set(
    c.coupon_id,
    couponTraits(
      c,
      ps.map((p) => p.category),
    ),
  );
  basket.set(
    c.coupon_id,
    basketValue(
      c,
      ps.map((p) => p.buy_price),
    ),
  );
}

const day = simulateDay({
  seed,
  from: '2026-06-01T08:00:00Z',
  hours,
  averageInStore: average,
  customers: store.customers.map((c) => ({ customerId: String(c.customer_id), gender: c.gender as 'F' | 'M', age: c.age })),
});

// the focus detector once: its focuses (policy-independent) are the recommender's inputs
const system = (type: string, settings: object, position: number): ExportedEvent => ({
  position,
  stream_id: 'process',
  version: position,
  type,
  data: { settings },
  metadata: { source: 'system' },
  message_id: null,
  recorded_at: '',
});
const input = (type: string, data: object, id: string, position: number): ExportedEvent => ({
  position,
  stream_id: `customer-${(data as { id: string }).id}`,
  version: 0,
  type,
  data,
  metadata: { source: 'mqtt' },
  message_id: id,
  recorded_at: '',
});

const detector = new Replayer({ catalogue, customers, scorer: { score: () => [] }, settings: { ...SETTINGS, threshold } });
detector.feedSync(system('detector_started', { focusMinMoves: 3, browsingMinMoves: 6 }, 1));
const sessionInputs: ExportedEvent[] = [];
let visits = 0,
  focuses = 0,
  seen = 0;
for (const [i, e] of day.events.entries()) {
  const ts = Math.floor(e.at / 1000);
  const data = e.kind === 'move' ? { id: e.id, ts, x: e.x, y: e.y } : { id: e.id, ts };
  const record = input(e.kind, data, `day-${i}`, i + 2);
  detector.feedSync(record);
  if (e.kind !== 'move') sessionInputs.push(record);
  if (e.kind === 'entry') visits++;
  if (detector.produced.size === seen) continue;
  for (const [id, o] of [...detector.produced].slice(seen)) {
    if (o.type !== 'focus') continue;
    focuses++;
    sessionInputs.push(input('focus', o.data as object, id, i + 2));
  }
  seen = detector.produced.size;
}
detector.stop();

// ---------------------------------------------------------------- policies
interface Figures {
  threshold: number;
  offers: number;
  offersPerVisit: number;
  redemptions: number;
  redemptionRate: number;
  expectedRedemptionRate: number;
  redemptionsPerVisit: number;
  revenuePerVisit: number;
  revenueUplift?: number;
}
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

function run(scorer: CouponScorer, policyThreshold: number): Figures {
  const r = new Replayer({ catalogue, customers, scorer, settings: { ...SETTINGS, threshold: policyThreshold } });
  r.feedSync(system('recommender_started', { ...SETTINGS, threshold: policyThreshold }, 1));
  for (const e of sessionInputs) if (r.feedSync(e)) throw new Error('bench:quality: a policy scored asynchronously');
  r.stop();
  let offers = 0,
    redemptions = 0,
    expected = 0,
    revenue = 0;
  for (const o of r.produced.values()) {
    if (o.type !== 'prediction') continue;
    const d = o.data as { customer_id: string; ts: number; coupon: { id: number } };
    const k = d.coupon.id;
    const out = redeem(seed, must(prefsById.get(Number(d.customer_id)), 'the customer'), must(traits.get(k), 'the coupon'), must(basket.get(k), 'the basket'), {
      customerId: d.customer_id,
      ts: d.ts,
      couponId: d.coupon.id,
    });
    offers++;
    expected += out.probability;
    if (out.redeemed) {
      redemptions++;
      revenue += out.revenue;
    }
  }
  return {
    threshold: policyThreshold,
    offers,
    offersPerVisit: r4(offers / visits),
    redemptions,
    redemptionRate: r4(offers ? redemptions / offers : 0),
    expectedRedemptionRate: r4(offers ? expected / offers : 0),
    redemptionsPerVisit: r4(redemptions / visits),
    revenuePerVisit: Math.round((revenue / visits) * 100) / 100,
  };
}

const model = loadCouponModel(values.model || undefined);
const randomRng = createPrng(seed).fork('policy/random');
const policyScorers: Record<string, { scorer: CouponScorer; threshold: number }> = {
  model: { scorer: model, threshold },
  // every other policy offers at every focus: threshold -1 lets any score through
  random: { scorer: { score: (_c: CustomerInfo, coupons: readonly CouponInfo[]) => coupons.map(() => randomRng.float()) }, threshold: -1 },
  highestDiscount: { scorer: { score: (_c: CustomerInfo, coupons: readonly CouponInfo[]) => coupons.map((k) => Number(k.discount) / 100) }, threshold: -1 },
  oracle: {
    scorer: {
      score: (c: CustomerInfo, coupons: readonly CouponInfo[]) => {
        const p = must(prefsById.get(Number(c.customer_id)), 'the customer');
        return coupons.map((k) => redemptionProbability(p, must(traits.get(k.coupon_id), 'the coupon')));
      },
    },
    threshold: -1,
  },
};
const policies: Record<string, Figures> = {};
for (const [name, p] of Object.entries(policyScorers)) policies[name] = run(p.scorer, p.threshold);
for (const f of Object.values(policies)) f.revenueUplift = r4(policies.random.revenuePerVisit ? f.revenuePerVisit / policies.random.revenuePerVisit : 0);
const sweep = [0, 0.1, 0.2, 0.3, 0.4, 0.5].map((t) => (t === threshold ? policies.model : run(model, t)));

const ratio = (a: number, b: number) => r4(b ? a / b : 0);
const targets = {
  modelVsRandom: ratio(policies.model.redemptionRate, policies.random.redemptionRate),
  modelVsOracle: ratio(policies.model.redemptionRate, policies.oracle.redemptionRate),
  everyFocusVsRandom: ratio(sweep[0].redemptionRate, policies.random.redemptionRate),
  everyFocusVsOracle: ratio(sweep[0].redemptionRate, policies.oracle.redemptionRate),
};
const result = {
  seed,
  model: `${model.model.kind} (trained on seed ${model.model.seed})`,
  visits,
  focuses,
  policies,
  thresholds: sweep.map(({ threshold: t, offersPerVisit, redemptionRate, redemptionsPerVisit, revenuePerVisit }) => ({
    threshold: t,
    offersPerVisit,
    redemptionRate,
    redemptionsPerVisit,
    revenuePerVisit,
  })),
  targets: { ...targets, met: targets.modelVsRandom >= 2 && targets.modelVsOracle >= 0.7 },
};

if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(
    `bench:quality — store seed ${seed} (model: ${result.model}), ${visits} visits over ${hours} h (average ${average} inside), ${focuses} focuses, COUPON_VALIDITY=ignore\n`,
  );
  console.log(row(['policy', 'offers / visit', 'redemption rate', 'expected rate', 'redemptions / visit', 'revenue / visit', 'revenue uplift']));
  console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const [name, f] of Object.entries(policies))
    console.log(
      row([
        name === 'model' ? `model (threshold ${threshold})` : name,
        f.offersPerVisit.toFixed(2),
        pct(f.redemptionRate),
        pct(f.expectedRedemptionRate),
        f.redemptionsPerVisit.toFixed(3),
        f.revenuePerVisit.toFixed(2),
        `${(f.revenueUplift ?? 0).toFixed(2)}×`,
      ]),
    );
  console.log(`\nthe model by threshold:\n`);
  console.log(row(['threshold', 'offers / visit', 'redemption rate', 'redemptions / visit', 'revenue / visit']));
  console.log(row(['---:', '---:', '---:', '---:', '---:']));
  for (const s of result.thresholds)
    console.log(row([String(s.threshold), s.offersPerVisit.toFixed(2), pct(s.redemptionRate), s.redemptionsPerVisit.toFixed(3), s.revenuePerVisit.toFixed(2)]));
  console.log(
    `\nmodel vs random ${targets.modelVsRandom.toFixed(2)}× (target ≥ 2), vs oracle ${pct(targets.modelVsOracle)} (target ≥ 70 %): ${result.targets.met ? 'met' : 'NOT met'}; offering at every focus (threshold 0): ${targets.everyFocusVsRandom.toFixed(2)}× random, ${pct(targets.everyFocusVsOracle)} of the oracle`,
  );
}
