/** The cache DB's rows (REFERENCE.md §3) as the actors see them, and the scoring port. */
import type { Department } from '../../schemas/departments.ts';

export type CouponType = 'just_discount' | 'buy_more' | 'buy_all' | 'department';
export const COUPON_TYPES: readonly CouponType[] = ['just_discount', 'buy_more', 'buy_all', 'department'];

export interface CustomerInfo {
  customer_id: number;
  gender: string; // 'F' | 'M'
  age: number;
  mean_buy_price: number;
  total_coupons_used: number;
  mean_discount_received: number;
  unique_products_bought: number;
  unique_products_bought_with_coupons: number;
  total_items_bought: number;
}

export interface CouponInfo {
  coupon_id: number;
  coupon_type: CouponType;
  department: Department;
  discount: number;
  how_many_products_required: number;
  start_date: string; // YYYY-MM-DD
  end_date: string; // YYYY-MM-DD, inclusive
  product_mean_price: number;
  products_available: number;
}

export interface ProductInfo {
  product_id: number;
  name: string;
  category: string;
  sizes: string;
  vendor: string;
  description: string;
  buy_price: number;
  department: Department;
}

/** Scores each coupon for the customer: probability-like values in [0, 1], same order as `coupons`. */
export interface CouponScorer {
  score(customer: CustomerInfo, coupons: readonly CouponInfo[]): number[] | Promise<number[]>;
  /** It answers with plain numbers, never a promise (the in-process models): a session decides a focus within the step. */
  readonly synchronous?: boolean;
  /** The model's content hash (`sha256:…`) when it is a model file scored in-process; none for a remote scorer. */
  readonly version?: string;
}
