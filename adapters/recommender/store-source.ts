/**
 * Where the recommender reads the store's coupons and customers: the cache DB (customer_info, coupon_info, …), or
 * tables in memory (a process on the in-memory event log: the synthetic store of SEED, as the cache DB would give it).
 */
import type { Queryable } from '../edges/database.ts';
import { loadCatalogue, loadCustomer, loadCustomers } from '../edges/cache-store.ts';
import type { CustomerInfo } from '../../actors/data/store-data.ts';
import type { StoreTables } from '../../actors/data/store-csv.ts';
import { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';

export interface StoreSource {
  catalogue(): Promise<CouponCatalogue>;
  customers(): Promise<Map<number, CustomerInfo>>;
  /** One customer, looked up when missing from what customers() gave (added since). */
  customer(id: number): Promise<CustomerInfo | null>;
}

export function databaseStore(db: Queryable): StoreSource {
  return { catalogue: () => loadCatalogue(db), customers: () => loadCustomers(db), customer: (id) => loadCustomer(db, id) };
}

/** `tables` as stored (actors/data/as-stored.ts): what the cache DB would give back. */
export function memoryStore(tables: StoreTables): StoreSource {
  const customers = new Map(tables.customers.map((c) => [c.customer_id, c]));
  return {
    catalogue: async () => new CouponCatalogue(tables.coupons, tables.products, tables.couponProducts),
    customers: async () => new Map(customers),
    customer: async (id) => customers.get(id) ?? null,
  };
}
