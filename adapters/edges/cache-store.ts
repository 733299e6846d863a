/** Reads the cache DB (customer_info, coupon_info, product_info, coupon_product) for the recommender. */
import { sql, type Queryable } from './database.ts';
import type { CouponInfo, CustomerInfo, ProductInfo } from '../../actors/data/store-data.ts';
import { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';

export async function loadCatalogue(db: Queryable): Promise<CouponCatalogue> {
  const [coupons, products, links] = await Promise.all([
    db.query(sql`SELECT * FROM coupon_info`),
    db.query(sql`SELECT * FROM product_info`),
    db.query(sql`SELECT coupon_id, product_id FROM coupon_product`),
  ]);
  return new CouponCatalogue(coupons as CouponInfo[], products as ProductInfo[], links as { coupon_id: number; product_id: number }[]);
}

export async function loadCustomers(db: Queryable): Promise<Map<number, CustomerInfo>> {
  const rows = (await db.query(sql`SELECT * FROM customer_info`)) as CustomerInfo[];
  return new Map(rows.map((r) => [r.customer_id, r]));
}

/** customer_info.customer_id is an int: an id outside it is no customer (asking would be a database error). */
const INT4 = { min: -2147483648, max: 2147483647 };

export async function loadCustomer(db: Queryable, customerId: number): Promise<CustomerInfo | null> {
  if (!Number.isInteger(customerId) || customerId < INT4.min || customerId > INT4.max) return null;
  const [row] = await db.query(sql`SELECT * FROM customer_info WHERE customer_id = ${customerId}`);
  return (row as CustomerInfo | undefined) ?? null;
}
