/** A coupon as a shopper's phone shows it: its terms and the names of its products (the log keeps only the decision). */
import { sql, type Queryable } from '../edges/database.ts';

/** A department coupon lists every product of its department (~600): the phone names the first few. */
export const MAX_PRODUCTS = 20;

export interface CouponDetails {
  id: number;
  type: string;
  department: string;
  discount: number;
  how_many_products_required: number;
  start_date: string;
  end_date: string;
  products_count: number;
  products: { id: number; name: string; category: string; sizes: string; buy_price: number }[];
}

export async function couponDetails(db: Queryable, couponId: number): Promise<CouponDetails | undefined> {
  const [c] = await db.query(sql`
    SELECT coupon_id, coupon_type, department, discount, how_many_products_required, start_date, end_date,
           (SELECT count(*)::int FROM coupon_product WHERE coupon_id = ${couponId}) AS products_count
    FROM coupon_info WHERE coupon_id = ${couponId}`);
  if (!c) return undefined;
  const products = await db.query(sql`
    SELECT p.product_id, p.name, p.category, p.sizes, p.buy_price
    FROM coupon_product cp JOIN product_info p ON p.product_id = cp.product_id
    WHERE cp.coupon_id = ${couponId} ORDER BY p.product_id LIMIT ${MAX_PRODUCTS}`);
  return {
    id: c.coupon_id,
    type: c.coupon_type,
    department: c.department,
    discount: Number(c.discount),
    how_many_products_required: c.how_many_products_required,
    start_date: c.start_date,
    end_date: c.end_date,
    products_count: c.products_count,
    products: products.map((p) => ({ id: p.product_id, name: p.name, category: p.category, sizes: p.sizes, buy_price: Number(p.buy_price) })),
  };
}
