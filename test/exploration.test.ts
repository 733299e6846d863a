/**
 * Exploration with logged propensities (actors/recommender/exploration.ts), the estimators of off-policy evaluation
 * (actors/recommender/off-policy.ts), and older decision records read as the model's, with probability 1.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { explore } from '../actors/recommender/exploration.ts';
import { offPolicyEstimates, type EvaluatedFocus } from '../actors/recommender/off-policy.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import type { CatalogueEntry } from '../actors/recommender/coupon-catalogue.ts';
import { decisionResult } from '../adapters/recommender/decision-record.ts';
import { upcast } from '../actors/kernel/upcasters.ts';

const entries = [1, 2, 3, 4].map((id) => ({ coupon: { coupon_id: id } }) as CatalogueEntry);
const scores = [0.9, 0.5, 0.3, 0.1];

test('EXPLORATION_RATE 0: the policy decides, with probability 1', () => {
  assert.equal(explore({ couponId: 1, score: 0.9 }, entries, scores, [], { inputId: 'a', rate: 0, policy: 'model' }), {
    couponId: 1,
    score: 0.9,
    policy: 'model',
    propensity: 1,
  });
  assert.equal(explore({ reason: 'below_threshold' }, entries, scores, [], { inputId: 'a', rate: 0, policy: 'uplift' }), {
    reason: 'below_threshold',
    policy: 'uplift',
    propensity: 1,
  });
});

test('explored focuses: half held out, half a random eligible coupon; every choice with its probability; the input id repeats it', () => {
  const counts = new Map<string, number>();
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const d = explore({ couponId: 1, score: 0.9 }, entries, scores, [2], { inputId: `focus-${i}`, rate: 0.2, policy: 'model' });
    const key = `${'couponId' in d ? d.couponId : d.reason} ${d.policy} ${d.propensity}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // three eligible coupons (2 was offered already): 1 is the policy's
  const p1 = 0.8 + 0.1 / 3,
    pOther = 0.1 / 3;
  const share = (k: string) => (counts.get(k) ?? 0) / n;
  assert.equal([...counts.keys()].sort(), [
    `1 exploration ${Math.round(p1 * 1e9) / 1e9}`,
    `1 model ${Math.round(p1 * 1e9) / 1e9}`,
    `3 exploration ${Math.round(pOther * 1e9) / 1e9}`,
    `4 exploration ${Math.round(pOther * 1e9) / 1e9}`,
    'holdout exploration 0.1',
  ]);
  assert.ok(Math.abs(share('holdout exploration 0.1') - 0.1) < 0.01);
  assert.ok(Math.abs(share(`3 exploration ${Math.round(pOther * 1e9) / 1e9}`) - pOther) < 0.01);
  const again = (id: string) => explore({ couponId: 1, score: 0.9 }, entries, scores, [], { inputId: id, rate: 0.5, policy: 'model' });
  for (let i = 0; i < 50; i++) assert.equal(again(`x${i}`), again(`x${i}`));
});

test('a record without a version is the model’s, chosen with probability 1; a version-2 record is read as it is', () => {
  const v1 = { customer_id: '7', ts: 5, score: 0.4, coupon: { id: 3 } };
  const read = (data: unknown, version = 1) => upcast('prediction', 'customer-7', version, data);
  assert.equal(read(v1), { ...v1, v: 2, policy: 'model', propensity: 1 });
  const v2 = { ...v1, v: 2, policy: 'exploration', propensity: 0.05 };
  // as the log stores it (version 2), and as a row or export line of issue 34 written before versions were stored (1)
  assert.is(read(v2, 2), v2);
  assert.is(read(v2), v2);
  assert.equal(decisionResult({ type: 'prediction', data: read(v1) }), { couponId: 3, score: 0.4, policy: 'model', propensity: 1 });
  assert.equal(decisionResult({ type: 'no_prediction', data: { ...v1, reason: 'holdout', v: 2, policy: 'exploration', propensity: 0.1 } }), {
    reason: 'holdout',
    policy: 'exploration',
    propensity: 0.1,
  });
});

test('IPS, self-normalised IPS and doubly robust recover a known incremental margin from an explored log', () => {
  // every focus: nothing is worth 1 on average, coupon 7 worth 3 (incremental 2); the logger offers 7 with probability 0.3
  const rng = createPrng(5);
  const focuses: EvaluatedFocus[] = [];
  for (let i = 0; i < 40_000; i++) {
    const offered = rng.float() < 0.3;
    const reward = (offered ? 3 : 1) + rng.gaussian(0, 1);
    focuses.push({
      logged: offered ? 7 : undefined,
      propensity: offered ? 0.3 : 0.7,
      reward,
      candidate: 7,
      predicted: { candidate: 2.5, nothing: 1.2, logged: offered ? 2.5 : 1.2 },
    });
  }
  const visits = 20_000; // two focuses a visit: the truth is 4 per visit
  const e = offPolicyEstimates(focuses, visits);
  for (const [name, x] of Object.entries(e)) {
    // a 95 % interval misses one time in twenty (40 seeds of this log: IPS 35, SNIPS 37, DR 37 covered): twice its width never should
    assert.ok(Math.abs(x.estimate - 4) <= x.ciHigh - x.ciLow, `${name} ${JSON.stringify(x)}`);
    assert.ok(Math.abs(x.estimate - 4) < 0.15, `${name} ${x.estimate}`);
  }
  // a candidate that offers nothing is worth nothing, by every estimator
  const none = offPolicyEstimates(
    focuses.map((f) => ({ ...f, candidate: undefined })),
    visits,
  );
  assert.equal(
    Object.values(none).map((x) => x.estimate),
    [0, 0, 0],
  );
});

test.run();
