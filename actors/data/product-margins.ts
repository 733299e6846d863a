/**
 * What the store keeps of a sale: each product's margin rate, the share of its price (buy_price) that is the store's
 * after the cost of the goods. The generator draws it per product (issue 34); a data set loaded from the original's
 * CSV files has no margins, so every product there counts at DEFAULT_MARGIN_RATE. A coupon's discount comes out of
 * the margin: an item sold at price × (1 − discount) leaves price × (margin rate − discount).
 */
import type { Prng } from '../kernel/prng.ts';
import type { CouponInfo, ProductInfo } from './store-data.ts';

/** A product's price and, where the data set has one, its margin rate. */
export interface PricedProduct {
  buy_price: number;
  margin_rate?: number;
}

/** Margin rate of a product without one (a loaded data set): apparel's typical gross margin. */
export const DEFAULT_MARGIN_RATE = 0.45;

/** The generator's margin rates: uniform in [0.3, 0.6), rounded to a thousandth. */
export const MARGIN_RATE_RANGE = [0.3, 0.6] as const;

/**
 * Every product's margin rate (product id → rate), drawn from a stream of its own: the product rows stay the
 * original's columns, and their CSV bytes what they were before margins existed.
 */
export function drawMarginRates(rng: Prng, products: readonly ProductInfo[]): Map<number, number> {
  const [lo, hi] = MARGIN_RATE_RANGE;
  return new Map(products.map((p) => [p.product_id, Math.round((lo + rng.float() * (hi - lo)) * 1000) / 1000]));
}

/** A product row priced with its margin rate from `rates` (absent: the default applies). */
export function priced(p: ProductInfo, rates?: ReadonlyMap<number, number>): PricedProduct {
  return { buy_price: Number(p.buy_price), margin_rate: rates?.get(p.product_id) };
}

/** The product's margin rate, or the default where the data set has none. */
export function marginRate(p: { margin_rate?: number }): number {
  const m = p.margin_rate;
  return typeof m === 'number' && Number.isFinite(m) ? m : DEFAULT_MARGIN_RATE;
}

/**
 * The coupon's margin after the discount when redeemed: its items (just_discount one of its product, buy_more
 * `how_many` of it, buy_all each product once, a department coupon two items at the mean price and mean margin
 * rate of its products), each at price × (margin rate − discount).
 */
export function couponMargin(
  coupon: Pick<CouponInfo, 'coupon_type' | 'discount' | 'how_many_products_required' | 'product_mean_price'>,
  products: readonly PricedProduct[],
): number {
  const d = Number(coupon.discount) / 100;
  const item = (p: PricedProduct) => Number(p.buy_price) * (marginRate(p) - d);
  const first = products[0];
  switch (coupon.coupon_type) {
    case 'just_discount':
      return first ? item(first) : 0;
    case 'buy_more':
      return first ? Number(coupon.how_many_products_required) * item(first) : 0;
    case 'buy_all':
      return products.reduce((a, p) => a + item(p), 0);
    case 'department': {
      const rate = products.length ? products.reduce((a, p) => a + marginRate(p), 0) / products.length : marginRate({});
      return 2 * Number(coupon.product_mean_price) * (rate - d);
    }
    default:
      return 0;
  }
}

/** Every coupon's margin after the discount, by coupon id, from the store's tables (and margin rates, where known). */
export function couponMargins(
  coupons: readonly CouponInfo[],
  products: readonly ProductInfo[],
  links: readonly { coupon_id: number; product_id: number }[],
  rates?: ReadonlyMap<number, number>,
): Map<number, number> {
  const byId = new Map(products.map((p) => [p.product_id, p]));
  const of = new Map<number, PricedProduct[]>();
  for (const l of links) {
    const p = byId.get(l.product_id);
    if (!p) continue;
    const list = of.get(l.coupon_id) ?? [];
    list.push(priced(p, rates));
    of.set(l.coupon_id, list);
  }
  return new Map(coupons.map((c) => [c.coupon_id, couponMargin(c, of.get(c.coupon_id) ?? [])]));
}
