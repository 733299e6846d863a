/**
 * Hidden preferences and the redemption model (actors/data/customer-preferences.ts): a pure function of
 * (seed, id, gender, age), the same the generator drew the order history from, and a redemption
 * probability that follows the documented terms.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { generateStore } from '../actors/data/store-generator.ts';
import {
  CATEGORIES,
  REDEMPTION,
  couponTraits,
  customerPreferences,
  redemptionLogit,
  redemptionLogits,
  redemptionProbability,
} from '../actors/data/customer-preferences.ts';

const small = { seed: 21, customers: 60, products: 300, days: 120 };

test("preferences are a pure function of seed, id, gender and age: the generator's are those", () => {
  const store = generateStore(small);
  assert.is(store.preferences.length, 60);
  for (const [i, c] of store.customers.entries())
    assert.equal(customerPreferences(21, c.customer_id, c.gender, c.age), store.preferences[i], `customer ${c.customer_id}`);
  assert.equal(customerPreferences(21, 5, 'F', 40), customerPreferences('21', '5', 'F', 40));
  assert.not.equal(customerPreferences(22, 5, 'F', 40).proneness, customerPreferences(21, 5, 'F', 40).proneness);
  const p = customerPreferences(21, 5, 'F', 40);
  assert.is(p.favourites.length, 3);
  assert.is(new Set(p.favourites).size, 3);
  assert.ok(p.favourites.every((f) => f >= 0 && f < CATEGORIES.length));
  assert.ok(p.thrift >= 0 && p.thrift < 1 && p.appetite >= REDEMPTION.appetite[0] && p.appetite < REDEMPTION.appetite[1]);
  assert.is(p.sensitivity, REDEMPTION.sensitivity[0] + REDEMPTION.sensitivity[1] * p.thrift);
  assert.is(p.departmentWeights.length, 5);
  assert.is(p.typeAffinity.length, 4);
});

test('the redemption logit, term by term, on a known customer and coupon', () => {
  const p = {
    ...customerPreferences(1, 1, 'M', 45),
    proneness: 0.5,
    appetite: 0.1,
    sensitivity: 0.5,
    typeAffinity: [0.2, 0, 0, 0],
    departmentTerm: [0.3, 0, 0, 0, 0],
    favourites: [0, 1, 2],
  };
  p.personal = REDEMPTION.base + 0.5; // a man of 45: no gender or age term
  const k = couponTraits({ coupon_type: 'just_discount', department: 'Men', discount: 40, how_many_products_required: 1, product_mean_price: 20 }, ['Onesy']);
  const expected = REDEMPTION.base + 0.5 + REDEMPTION.typeEffect.just_discount + 0.1 * 10 - 0.5 * Math.log(2) + 0.2 + 0.3 + REDEMPTION.category * 1;
  assert.ok(Math.abs(redemptionLogit(p, k) - expected) < 1e-12);
  assert.ok(Math.abs(redemptionProbability(p, k) - 1 / (1 + Math.exp(-expected))) < 1e-12);
  // a bundle of four products, one of them a favourite: effort for three more items, a quarter of the category bonus
  const b = couponTraits({ coupon_type: 'buy_all', department: 'Sport', discount: 30, how_many_products_required: 4, product_mean_price: 10 }, [
    'Onesy',
    'Parka',
    'Parka',
    'Tuxedo',
  ]);
  assert.is(b.required, 4);
  const expectedB = REDEMPTION.base + 0.5 + REDEMPTION.typeEffect.buy_all + REDEMPTION.effort * 3 + REDEMPTION.category * 0.25;
  assert.ok(Math.abs(redemptionLogit(p, b) - expectedB) < 1e-12);
});

test("the generator's fast path equals redemptionLogit for every coupon of a store", () => {
  const store = generateStore(small);
  const category = new Map(store.products.map((p) => [p.product_id, p.category]));
  const cats = store.coupons.map(() => [] as string[]);
  for (const l of store.couponProducts) cats[l.coupon_id - 1].push(must(category.get(l.product_id), 'category.get(l.product_id)'));
  const traits = store.coupons.map((c, i) => couponTraits(c, cats[i]));
  const fast = redemptionLogits(traits);
  for (const prefs of store.preferences.slice(0, 10)) for (const [i, k] of traits.entries()) assert.is(fast(prefs, i), redemptionLogit(prefs, k));
});

test.run();
