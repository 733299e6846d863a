/**
 * The redemption model (actors/simulator/redemption.ts): same seed → same redemptions, whatever the order
 * of the offers; the basket a redemption buys; a published coupon (what the simulator sees) gives
 * the same traits and basket as the catalogue's rows.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { generateStore } from '../actors/data/store-generator.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { couponTraits, redemptionProbability } from '../actors/data/customer-preferences.ts';
import { basketValue, publishedCoupon, redeem, redemptionDraw, type RedemptionPayload } from '../actors/simulator/redemption.ts';
import { considerOffer, offerOf } from '../adapters/simulator/redemptions.ts';

const store = generateStore({ seed: 21, customers: 60, products: 300, days: 120 });
const product = new Map(store.products.map((p) => [p.product_id, p]));
const productsOf = new Map<number, number[]>();
for (const l of store.couponProducts) productsOf.set(l.coupon_id, [...(productsOf.get(l.coupon_id) ?? []), l.product_id]);
const traits = store.coupons.map((k) =>
  couponTraits(
    k,
    must(productsOf.get(k.coupon_id), 'productsOf.get(k.coupon_id)').map((id) => must(product.get(id), 'product.get(id)').category),
  ),
);
const basket = store.coupons.map((k) =>
  basketValue(
    k,
    must(productsOf.get(k.coupon_id), 'productsOf.get(k.coupon_id)').map((id) => must(product.get(id), 'product.get(id)').buy_price),
  ),
);

/** Each of the first 12 customers offered their most likely coupon of the whole store. */
function outcomes(seed: number, order: number[]) {
  const out = new Map<number, [number, number, number, boolean, number]>();
  for (const i of order) {
    const prefs = store.preferences[i];
    let best = 0;
    traits.forEach((t, j) => {
      if (redemptionProbability(prefs, t) > redemptionProbability(prefs, traits[best])) best = j;
    });
    const o = redeem(seed, prefs, traits[best], basket[best], { customerId: String(i + 1), ts: 1780000000 + i * 60, couponId: store.coupons[best].coupon_id });
    out.set(i, [i + 1, store.coupons[best].coupon_id, Math.round(o.probability * 1e4) / 1e4, o.redeemed, o.revenue]);
  }
  return [...out.keys()].sort((a, b) => a - b).map((i) => out.get(i));
}

test('same seed → the same redemptions, in any order of the offers (the whole outcome pinned)', () => {
  const forward = Array.from({ length: 12 }, (_, i) => i);
  const expected = [
    [1, 111, 0.3738, false, 0],
    [2, 111, 0.6312, true, 3.53],
    [3, 38, 0.1485, false, 0],
    [4, 81, 0.2536, false, 0],
    [5, 38, 0.9837, true, 8.22],
    [6, 38, 0.1504, false, 0],
    [7, 111, 0.5307, false, 0],
    [8, 111, 0.2182, true, 3.53],
    [9, 121, 0.024, false, 0],
    [10, 111, 0.9608, true, 3.53],
    [11, 111, 0.5984, true, 3.53],
    [12, 38, 0.9484, true, 8.22],
  ];
  assert.equal(outcomes(21, forward), expected);
  assert.equal(outcomes(21, [...forward].reverse()), expected);
  assert.not.equal(
    outcomes(22, forward).map((o) => must(o, 'o')[3]),
    expected.map((o) => o[3]),
    'another seed, other draws',
  );
  assert.is(redemptionDraw(21, { customerId: '7', ts: 1780000000, couponId: 3 }), redemptionDraw('21', { customerId: '7', ts: 1780000000, couponId: 3 }));
});

test('over many offers the redemption rate is the mean probability', () => {
  let p = 0,
    n = 0;
  const prefs = store.preferences[4],
    k = traits[37];
  for (let ts = 0; ts < 20000; ts++) if (redeem(3, prefs, k, 1, { customerId: '5', ts, couponId: 38 }).redeemed) n++;
  p = redemptionProbability(prefs, k);
  assert.ok(Math.abs(n / 20000 - p) < 0.01, `${n / 20000} vs ${p}`);
});

test('basket: the items a redemption buys, discount deducted', () => {
  const row = { discount: 20, how_many_products_required: 3, product_mean_price: 10 };
  assert.is(basketValue({ ...row, coupon_type: 'just_discount' }, [12.5]), 10);
  assert.is(basketValue({ ...row, coupon_type: 'buy_more' }, [12.5]), 30);
  assert.is(basketValue({ ...row, coupon_type: 'buy_all' }, [5, 7.5, 12.5]), 20);
  assert.is(basketValue({ ...row, coupon_type: 'department' }, [1, 2, 3]), 16);
});

test("a published coupon gives the catalogue's traits and basket (what the simulator sees of an offer)", () => {
  const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
  for (const [i, k] of store.coupons.entries()) {
    const fromPrediction = publishedCoupon(JSON.parse(must(catalogue.get(k.coupon_id), 'catalogue.get(k.coupon_id)').json));
    assert.equal(fromPrediction, { traits: traits[i], basket: basket[i] }, `coupon ${k.coupon_id} (${k.coupon_type})`);
  }
});

test('a simulated shopper offered coupons: the whole outcome pinned (flat and envelope predictions, not in store, unreadable)', async () => {
  const shopper = { customerId: '7', gender: 'F', age: 34 };
  const coupon = (id: number, discount: number, price: number) => ({
    id,
    type: 'just_discount',
    department: 'Women',
    discount,
    how_many: 1,
    start_date: '2026-01-01',
    end_date: '2026-01-09',
    products: [{ id: 100 + id, name: 'x', category: 'Dress', sizes: 'S-XL', vendor: 'Gap', description: 'x', buy_price: price, department: 'Women' }],
  });
  const run = async () => {
    const published: RedemptionPayload[] = [];
    const wiring = {
      seed: 42,
      shopper: (id: string) => (id === '7' ? shopper : undefined),
      coupon: async (id: number) => (id === 5 ? coupon(5, 40, 4.5) : undefined),
      publish: async (r: RedemptionPayload) => {
        published.push(r);
      },
    };
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++)
      outcomes.push(await considerOffer(wiring, JSON.stringify({ customer: { id: '7' }, coupon: coupon(i + 1, 20 + 5 * i, 3 + i), ts: 1780000000 + i })));
    const envelope = (couponId: number) =>
      JSON.stringify({
        event_type: 'prediction result',
        event_timestamp: '2026-05-28T20:26:40Z',
        payload: { customer_id: 7, coupon_id: couponId, prediction: 0.6 },
      });
    outcomes.push(await considerOffer(wiring, envelope(5)), await considerOffer(wiring, envelope(6)));
    outcomes.push(await considerOffer(wiring, JSON.stringify({ customer: { id: '8' }, coupon: coupon(1, 20, 3), ts: 1780000000 })));
    outcomes.push(await considerOffer(wiring, '{"nope": 1}'), await considerOffer(wiring, '{not json'));
    return { outcomes, published };
  };
  const expected = {
    outcomes: [
      'redeemed',
      'declined',
      'declined',
      'redeemed',
      'declined',
      'declined',
      'redeemed',
      'redeemed',
      'redeemed',
      'redeemed',
      'redeemed',
      'unknown_coupon',
      'not_in_store',
      'unreadable',
      'unreadable',
    ],
    published: [
      { id: '7', ts: 1780000000, coupon_id: 1, amount: 2.4 },
      { id: '7', ts: 1780000003, coupon_id: 4, amount: 3.9 },
      { id: '7', ts: 1780000006, coupon_id: 7, amount: 4.5 },
      { id: '7', ts: 1780000007, coupon_id: 8, amount: 4.5 },
      { id: '7', ts: 1780000008, coupon_id: 9, amount: 4.4 },
      { id: '7', ts: 1780000009, coupon_id: 10, amount: 4.2 },
      { id: '7', ts: 1780000000, coupon_id: 5, amount: 2.7 },
    ],
  };
  assert.equal(await run(), expected);
  assert.equal(await run(), expected, 'the same seed, the same redemptions');
  assert.equal(offerOf({ customer: { id: 3 }, coupon: coupon(2, 10, 1), ts: 5 }), { customerId: '3', ts: 5, coupon: coupon(2, 10, 1) });
  assert.is(offerOf({ customer: { id: 3 }, coupon: coupon(2, 10, 1), ts: 5.5 }), undefined);
});

test.run();
