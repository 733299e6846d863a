/**
 * The store's tables as the cache DB gives them back: its `real` columns are single precision, read back as their
 * shortest decimal (PostgreSQL's float4 output). A replay that reads a store from CSVs reads what a live recommender
 * read after `npm run load` of the same files (a price of 1.4000000000000001 is published as 1.4).
 */
import type { StoreTables } from './store-csv.ts';

/** A number as a `real` column gives it back: the shortest decimal with the same single-precision value. */
export function asReal(x: number): number {
  if (!Number.isFinite(x)) return x;
  const single = Math.fround(x);
  for (let digits = 1; digits < 9; digits++) {
    const shortest = Number(single.toPrecision(digits));
    if (Math.fround(shortest) === single) return shortest;
  }
  return Number(single.toPrecision(9));
}

export function asStored(t: StoreTables): StoreTables {
  return {
    customers: t.customers.map((c) => ({ ...c, mean_buy_price: asReal(c.mean_buy_price), mean_discount_received: asReal(c.mean_discount_received) })),
    products: t.products.map((p) => ({ ...p, buy_price: asReal(p.buy_price) })),
    coupons: t.coupons.map((c) => ({ ...c, product_mean_price: asReal(c.product_mean_price) })),
    couponProducts: t.couponProducts,
  };
}
