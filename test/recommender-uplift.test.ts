/**
 * POLICY=uplift and EXPLORATION_RATE live (issue 34): the recommender starts with the committed uplift model, logs the
 * policy and its threshold (MIN_EXPECTED_MARGIN) in its start record, and every decision says who chose it and with
 * what probability.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { startTestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';

test('POLICY=uplift with EXPLORATION_RATE 0.5: the start record names them; decisions carry v 2, policy and propensity', async () => {
  const app = await startTestApp({ ROLES: 'recommender', POLICY: 'uplift', MIN_EXPECTED_MARGIN: '-1000', EXPLORATION_RATE: '0.5', COUPON_VALIDITY: 'ignore' });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const started = (await app.eventLog.read({ streamId: 'process' }))
      .filter((e) => e.type === 'recommender_started')
      .map((e) => (e.data as { settings: object }).settings);
    assert.equal(started, [{ maxCoupons: 5, threshold: -1000, couponValidity: 'ignore', idleTimeoutS: 7200, policy: 'uplift', explorationRate: 0.5 }]);
    for (let i = 0; i < 6; i++) await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: 1_780_000_000 + 60 * i, dep: 'Men' } });
    const decisions = (await app.eventLog.read({ streamId: 'customer-1' }))
      .filter((e) => e.type === 'prediction' || e.type === 'no_prediction')
      .map((e) => e.data as { v: number; policy: string; propensity: number });
    assert.is(decisions.length, 6);
    for (const d of decisions) {
      assert.is(d.v, 2);
      assert.ok(['uplift', 'exploration'].includes(d.policy), d.policy);
      assert.ok(d.propensity > 0 && d.propensity <= 1, String(d.propensity));
    }
  } finally {
    await app.close();
  }
});

test.run();
