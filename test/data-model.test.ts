/**
 * The coupon model: deterministic training, the committed model file (loads, and `npm run train`'s
 * computation reproduces it exactly), metrics computed right, and the fast scorer agreeing with a
 * direct computation over the 24 features.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStore } from '../actors/data/store-generator.ts';
import { evaluate, trainCouponModel, type CouponModelFile } from '../actors/recommender/coupon-model.ts';
import { DEFAULT_MODEL_FILE, createCouponScorer, loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { FEATURE_COUNT, FEATURE_NAMES, featureVector } from '../actors/recommender/coupon-features.ts';

const tmp = mkdtempSync(join(tmpdir(), 'storeflow-model-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const small = { customers: 150, products: 400, days: 365 };

test('training is deterministic: same seed, same JSON; another seed, other weights', () => {
  const a = JSON.stringify(trainCouponModel(generateStore({ ...small, seed: 9 })));
  const b = JSON.stringify(trainCouponModel(generateStore({ ...small, seed: 9 })));
  assert.ok(a === b);
  const c = trainCouponModel(generateStore({ ...small, seed: 10 }));
  assert.not.equal(c.weights, JSON.parse(a).weights);
  const m = JSON.parse(a) as CouponModelFile;
  assert.equal(m.features, [...FEATURE_NAMES]);
  assert.is(m.weights.length, 24);
  assert.ok(m.metrics.heldOut.rows > 0 && m.metrics.heldOut.prAuc > m.metrics.heldOut.positiveRate, 'better than chance on held-out customers');
});

test('the committed model loads, is informative, and is exactly what training the default store gives', () => {
  const scorer = loadCouponModel();
  const m = scorer.model;
  assert.is(m.seed, 42);
  const h = m.metrics.heldOut;
  assert.ok(h.positiveRate > 0.085 && h.positiveRate < 0.105, `positive rate ${h.positiveRate}`);
  // issue 23's target on the generated data (the hidden preferences state its signal); the original reached 0.40 / 0.365
  assert.ok(h.prAuc >= 0.5, `held-out PR-AUC ${h.prAuc}: issue 23's target is ≥ 0.5`);
  assert.ok(h.bestF1 > 0.365, `held-out F1 ${h.bestF1} at best: the original's was 0.365`);
  assert.ok(h.shareAbove02 > 0.1, `a fair share of pairs clear PREDICTION_THRESHOLD 0.2: ${h.shareAbove02}`);
  const retrained = trainCouponModel(generateStore(m.store));
  assert.is(
    `${JSON.stringify(retrained, null, 2)}\n`,
    readFileSync(DEFAULT_MODEL_FILE, 'utf8'),
    'run `npm run train` and commit actors/recommender/coupon-model.json',
  );
});

test('a bad model file is refused with a clear message', () => {
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{"format": "other"}');
  assert.throws(() => loadCouponModel(bad), /not a storeflow coupon model/);
  writeFileSync(bad, '{not json');
  assert.throws(() => loadCouponModel(bad), /cannot read the coupon model/);
  const m = JSON.parse(readFileSync(DEFAULT_MODEL_FILE, 'utf8'));
  m.features = [...m.features].reverse();
  writeFileSync(bad, JSON.stringify(m));
  assert.throws(() => loadCouponModel(bad), /feature order/);
});

test('the scorer equals the direct computation over the 24 features, for every coupon type and edge values', () => {
  const scorer = loadCouponModel();
  assert.is(scorer.model.kind, 'logistic-regression', 'the committed model is the logistic regression (issue 23: the boosted trees did not earn their place)');
  const m = scorer.model as CouponModelFile;
  const store = generateStore({ ...small, seed: 4 });
  const direct = (cu: (typeof store.customers)[number], co: (typeof store.coupons)[number]) => {
    const x = featureVector(cu, co);
    let z = m.bias;
    for (let f = 0; f < FEATURE_COUNT; f++) z += (m.weights[f] * ((m.transform[f] === 'log1p' ? Math.log1p(x[f]) : x[f]) - m.mean[f])) / m.std[f];
    return 1 / (1 + Math.exp(-z));
  };
  const customers = [
    ...store.customers.slice(0, 40),
    { ...store.customers[0], total_items_bought: 0, total_coupons_used: 0, mean_buy_price: 0, age: 30 },
    { ...store.customers[1], age: 60, gender: 'F' },
  ];
  const coupons = [...store.coupons, { ...store.coupons[0], coupon_type: 'department' as const, how_many_products_required: -1 }];
  let above = 0;
  for (const cu of customers) {
    const got = scorer.score(cu, coupons);
    assert.is(got.length, coupons.length);
    got.forEach((s, i) => {
      assert.ok(Math.abs(s - direct(cu, coupons[i])) < 1e-12, `customer ${cu.customer_id} coupon ${coupons[i].coupon_id}`);
      if (s > 0.2) above++;
    });
    assert.is(scorer.scoreOne(cu, coupons[3]), got[3]);
  }
  assert.ok(above > 0);
  assert.equal(scorer.score(customers[0], []), []);
  // values from the database arrive as numbers or numeric strings alike
  const asStrings = Object.fromEntries(
    Object.entries(store.customers[0]).map(([k, v]) => [k, k === 'gender' ? v : String(v)]),
  ) as unknown as (typeof store.customers)[0];
  assert.equal(scorer.score(asStrings, coupons.slice(0, 5)), scorer.score(store.customers[0], coupons.slice(0, 5)));
});

test('a scorer from a model document ranks by its weights (discount up → score up)', () => {
  const m = JSON.parse(readFileSync(DEFAULT_MODEL_FILE, 'utf8'));
  const scorer = createCouponScorer(m);
  const store = generateStore({ ...small, seed: 4 });
  const c = must(
    store.coupons.find((k) => k.coupon_type === 'just_discount'),
    'a just_discount coupon',
  );
  const [low, high] = scorer.score(store.customers[0], [
    { ...c, discount: 5 },
    { ...c, discount: 30 },
  ]);
  assert.ok(m.weights[FEATURE_NAMES.indexOf('discount')] > 0 ? high > low : high < low);
});

test('evaluate: PR-AUC, F1 and threshold figures on a known case', () => {
  const r = evaluate(Float64Array.from([0.9, 0.8, 0.3, 0.1]), Uint8Array.from([1, 0, 1, 0]));
  // ranks: P@1 = 1 (recall .5), P@3 = 2/3 (recall 1) → AP = .5·1 + .5·2/3
  assert.is(r.prAuc, Math.round((0.5 + 1 / 3) * 1e4) / 1e4);
  assert.is(r.positiveRate, 0.5);
  assert.is(r.bestF1, 0.8); // at 0.3: precision 2/3, recall 1
  assert.is(r.bestThreshold, 0.3);
  assert.is(r.f1At02, 0.8);
  assert.is(r.shareAbove02, 0.75);
});

test.run();
