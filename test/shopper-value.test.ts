/**
 * The shopper's hidden world beyond redeeming (actors/simulator/shopper-value.ts, actors/data/product-margins.ts):
 * margins per product, a no-coupon purchase probability per department, and an offer's incremental margin, term by
 * term.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateStore } from '../actors/data/store-generator.ts';
import { DEPARTMENTS } from '../schemas/departments.ts';
import { DEFAULT_MARGIN_RATE, MARGIN_RATE_RANGE, couponMargin, marginRate, priced } from '../actors/data/product-margins.ts';
import { couponTraits, customerPreferences, redemptionProbability } from '../actors/data/customer-preferences.ts';
import {
  PURCHASE,
  departmentItemMargins,
  expectedIncrementalMargin,
  noCouponItemMargin,
  noCouponMargin,
  purchaseProbability,
  realisedMargin,
} from '../actors/simulator/shopper-value.ts';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

test('the generator writes a margin rate per product, from a stream of its own; a product without one counts at the default', () => {
  const store = generateStore({ seed: 21, customers: 20, products: 300, days: 60 });
  assert.is(store.marginRates.size, 300);
  assert.ok([...store.marginRates.values()].every((m) => m >= MARGIN_RATE_RANGE[0] && m < MARGIN_RATE_RANGE[1]));
  assert.equal(store.marginRates, generateStore({ seed: 21, customers: 20, products: 300, days: 60 }).marginRates);
  // the product rows keep the original's columns (their CSV bytes do not change)
  assert.equal(Object.keys(store.products[0]), ['product_id', 'name', 'category', 'sizes', 'vendor', 'description', 'buy_price', 'department']);
  assert.equal(priced(store.products[0], store.marginRates), { buy_price: store.products[0].buy_price, margin_rate: store.marginRates.get(1) });
  assert.is(marginRate(priced(store.products[0])), DEFAULT_MARGIN_RATE);
  assert.is(marginRate({ margin_rate: 0.5 }), 0.5);
});

test('no-coupon purchase probability, term by term, from the same hidden department weights', () => {
  const p = { ...customerPreferences(1, 1, 'F', 40), departmentWeights: [1, 2, 3, 1, 3], thrift: 0.8 };
  // mean weight 2: department 2 (weight 3) has ln(1.5)
  const logit = PURCHASE.base + PURCHASE.department * Math.log(1.5) + PURCHASE.thrift * (0.8 - 0.5);
  close(purchaseProbability(p, 2), 1 / (1 + Math.exp(-logit)), 'q');
  assert.ok(purchaseProbability(p, 2) > purchaseProbability(p, 0), 'a department the shopper favours is bought more');
  const itemMargins = [4, 5, 6, 7, 8];
  close(noCouponItemMargin(p, 2, itemMargins), 6 * (1.25 - 0.5 * 0.8), 'B');
  close(noCouponMargin(p, 2, itemMargins), purchaseProbability(p, 2) * 6 * 0.85, 'q × B');
});

test("a coupon's margin after the discount, per type", () => {
  const a = { buy_price: 10, margin_rate: 0.5 },
    b = { buy_price: 20 }; // no margin rate: the default
  const row = (coupon_type: 'just_discount' | 'buy_more' | 'buy_all' | 'department', discount: number, n = 1, mean = 15) => ({
    coupon_type,
    discount,
    how_many_products_required: n,
    product_mean_price: mean,
  });
  close(couponMargin(row('just_discount', 20), [a]), 10 * 0.3, 'just_discount');
  close(couponMargin(row('buy_more', 20, 3), [a]), 3 * 10 * 0.3, 'buy_more');
  close(couponMargin(row('buy_all', 20, 2), [a, b]), 10 * 0.3 + 20 * (DEFAULT_MARGIN_RATE - 0.2), 'buy_all');
  close(couponMargin(row('department', 60, 1, 15), [a, b]), 2 * 15 * ((0.5 + DEFAULT_MARGIN_RATE) / 2 - 0.6), 'department: a loss');
  const men = (product_id: number, buy_price: number) => ({
    product_id,
    buy_price,
    department: 'Men' as const,
    name: '',
    category: '',
    sizes: '',
    vendor: '',
    description: '',
  });
  close(departmentItemMargins([men(1, 10), men(2, 20)], new Map([[1, 0.5]]))[DEPARTMENTS.indexOf('Men')], (5 + 20 * DEFAULT_MARGIN_RATE) / 2, 'item margin');
});

test('incremental margin = p × (M − q × B); realised margins average to it against offering nothing', () => {
  const p = customerPreferences(7, 3, 'M', 33);
  const k = couponTraits({ coupon_type: 'just_discount', department: 'Men', discount: 10, how_many_products_required: 1, product_mean_price: 12 }, ['Jeans']);
  const itemMargins = [5, 5, 5, 5, 5];
  const dep = 0,
    M = 12 * (0.45 - 0.1),
    qB = noCouponMargin(p, dep, itemMargins);
  close(expectedIncrementalMargin(p, k, M, qB), redemptionProbability(p, k) * (M - qB), 'expected');
  let offered = 0,
    control = 0;
  const n = 40_000;
  for (let ts = 0; ts < n; ts++) {
    offered += realisedMargin(7, p, { customerId: '3', ts, department: dep, offer: { couponId: 1, traits: k, margin: M } }, itemMargins).margin;
    control += realisedMargin(7, p, { customerId: '3', ts, department: dep }, itemMargins).margin;
  }
  const uplift = (offered - control) / n;
  assert.ok(Math.abs(uplift - expectedIncrementalMargin(p, k, M, qB)) < 0.05, `realised ${uplift}`);
  // the same focus, the same luck
  assert.equal(
    realisedMargin(7, p, { customerId: '3', ts: 5, department: dep }, itemMargins),
    realisedMargin(7, p, { customerId: '3', ts: 5, department: dep }, itemMargins),
  );
});

test.run();
