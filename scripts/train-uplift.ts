/**
 * `npm run train:uplift`: trains the uplift policy (actors/recommender/uplift-model.ts) on a log, as a live store
 * would: the training store (seed 42, the redemption model's) gets visits (QualityWorld.visits) under the default policy (the
 * committed redemption model at PREDICTION_THRESHOLD 0.2) with EXPLORATION_RATE 0.2; the explored focuses (a
 * randomised holdout offered nothing, and random coupons) and what the shoppers did (redeemed, bought without a
 * coupon, the margin) are the training rows. Nothing reads the shoppers' hidden preferences. Same options, same bytes.
 *   npm run train:uplift -- [--seed N] [--visits N] [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cli } from './cli.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { DEFAULT_UPLIFT_MODEL_FILE, trainUpliftModel, type LoggedFocus } from '../actors/recommender/uplift-model.ts';
import { QualityWorld } from '../adapters/simulator/quality-world.ts';

const { values, int } = cli({
  usage: 'npm run train:uplift -- [--seed N] [--visits N] [--out FILE]',
  summary: "Trains the uplift policy on a simulated log's explored focuses (holdout and random coupons) and writes its JSON.",
  options: {
    seed: { type: 'string', arg: 'N', help: "the training store's seed (default 42, the redemption model's)" },
    visits: { type: 'string', arg: 'N', help: 'visits of the log (default 30000)' },
    out: { type: 'string', arg: 'FILE', help: 'where to write (default actors/recommender/uplift-model.json)' },
  },
});
const seed = int('seed', 42, { min: 0 }),
  visits = int('visits', 30_000, { min: 1 });
const out = resolve(values.out || DEFAULT_UPLIFT_MODEL_FILE);

const t = performance.now();
const world = new QualityWorld(seed);
const period = world.visits({ seed, from: '2026-03-02T08:00:00Z', visits });
const base = loadCouponModel();
const logged = world.decide(period, base, { maxCoupons: 5, threshold: 0.2, couponValidity: 'ignore', explorationRate: 0.2 });
const rows: LoggedFocus[] = [];
for (const d of logged) {
  if (d.policy !== 'exploration' || d.dep < 0) continue;
  const customer = world.customers.get(Number(d.customerId));
  if (!customer) continue;
  const { margin, redeemed } = world.realised(d);
  rows.push({ customer, dep: d.dep, coupon: d.couponId === undefined ? undefined : world.catalogue.get(d.couponId)?.coupon, redeemed, margin });
}
const model = trainUpliftModel(rows, base, { seed, visits: period.visits, focuses: period.focuses, explorationRate: 0.2 });
writeFileSync(out, `${JSON.stringify(model, null, 2)}\n`);
console.log(
  `${period.visits} visits, ${period.focuses} focuses on store seed ${seed}; trained on ${model.training.holdout} held-out focuses and ${model.training.offers} random offers (${model.training.redeemed} redeemed) in ${((performance.now() - t) / 1000).toFixed(1)} s\nwrote ${out}`,
);
