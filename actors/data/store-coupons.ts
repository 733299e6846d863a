/**
 * The store's coupons and coupon_product: per department three coupon "slots", each a back-to-back run of
 * coupons lasting 1–30 days, so exactly three coupons of every department are valid on every day of the
 * window (REFERENCE.md §3). A module of its own because the order history and the simulator both rely on
 * that guarantee, and `active` is how the history finds a day's coupons without searching.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import type { Prng } from '../kernel/prng.ts';
import { must } from '../kernel/must.ts';
import type { CouponProduct } from './store-csv.ts';
import { round2 } from './store-csv-writer.ts';
import type { CouponInfo, CouponType, ProductInfo } from './store-data.ts';

interface Draft {
  dep: number;
  slot: number;
  start: number;
  end: number;
  type: CouponType;
  discount: number;
  productIds: number[];
  howMany: number;
}

/**
 * Coupons numbered as the original numbered them (by start date, then department, then slot), their
 * products, and `active[(day * departments + department) * 3 + slot]`: the index of the coupon valid then.
 */
export function generateCoupons(root: Prng, days: number, dates: string[], byDepartment: ProductInfo[][]) {
  const drafts: Draft[] = [];
  for (let dep = 0; dep < DEPARTMENTS.length; dep++) {
    const pool = byDepartment[dep];
    for (let slot = 0; slot < 3; slot++) {
      const rng = root.fork(`coupons/${DEPARTMENTS[dep]}/${slot}`);
      for (let start = 0; start < days; ) {
        const end = Math.min(days - 1, start + rng.int(1, 30) - 1);
        const r = rng.float();
        const type: CouponType = r < 0.03 ? 'department' : r < 0.3533 ? 'just_discount' : r < 0.6767 ? 'buy_more' : 'buy_all';
        let discount: number, productIds: number[], howMany: number;
        switch (type) {
          case 'just_discount':
            discount = rng.int(5, 30);
            productIds = [rng.pick(pool).product_id];
            howMany = 1;
            break;
          case 'buy_more':
            discount = rng.int(10, 50);
            productIds = [rng.pick(pool).product_id];
            howMany = rng.int(2, 5);
            break;
          case 'buy_all': {
            discount = rng.int(5, 70);
            const n = Math.min(pool.length, rng.int(2, 5));
            const ids = new Set<number>();
            while (ids.size < n) ids.add(rng.pick(pool).product_id);
            productIds = [...ids].sort((a, b) => a - b);
            howMany = n;
            break;
          }
          case 'department':
            // the original's department coupons say 1 (REFERENCE.md: -1 is read as 1)
            discount = rng.int(5, 70);
            productIds = pool.map((p) => p.product_id);
            howMany = 1;
            break;
        }
        drafts.push({ dep, slot, start, end, type, discount, productIds, howMany });
        start = end + 1;
      }
    }
  }
  // ids in the order the original numbered them: by start date, then department, then slot
  drafts.sort((a, b) => a.start - b.start || a.dep - b.dep || a.slot - b.slot);
  const priceOf = new Map<number, number>();
  for (const pool of byDepartment) for (const p of pool) priceOf.set(p.product_id, p.buy_price);
  const coupons: CouponInfo[] = [];
  const couponProducts: CouponProduct[] = [];
  // active[(day * 5 + dep) * 3 + slot] = coupon index valid that day
  const active = new Int32Array(days * DEPARTMENTS.length * 3);
  drafts.forEach((d, i) => {
    const id = i + 1;
    let sum = 0;
    for (const pid of d.productIds) {
      sum += must(priceOf.get(pid), `the price of product ${pid}`);
      couponProducts.push({ coupon_id: id, product_id: pid });
    }
    coupons.push({
      coupon_id: id,
      coupon_type: d.type,
      department: DEPARTMENTS[d.dep],
      discount: d.discount,
      how_many_products_required: d.howMany,
      start_date: dates[d.start],
      end_date: dates[d.end],
      product_mean_price: round2(sum / d.productIds.length),
      products_available: d.productIds.length,
    });
    for (let day = d.start; day <= d.end; day++) active[(day * DEPARTMENTS.length + d.dep) * 3 + d.slot] = i;
  });
  return { coupons, couponProducts, active };
}
