/**
 * What the store keeps of a sale: each product's margin rate, the share of its price (buy_price) that is the store's
 * after the cost of the goods. The generator draws it per product (issue 34); a data set loaded from the original's
 * CSV files has no margins, so every product there counts at DEFAULT_MARGIN_RATE. A coupon's discount comes out of
 * the margin: an item sold at price × (1 − discount) leaves price × (margin rate − discount).
 */
import type { Prng } from '../kernel/prng.ts';
import type { ProductInfo } from './store-data.ts';

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
