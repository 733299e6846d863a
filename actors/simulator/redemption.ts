/**
 * Whether a shopper redeems an offered coupon: the probability their hidden preferences give
 * (actors/data/customer-preferences.ts), drawn from a seeded stream named by the offer itself, so the
 * same seed, customer, focus time and coupon always give the same outcome, in whatever order
 * offers arrive, and two policies that offer the same coupon at the same focus see the same
 * outcome (common random numbers: their comparison is not blurred by luck).
 *
 * A redeemed coupon is a purchase: the shopper pays for the coupon's items, discount deducted.
 * Items: just_discount one of its product, buy_more `how_many` of it, buy_all each listed product
 * once, a department coupon two items at the department's mean price (the history buys 1–3).
 */
import { createPrng } from '../kernel/prng.ts';
import { round2 } from '../data/store-csv-writer.ts';
import { couponTraits, customerPreferences, redemptionProbability, type CouponTraits, type CustomerPreferences } from '../data/customer-preferences.ts';
import type { CouponInfo } from '../data/store-data.ts';

/** An offer as the redemption model sees it. */
export interface Offer {
  customerId: string /** the focus's event time, integer seconds */;
  ts: number;
  couponId: number;
}

export interface RedemptionOutcome {
  probability: number;
  redeemed: boolean;
  /** What the shopper pays when redeeming (0 when not redeemed). */
  revenue: number;
}

/** The uniform draw [0, 1) of an offer: a pure function of the seed and the offer. */
export function redemptionDraw(seed: number | string, o: Offer): number {
  return createPrng(seed).fork(`redemption/${o.customerId}/${o.ts}/${o.couponId}`).float();
}

/** What redeeming the coupon costs the shopper (its items, discount deducted), from its row and its products' prices. */
export function basketValue(
  coupon: Pick<CouponInfo, 'coupon_type' | 'discount' | 'how_many_products_required' | 'product_mean_price'>,
  productPrices: readonly number[],
): number {
  let full: number;
  switch (coupon.coupon_type) {
    case 'just_discount':
      full = productPrices[0] ?? Number(coupon.product_mean_price);
      break;
    case 'buy_more':
      full = Number(coupon.how_many_products_required) * (productPrices[0] ?? Number(coupon.product_mean_price));
      break;
    case 'buy_all':
      full = productPrices.reduce((a, b) => a + b, 0);
      break;
    case 'department':
      full = 2 * Number(coupon.product_mean_price);
      break;
    default:
      full = 0;
  }
  return round2(full * (1 - Number(coupon.discount) / 100));
}

/** The outcome of an offer for a customer with these preferences. */
export function redeem(seed: number | string, prefs: CustomerPreferences, traits: CouponTraits, basket: number, o: Offer): RedemptionOutcome {
  const probability = redemptionProbability(prefs, traits);
  const redeemed = redemptionDraw(seed, o) < probability;
  return { probability, redeemed, revenue: redeemed ? basket : 0 };
}

/** A coupon as a prediction publishes it (seed 002's flat schema): what the simulator sees of an offer. */
export interface PublishedOffer {
  id: number;
  type: string;
  department: string;
  discount: number;
  how_many: number;
  products: { category: string; buy_price: number }[];
}

/** Traits and basket of a published coupon (its product_mean_price is the mean of its products' prices, as the data's is). */
export function publishedCoupon(c: PublishedOffer): { traits: CouponTraits; basket: number } {
  const prices = c.products.map((p) => Number(p.buy_price));
  const mean = prices.length ? round2(prices.reduce((a, b) => a + b, 0) / prices.length) : 0;
  const row = {
    coupon_type: c.type as CouponInfo['coupon_type'],
    department: c.department as CouponInfo['department'],
    discount: Number(c.discount),
    how_many_products_required: c.type === 'department' ? 1 : Number(c.how_many),
    product_mean_price: mean,
  };
  return {
    traits: couponTraits(
      row,
      c.products.map((p) => p.category),
    ),
    basket: basketValue(row, prices),
  };
}

/** Who the shopper is, as the simulator knows them (customer_info's gender and age). */
export interface Shopper {
  customerId: string;
  gender: string;
  age: number;
}

/** A redemption as the simulator publishes it on REDEMPTION_TOPIC: the offer's customer, time and coupon, and what was paid. */
export interface RedemptionPayload {
  id: string;
  ts: number;
  coupon_id: number;
  amount: number;
}

/**
 * A shopper offered a coupon (a prediction for them): redeemed or not, by the preferences the seed
 * gives this customer (the generator's, when the store was generated with the same seed). Pure.
 */
export function shopperRedemption(
  seed: number | string,
  shopper: Shopper,
  offer: { ts: number; coupon: PublishedOffer },
): { probability: number; redemption?: RedemptionPayload } {
  const prefs = customerPreferences(seed, shopper.customerId, shopper.gender, shopper.age);
  const { traits, basket } = publishedCoupon(offer.coupon);
  const o = redeem(seed, prefs, traits, basket, { customerId: shopper.customerId, ts: offer.ts, couponId: offer.coupon.id });
  return o.redeemed
    ? { probability: o.probability, redemption: { id: shopper.customerId, ts: offer.ts, coupon_id: offer.coupon.id, amount: o.revenue } }
    : { probability: o.probability };
}
