/**
 * bench:quality's policies on a small store (adapters/simulator/quality-world.ts): without a budget no policy
 * earns more expected incremental margin than the oracle, which maximises the simulator's own; control earns none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QualityWorld } from '../adapters/simulator/quality-world.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { createUpliftScorer, loadUpliftModel } from '../actors/recommender/uplift-model.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import type { CouponScorer } from '../actors/data/store-data.ts';
import type { ScoringSettings } from '../actors/recommender/score-focus.ts';

test('no policy beats the oracle; control offers nothing and earns nothing more', () => {
  const world = new QualityWorld(77, 120);
  const period = world.visits({ seed: 77, from: '2026-06-01T08:00:00Z', visits: 400 });
  const rng = createPrng(77).fork('random');
  const top1 = { maxCoupons: 5, couponValidity: 'ignore' as const };
  const policies: Record<string, [CouponScorer, ScoringSettings]> = {
    control: [
      { synchronous: true, score: (_c, ks) => ks.map(() => 0) },
      { ...top1, threshold: 1 },
    ],
    random: [
      { synchronous: true, score: (_c, ks) => ks.map(() => rng.float()) },
      { ...top1, threshold: -1 },
    ],
    highestDiscount: [
      { synchronous: true, score: (_c, ks) => ks.map((k) => k.discount / 100) },
      { ...top1, threshold: -1 },
    ],
    model: [loadCouponModel(), { ...top1, threshold: 0.2 }],
    modelAtEveryFocus: [loadCouponModel(), { ...top1, threshold: 0 }],
    uplift: [createUpliftScorer(loadUpliftModel(), (id) => world.margins.get(id)), { ...top1, threshold: 0, policy: 'uplift' }],
    upliftExploring: [createUpliftScorer(loadUpliftModel(), (id) => world.margins.get(id)), { ...top1, threshold: 0, policy: 'uplift', explorationRate: 0.3 }],
  };
  const oracle = world.figures(world.decide(period, world.oracle(), { ...top1, maxCoupons: 1_000_000, threshold: 0 }), period.visits);
  assert.ok(oracle.incrementalMarginPerVisit > 0);
  for (const [name, [scorer, settings]] of Object.entries(policies)) {
    const f = world.figures(world.decide(period, scorer, settings), period.visits);
    assert.ok(
      f.incrementalMarginPerVisit <= oracle.incrementalMarginPerVisit,
      `${name}: ${f.incrementalMarginPerVisit} > the oracle's ${oracle.incrementalMarginPerVisit}`,
    );
    if (name !== 'control') continue;
    assert.equal([f.incrementalMarginPerVisit, f.offersPerVisit], [0, 0]);
    // what the shoppers buy without coupons: the oracle's margin less what it adds
    assert.ok(Math.abs(f.marginPerVisit - (oracle.marginPerVisit - oracle.incrementalMarginPerVisit)) < 2e-4);
  }
});

test.run();
