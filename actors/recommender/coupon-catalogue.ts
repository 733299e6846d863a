/**
 * The coupon catalogue held in memory: coupons by department, their products, and each coupon's
 * prediction payload pre-rendered once (a department coupon lists ~600 products, ~150 KB).
 */
import { createHash } from 'node:crypto';
import type { Department } from '../../schemas/departments.ts';
import { DEPARTMENTS } from '../../schemas/departments.ts';
import type { CouponInfo, ProductInfo } from '../data/store-data.ts';

/** The coupon as published in a prediction (seed 002's schema). */
export interface PublishedCoupon {
  id: number;
  type: string;
  department: string;
  discount: number;
  how_many: number;
  start_date: string;
  end_date: string;
  products: { id: number; name: string; category: string; sizes: string; vendor: string; description: string; buy_price: number; department: string }[];
}

/** `how_many` per REFERENCE.md §1: buy_more = items of the product, buy_all = listed products, just_discount = 1, department = -1. */
export function howMany(c: CouponInfo, productCount: number): number {
  switch (c.coupon_type) {
    case 'buy_more':
      return c.how_many_products_required;
    case 'buy_all':
      return productCount;
    case 'just_discount':
      return 1;
    case 'department':
      return -1;
  }
}

export interface CatalogueEntry {
  coupon: CouponInfo;
  productCount: number;
  howMany: number;
  /** JSON of the published coupon, rendered once. */
  json: string;
}

/** A department's coupons valid on a date, and their CouponInfo rows in the same order (for the scorer). */
export interface Candidates {
  entries: readonly CatalogueEntry[];
  coupons: readonly CouponInfo[];
}

export class CouponCatalogue {
  private byDepartment = new Map<Department, CatalogueEntry[]>();
  private byId = new Map<number, CatalogueEntry>();
  /** Candidates by department and date: the same arrays every time, so scorers can cache per array. */
  private offerable = new Map<string, Candidates>();
  /**
   * The catalogue's content (every coupon row and its published rendering, in coupon order), hashed: the log records it
   * where the catalogue is loaded, so a decision's published bytes can be rendered again from the same catalogue.
   */
  readonly version: string;

  constructor(coupons: readonly CouponInfo[], products: readonly ProductInfo[], links: readonly { coupon_id: number; product_id: number }[]) {
    const productById = new Map(products.map((p) => [p.product_id, p]));
    const productsOf = new Map<number, ProductInfo[]>();
    for (const l of links) {
      const p = productById.get(l.product_id);
      if (!p) continue;
      let list = productsOf.get(l.coupon_id);
      if (!list) {
        list = [];
        productsOf.set(l.coupon_id, list);
      }
      list.push(p);
    }
    for (const d of DEPARTMENTS) this.byDepartment.set(d, []);
    const content = createHash('sha256');
    for (const c of [...coupons].sort((a, b) => a.coupon_id - b.coupon_id)) {
      const ps = (productsOf.get(c.coupon_id) ?? []).sort((a, b) => a.product_id - b.product_id);
      const published: PublishedCoupon = {
        id: c.coupon_id,
        type: c.coupon_type,
        department: c.department,
        discount: Number(c.discount),
        how_many: howMany(c, ps.length),
        start_date: c.start_date,
        end_date: c.end_date,
        products: ps.map((p) => ({
          id: p.product_id,
          name: p.name,
          category: p.category,
          sizes: p.sizes,
          vendor: p.vendor,
          description: p.description,
          buy_price: p.buy_price,
          department: p.department,
        })),
      };
      const entry = { coupon: c, productCount: ps.length, howMany: published.how_many, json: JSON.stringify(published) };
      this.byId.set(c.coupon_id, entry);
      this.byDepartment.get(c.department)?.push(entry);
      content.update(JSON.stringify(c)).update('\n').update(entry.json).update('\n');
    }
    this.version = content.digest('base64url').slice(0, 16);
  }

  get size(): number {
    return this.byId.size;
  }

  get(couponId: number): CatalogueEntry | undefined {
    return this.byId.get(couponId);
  }

  /** From the earliest start to the latest end date of the department's coupons (of every coupon without one); undefined when there are none. */
  validity(dep?: Department): { from: string; to: string } | undefined {
    const entries = dep ? (this.byDepartment.get(dep) ?? []) : [...this.byId.values()];
    if (entries.length === 0) return undefined;
    let from = entries[0].coupon.start_date,
      to = entries[0].coupon.end_date;
    for (const { coupon: c } of entries) {
      if (c.start_date < from) from = c.start_date;
      if (c.end_date > to) to = c.end_date;
    }
    return { from, to };
  }

  /** Whether some coupon is valid on a day between `from` and `to` (YYYY-MM-DD, inclusive). */
  anyValidBetween(from: string, to: string): boolean {
    for (const { coupon: c } of this.byId.values()) if (c.start_date <= to && c.end_date >= from) return true;
    return false;
  }

  /** Coupons of the department valid on `date` (YYYY-MM-DD, UTC), or all of them when `date` is undefined. */
  candidates(dep: Department, date: string | undefined): Candidates {
    const key = date === undefined ? dep : `${dep} ${date}`;
    let c = this.offerable.get(key);
    if (c) return c;
    const all = this.byDepartment.get(dep) ?? [];
    const entries = date === undefined ? all : all.filter((e) => e.coupon.start_date <= date && date <= e.coupon.end_date);
    c = { entries, coupons: entries.map((e) => e.coupon) };
    // a long run sees a new date a day; replays of years of events must not keep them all
    if (this.offerable.size >= 1000) this.offerable.clear();
    this.offerable.set(key, c);
    return c;
  }
}

let lastDay = NaN;
let lastDate = '';
/** The UTC calendar date of an epoch-seconds timestamp. */
export function dateOf(ts: number): string {
  const day = Math.floor(ts / 86400);
  if (day !== lastDay) {
    lastDate = new Date(day * 86400_000).toISOString().slice(0, 10);
    lastDay = day;
  }
  return lastDate;
}
