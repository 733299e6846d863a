/**
 * A focus's decision as one function (actors/recommender/decide-focus.ts), without a session or an actor: a small
 * catalogue, one customer, a scorer with fixed scores, and the whole decision for each case.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideFocus, type FocusDeciding } from '../actors/recommender/decide-focus.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { DiscountBudget, dayOf } from '../actors/recommender/discount-budget.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../actors/data/store-data.ts';
import type { Department } from '../schemas/departments.ts';

const coupon = (id: number, department: Department, discount: number, start: string, end: string): CouponInfo => ({
  coupon_id: id,
  coupon_type: 'just_discount',
  department,
  discount,
  how_many_products_required: 1,
  start_date: start,
  end_date: end,
  product_mean_price: 20,
  products_available: 3,
});
const catalogue = new CouponCatalogue(
  [
    coupon(1, 'Men', 10, '2025-01-01', '2025-12-31'),
    coupon(2, 'Men', 30, '2025-01-01', '2025-12-31'),
    coupon(3, 'Men', 5, '2024-01-01', '2024-12-31'),
    coupon(4, 'Women', 5, '2024-01-01', '2024-12-31'),
  ],
  [],
  [],
);
const CUSTOMER: CustomerInfo = {
  customer_id: 7,
  gender: 'F',
  age: 40,
  mean_buy_price: 10,
  total_coupons_used: 5,
  mean_discount_received: 10,
  unique_products_bought: 50,
  unique_products_bought_with_coupons: 5,
  total_items_bought: 60,
};
const SCORES: Record<number, number> = { 1: 0.6, 2: 0.9, 3: 0.95, 4: 0.5 };
/** The in-process kind of scorer: plain numbers, by coupon id. */
const fixed: CouponScorer = { synchronous: true, score: (_c, coupons) => coupons.map((c) => SCORES[c.coupon_id]) };
const settings = { maxCoupons: 5, threshold: 0.2, couponValidity: 'check' as const, discountBudget: 35 };
const JUNE_1 = Date.UTC(2025, 5, 1, 10) / 1000;
const focus = (inputId: string, dep: Department, ts = JUNE_1) => ({ inputId, ts, dep });

test('the best valid coupon not yet offered, held to the day’s discount budget; the next day has its own', () => {
  const budget = new DiscountBudget();
  const d: FocusDeciding = { catalogue, scorer: fixed, settings, budget };
  assert.equal(
    [
      decideFocus(d, { customer: CUSTOMER, focus: focus('f1', 'Men'), offered: [] }),
      // coupon 2 offered: coupon 1 is next, but 30 + 10 overruns the day's 35
      decideFocus(d, { customer: CUSTOMER, focus: focus('f2', 'Men'), offered: [2] }),
      decideFocus(d, { customer: CUSTOMER, focus: focus('f3', 'Men', JUNE_1 + 86_400), offered: [2] }),
      decideFocus(d, { customer: CUSTOMER, focus: focus('f4', 'Men', JUNE_1 + 86_400), offered: [2, 1] }),
      decideFocus(d, { customer: CUSTOMER, focus: focus('f5', 'Women'), offered: [] }),
      decideFocus(d, { customer: CUSTOMER, focus: focus('f6', 'Sport'), offered: [] }),
    ],
    [
      { couponId: 2, score: 0.9, policy: 'model', propensity: 1 },
      { reason: 'discount_budget', policy: 'model', propensity: 1 },
      { couponId: 1, score: 0.6, policy: 'model', propensity: 1 },
      { reason: 'all_offered', policy: 'model', propensity: 1 },
      { reason: 'no_valid_coupons' },
      { reason: 'no_coupons' },
    ],
  );
  assert.equal([budget.spentOn(dayOf(JUNE_1)), budget.spentOn(dayOf(JUNE_1) + 1)], [30, 10]);
});

test('a recalled decision is given back as logged: nothing scored, nothing counted against the budget', () => {
  const budget = new DiscountBudget();
  const scorer: CouponScorer = {
    synchronous: true,
    score: () => {
      throw new Error('not to be scored');
    },
  };
  const recalled = { couponId: 1, score: 0.6, policy: 'model' as const, propensity: 1 };
  assert.equal(decideFocus({ catalogue, scorer, settings, budget, recalled }, { customer: CUSTOMER, focus: focus('f1', 'Men'), offered: [] }), recalled);
  assert.is(budget.spentOn(dayOf(JUNE_1)), 0);
});

test('a scorer that throws, or rejects, is scorer_failed, and said so', async () => {
  const failures: string[] = [];
  const failed = (err: unknown) => failures.push((err as Error).message);
  const throwing: CouponScorer = {
    score: () => {
      throw new Error('model broken');
    },
  };
  const rejecting: CouponScorer = { score: () => Promise.reject(new Error('scorer down')) };
  const remote: CouponScorer = { score: (_c, coupons) => Promise.resolve(coupons.map((c) => SCORES[c.coupon_id])) };
  const input = { customer: CUSTOMER, focus: focus('f1', 'Men'), offered: [] };
  const base = { catalogue, settings, budget: new DiscountBudget(), failed };
  assert.equal(decideFocus({ ...base, scorer: throwing }, input), { reason: 'scorer_failed' });
  assert.equal(await decideFocus({ ...base, scorer: rejecting }, input), { reason: 'scorer_failed' });
  assert.equal(await decideFocus({ ...base, scorer: remote }, input), { couponId: 2, score: 0.9, policy: 'model', propensity: 1 });
  assert.equal(failures, ['model broken', 'scorer down']);
});

test.run();
