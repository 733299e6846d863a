/**
 * DISCOUNT_BUDGET in bench:quality (issue 34): under a budget no policy's offers on a UTC day of event time add up
 * to more discount than the budget, the focuses it stops say `discount_budget`, and the oracle is still measured.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QualityWorld } from '../adapters/simulator/quality-world.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { createUpliftScorer, loadUpliftModel } from '../actors/recommender/uplift-model.ts';
import { dayOf } from '../actors/recommender/discount-budget.ts';
import type { CouponScorer } from '../actors/data/store-data.ts';
import type { ScoringSettings } from '../actors/recommender/score-focus.ts';

test('with a budget, no policy offers more discount on a day than the budget; the oracle comparison still runs', () => {
  const world = new QualityWorld(77, 120);
  // two days of event time, so the budget starts again on the second
  const period = world.visits({ seed: 77, from: '2026-06-01T23:00:00Z', visits: 400 });
  const budget = 500;
  const top1 = { maxCoupons: 5, couponValidity: 'ignore' as const, discountBudget: budget };
  const policies: Record<string, [CouponScorer, ScoringSettings]> = {
    highestDiscount: [
      { synchronous: true, score: (_c, ks) => ks.map((k) => k.discount / 100) },
      { ...top1, threshold: -1 },
    ],
    model: [loadCouponModel(), { ...top1, threshold: 0.2 }],
    uplift: [createUpliftScorer(loadUpliftModel(), (id) => world.margins.get(id)), { ...top1, threshold: 0, policy: 'uplift' }],
    exploring: [loadCouponModel(), { ...top1, threshold: 0.2, explorationRate: 0.3 }],
    oracle: [world.oracle(), { ...top1, maxCoupons: 1_000_000, threshold: 0 }],
  };
  for (const [name, [scorer, settings]] of Object.entries(policies)) {
    const decided = world.decide(period, scorer, settings);
    const spent = new Map<number, number>();
    for (const d of decided) {
      if (d.couponId === undefined) continue;
      const day = dayOf(d.ts);
      spent.set(day, (spent.get(day) ?? 0) + Number(world.catalogue.get(d.couponId)?.coupon.discount));
    }
    assert.ok(spent.size >= 2, `${name}: offers on ${spent.size} days`);
    for (const [day, s] of spent) assert.ok(s <= budget, `${name}: ${s} on day ${day} (budget ${budget})`);
    const stopped = decided.filter((d) => d.reason === 'discount_budget').length;
    assert.ok(stopped > 0, `${name}: the budget stopped no offer`);
    // every stopped focus would otherwise have been offered something: unbudgeted, the policy offers more
    const free = world.decide(period, scorer, { ...settings, discountBudget: 0 }).filter((d) => d.couponId !== undefined).length;
    assert.ok(free > decided.filter((d) => d.couponId !== undefined).length, name);
    assert.ok(Number.isFinite(world.figures(decided, period.visits).incrementalMarginPerVisit), name);
  }
});

test.run();
