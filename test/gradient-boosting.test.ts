/**
 * The gradient-boosted trees (actors/recommender/gradient-boosting.ts), the model issue 23 compared with the
 * logistic regression: deterministic training, the file format (`npm run train -- --kind boosted`)
 * loaded by the service's scorer, and the fast scorer equal to walking every tree.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStore } from '../actors/data/store-generator.ts';
import { trainBoostedModel } from '../actors/recommender/gradient-boosting.ts';
import type { BoostedModelFile } from '../actors/recommender/boosted-scorer.ts';
import { formatModelFile, loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { featureVector } from '../actors/recommender/coupon-features.ts';

const tmp = mkdtempSync(join(tmpdir(), 'storeflow-boosted-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const small = { customers: 150, products: 400, days: 365 };
const opts = { trees: 12, depth: 4 };

let model: BoostedModelFile;
test.before(() => {
  model = trainBoostedModel(generateStore({ ...small, seed: 9 }), opts);
});

test('training is deterministic: same seed, same file; the trees have the asked shape; better than chance', () => {
  const again = trainBoostedModel(generateStore({ ...small, seed: 9 }), opts);
  assert.ok(formatModelFile(again) === formatModelFile(model));
  assert.is(model.kind, 'gradient-boosted-trees');
  assert.is(model.trees.length, 12);
  assert.ok(model.trees.every((t) => t.features.length === 4 && t.thresholds.length === 4 && t.leaves.length === 16));
  const h = model.metrics.heldOut;
  assert.ok(h.rows > 0 && h.prAuc > h.positiveRate, `PR-AUC ${h.prAuc} over a positive rate of ${h.positiveRate}`);
  const other = trainBoostedModel(generateStore({ ...small, seed: 10 }), opts);
  assert.not.equal(other.trees, model.trees);
});

test('the file has one line per tree and loads as the service loads a model; the scorer equals walking the trees', () => {
  const text = formatModelFile(model);
  assert.is(text.split('\n').filter((l) => /^ {4}\{"features":\[/.test(l)).length, 12, 'one line per tree');
  const file = join(tmp, 'boosted.json');
  writeFileSync(file, text);
  const scorer = loadCouponModel(file);
  assert.equal(JSON.parse(text), JSON.parse(JSON.stringify(model)));
  const walk = (x: Float64Array) => {
    let z = model.bias;
    for (const t of model.trees) {
      let i = 0;
      for (let l = 0; l < t.features.length; l++) i = i * 2 + (x[t.features[l]] > t.thresholds[l] ? 1 : 0);
      z += t.leaves[i];
    }
    return 1 / (1 + Math.exp(-z));
  };
  const store = generateStore({ ...small, seed: 4 });
  const coupons = [...store.coupons.slice(0, 200), { ...store.coupons[0], coupon_type: 'department' as const, how_many_products_required: -1 }];
  for (const cu of [...store.customers.slice(0, 25), { ...store.customers[0], total_items_bought: 0, total_coupons_used: 0, age: 60, gender: 'F' }]) {
    const got = scorer.score(cu, coupons);
    for (const [i, s] of got.entries())
      assert.ok(Math.abs(s - walk(featureVector(cu, coupons[i]))) < 1e-12, `customer ${cu.customer_id} coupon ${coupons[i].coupon_id}`);
    assert.is(scorer.scoreOne(cu, coupons[7]), got[7]);
  }
  assert.equal(scorer.score(store.customers[0], []), []);
});

test('a broken boosted file is refused with a clear message', () => {
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...model, trees: [{ features: [0, 1], thresholds: [1], leaves: [0, 0, 0, 0] }] }));
  assert.throws(() => loadCouponModel(bad), /tree 0/);
  writeFileSync(bad, JSON.stringify({ ...model, trees: [{ features: [99], thresholds: [1], leaves: [0, 0] }] }));
  assert.throws(() => loadCouponModel(bad), /feature indices/);
});

test.run();
