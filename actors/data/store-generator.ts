/**
 * The synthetic store: customers, products, coupons, coupon_product, and an order history from
 * which customer_info's aggregates are computed and the coupon model is trained. Pure and
 * deterministic: same options (seed included), same tables, same CSV bytes.
 *
 * Shape (REFERENCE.md §3): 57% F, ages 18–90; products (store-products.ts); three coupons of every
 * department valid on every day of the window (store-coupons.ts); ~300 orders per customer over the
 * history's three years, coupon use following every customer's hidden preferences (order-history.ts).
 * Each product also gets a margin rate (product-margins.ts), from a fork of its own.
 * This module holds the options and puts the parts together, each from its own fork of the seed.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import { createPrng } from '../kernel/prng.ts';
import type { CustomerPreferences } from './customer-preferences.ts';
import type { StoreTables } from './store-csv.ts';
import { generateProducts } from './store-products.ts';
import { drawMarginRates } from './product-margins.ts';
import { generateCoupons } from './store-coupons.ts';
import { generateCustomers, type OrderHistory } from './order-history.ts';

export type { OrderHistory };

export interface StoreOptions {
  seed: number;
  customers: number;
  products: number;
  /** First day of the coupon window (YYYY-MM-DD). */
  from: string;
  /** Length of the coupon window in days. */
  days: number;
  /** Days of order history, from `from` (at most `days`). */
  historyDays: number;
}

/**
 * 2024-01-01 for five years (to 2028-12-31): a live run in 2026–2028 always finds valid coupons.
 * Fixed, not derived from today, so a seed's output never changes.
 */
export const DEFAULT_STORE_OPTIONS: StoreOptions = { seed: 42, customers: 1000, products: 3000, from: '2024-01-01', days: 1827, historyDays: 1096 };

export interface GeneratedStore extends StoreTables {
  options: StoreOptions;
  history: OrderHistory;
  /** Each customer's hidden preferences (same order as `customers`). */
  preferences: CustomerPreferences[];
  /** Each product's margin rate, by product id (not a column of product_info: a loaded data set has none). */
  marginRates: Map<number, number>;
}

const DAY_MS = 86_400_000;

export function checkStoreOptions(o: StoreOptions): string[] {
  const problems: string[] = [];
  const positive = (k: keyof StoreOptions, min: number) => {
    if (!Number.isInteger(o[k]) || (o[k] as number) < min) problems.push(`${k} must be an integer ≥ ${min}`);
  };
  positive('seed', 0);
  positive('customers', 1);
  positive('products', 50);
  positive('days', 1);
  positive('historyDays', 1);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(o.from) ||
    Number.isNaN(Date.parse(`${o.from}T00:00:00Z`)) ||
    new Date(`${o.from}T00:00:00Z`).toISOString().slice(0, 10) !== o.from
  )
    problems.push('from must be a date YYYY-MM-DD');
  return problems;
}

/** Generates the whole store. Throws on invalid options. */
export function generateStore(options: Partial<StoreOptions> = {}): GeneratedStore {
  const o: StoreOptions = { ...DEFAULT_STORE_OPTIONS, ...options };
  o.historyDays = Math.min(o.historyDays, o.days);
  const problems = checkStoreOptions(o);
  if (problems.length) throw new Error(`invalid store options: ${problems.join('; ')}`);
  const root = createPrng(o.seed);
  const fromMs = Date.parse(`${o.from}T00:00:00Z`);
  const dates = Array.from({ length: o.days }, (_, i) => new Date(fromMs + i * DAY_MS).toISOString().slice(0, 10));

  const products = generateProducts(root.fork('products'), o.products);
  const marginRates = drawMarginRates(root.fork('margins'), products);
  const byDepartment = DEPARTMENTS.map((d) => products.filter((p) => p.department === d));
  const { coupons, couponProducts, active } = generateCoupons(root, o.days, dates, byDepartment);
  const { customers, history, preferences } = generateCustomers(root, o, products, byDepartment, coupons, couponProducts, active);
  return { options: o, customers, products, coupons, couponProducts, history, preferences, marginRates };
}
