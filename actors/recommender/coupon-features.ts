/**
 * The 24 features of a (customer, coupon) pair, in the original's fixed order (REFERENCE.md §2):
 * six customer aggregates, four coupon numbers, then one-hots for age band, gender, coupon type
 * and department. The model file names them in this order; the scorer relies on it.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import { COUPON_TYPES, type CouponInfo, type CustomerInfo } from '../data/store-data.ts';

export const FEATURE_NAMES = [
  'mean_buy_price',
  'total_coupons_used',
  'mean_discount_received',
  'unique_products_bought',
  'unique_products_bought_with_coupons',
  'total_items_bought',
  'discount',
  'how_many_products_required',
  'product_mean_price',
  'products_available',
  'age_under_30',
  'age_30_to_59',
  'age_60_plus',
  'gender_F',
  'gender_M',
  'type_just_discount',
  'type_buy_more',
  'type_buy_all',
  'type_department',
  'department_Men',
  'department_Sport',
  'department_Boys',
  'department_Girls',
  'department_Women',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length; // 24

/** Which features come from the customer (the rest from the coupon). */
export const CUSTOMER_FEATURES: readonly number[] = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14];
export const COUPON_FEATURES: readonly number[] = [6, 7, 8, 9, 15, 16, 17, 18, 19, 20, 21, 22, 23];

/** Writes the customer's features into `out` at their positions. */
export function writeCustomerFeatures(c: CustomerInfo, out: Float64Array): void {
  out[0] = Number(c.mean_buy_price);
  out[1] = Number(c.total_coupons_used);
  out[2] = Number(c.mean_discount_received);
  out[3] = Number(c.unique_products_bought);
  out[4] = Number(c.unique_products_bought_with_coupons);
  out[5] = Number(c.total_items_bought);
  const age = Number(c.age);
  out[10] = age < 30 ? 1 : 0;
  out[11] = age >= 30 && age < 60 ? 1 : 0;
  out[12] = age >= 60 ? 1 : 0;
  out[13] = c.gender === 'F' ? 1 : 0;
  out[14] = c.gender === 'M' ? 1 : 0;
}

/** how_many_products_required as a feature: the original's -1 (department coupons) counts as 1. */
export function requiredItems(c: CouponInfo): number {
  const n = Number(c.how_many_products_required);
  return Math.max(n, 1);
}

/** Writes the coupon's features into `out` at their positions. */
export function writeCouponFeatures(c: CouponInfo, out: Float64Array): void {
  out[6] = Number(c.discount);
  out[7] = requiredItems(c);
  out[8] = Number(c.product_mean_price);
  out[9] = Number(c.products_available);
  for (let t = 0; t < COUPON_TYPES.length; t++) out[15 + t] = c.coupon_type === COUPON_TYPES[t] ? 1 : 0;
  for (let d = 0; d < DEPARTMENTS.length; d++) out[19 + d] = c.department === DEPARTMENTS[d] ? 1 : 0;
}

/** The whole feature vector of a pair. */
export function featureVector(customer: CustomerInfo, coupon: CouponInfo, out = new Float64Array(FEATURE_COUNT)): Float64Array {
  writeCustomerFeatures(customer, out);
  writeCouponFeatures(coupon, out);
  return out;
}
