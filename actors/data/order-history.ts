/**
 * The customers and their order history: ~300 orders each over the history's three years, ~30 % of order lines
 * bought with a coupon, coupon use following each customer's hidden preferences (customer-preferences.ts) by the
 * same redemption model the simulator's shoppers follow. The history is what customer_info's aggregates are
 * computed from and what the coupon model is trained on; kept apart from the catalogue (store-products.ts,
 * store-coupons.ts) because it is the one part that reads every customer's preferences.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import type { Prng } from '../kernel/prng.ts';
import { must } from '../kernel/must.ts';
import { CATEGORIES, couponTraits, customerPreferences, redemptionLogits, type CustomerPreferences } from './customer-preferences.ts';
import type { CouponProduct } from './store-csv.ts';
import { round2 } from './store-csv-writer.ts';
import type { CouponInfo, CustomerInfo, ProductInfo } from './store-data.ts';

/** The order history, kept as the training set needs it: one row per (order, coupon valid that day in a department the order touched). */
export interface OrderHistory {
  orders: number;
  lines: number;
  couponLines: number;
  offers: number;
  /** Index into `customers` per offer. */
  offerCustomer: Int32Array;
  /** Index into `coupons` per offer. */
  offerCoupon: Int32Array;
  /** 1 when the order used the coupon. */
  offerUsed: Uint8Array;
}

/** The offers as three growing typed arrays (millions of rows: no object per row). */
class Growable {
  customer = new Int32Array(1 << 16);
  coupon = new Int32Array(1 << 16);
  used = new Uint8Array(1 << 16);
  length = 0;
  push(c: number, k: number, u: number) {
    if (this.length === this.customer.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (length: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.customer = grow(this.customer);
      this.coupon = grow(this.coupon);
      this.used = grow(this.used);
    }
    this.customer[this.length] = c;
    this.coupon[this.length] = k;
    this.used[this.length] = u;
    this.length++;
  }
}

/**
 * The customers (customer_info, its aggregates computed from their orders), their hidden preferences, and the
 * order history's offers: every customer's orders over `historyDays`, each touching departments by the
 * customer's weights and using the day's valid coupons by the redemption model.
 */
export function generateCustomers(
  root: Prng,
  o: { seed: number; customers: number; historyDays: number },
  products: ProductInfo[],
  byDepartment: ProductInfo[][],
  coupons: CouponInfo[],
  couponProducts: CouponProduct[],
  active: Int32Array,
) {
  const D = DEPARTMENTS.length;
  const priceById = new Float64Array(products.length + 1);
  for (const p of products) priceById[p.product_id] = p.buy_price;
  const pools = byDepartment.map((ps) => Int32Array.from(ps, (p) => p.product_id));
  const productsOf: number[][] = coupons.map(() => []);
  for (const l of couponProducts) productsOf[l.coupon_id - 1].push(l.product_id);
  const categoryOf = new Map(products.map((p) => [p.product_id, p.category]));
  const logitOf = redemptionLogits(
    coupons.map((c, i) =>
      couponTraits(
        c,
        productsOf[i].map((pid) => must(categoryOf.get(pid), `the category of product ${pid}`)),
      ),
    ),
  );
  // products of each department by category, for the lines drawn from a customer's favourite categories
  const byCategory = byDepartment.map((ps) =>
    CATEGORIES.map((cat) =>
      Int32Array.from(
        ps.filter((p) => p.category === cat),
        (p) => p.product_id,
      ),
    ),
  );

  const seen = new Uint32Array(products.length + 1);
  const seenWithCoupon = new Uint32Array(products.length + 1);
  const offers = new Growable();
  const customers: CustomerInfo[] = [];
  const preferences: CustomerPreferences[] = [];
  let orders = 0,
    totalLines = 0,
    totalCouponLines = 0;
  const years = o.historyDays / 365;

  for (let ci = 0; ci < o.customers; ci++) {
    const id = ci + 1;
    const rng = root.fork(`customer/${id}`);
    const gender = rng.chance(0.57) ? 'F' : 'M';
    const age = rng.int(18, 90);
    const ordersPerYear = 100 * Math.exp(rng.gaussian(0, 0.7) - 0.245);
    const prefs = customerPreferences(o.seed, id, gender, age);
    preferences.push(prefs);
    const weights = prefs.departmentWeights,
      thrift = prefs.thrift;
    const totalWeight = weights.reduce((a, b) => a + b, 0);

    const stamp = id;
    let lines = 0,
      couponLines = 0,
      uniqueProducts = 0,
      uniqueWithCoupon = 0,
      paid = 0,
      discountSum = 0;
    const buy = (pid: number, discount: number) => {
      lines++;
      paid += priceById[pid] * (1 - discount / 100);
      if (seen[pid] !== stamp) {
        seen[pid] = stamp;
        uniqueProducts++;
      }
      if (discount !== 0) {
        couponLines++;
        discountSum += discount;
        if (seenWithCoupon[pid] !== stamp) {
          seenWithCoupon[pid] = stamp;
          uniqueWithCoupon++;
        }
      }
    };
    const n = rng.poisson(ordersPerYear * years);
    const touched = new Int8Array(D);
    for (let k = 0; k < n; k++) {
      orders++;
      const day = rng.int(0, o.historyDays - 1);
      const r = rng.float();
      const want = r < 0.55 ? 1 : r < 0.85 ? 2 : 3;
      touched.fill(0);
      for (let t = 0, tries = 0; t < want && tries < 20; tries++) {
        let x = rng.float() * totalWeight,
          dep = 0;
        while (dep < D - 1 && x >= weights[dep]) {
          x -= weights[dep];
          dep++;
        }
        if (!touched[dep]) {
          touched[dep] = 1;
          t++;
        }
      }
      for (let dep = 0; dep < D; dep++) {
        if (!touched[dep]) continue;
        for (let m = 1 + rng.poisson(0.8); m > 0; m--) {
          // a third of the lines from a favourite category (when the department has one), the rest from anything
          let pool = pools[dep];
          if (rng.chance(1 / 3)) {
            const fav = byCategory[dep][prefs.favourites[rng.int(0, prefs.favourites.length - 1)]];
            if (fav.length) pool = fav;
          }
          const a = pool[rng.int(0, pool.length - 1)],
            b = pool[rng.int(0, pool.length - 1)];
          buy(rng.chance(thrift) && priceById[b] < priceById[a] ? b : a, 0);
        }
        for (let slot = 0; slot < 3; slot++) {
          const ki = active[(day * D + dep) * 3 + slot];
          const logit = logitOf(prefs, ki);
          const used = rng.float() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
          offers.push(ci, ki, used);
          if (!used) continue;
          const c = coupons[ki],
            ps = productsOf[ki];
          switch (c.coupon_type) {
            case 'just_discount':
              buy(ps[0], c.discount);
              break;
            case 'buy_more':
              for (let q = 0; q < c.how_many_products_required; q++) buy(ps[0], c.discount);
              break;
            case 'buy_all':
              for (const pid of ps) buy(pid, c.discount);
              break;
            case 'department':
              for (let q = rng.int(1, 3); q > 0; q--) buy(ps[rng.int(0, ps.length - 1)], c.discount);
              break;
          }
        }
      }
    }
    totalLines += lines;
    totalCouponLines += couponLines;
    customers.push({
      customer_id: id,
      gender,
      age,
      mean_buy_price: lines ? round2(paid / lines) : 0,
      total_coupons_used: couponLines,
      mean_discount_received: lines ? round2(discountSum / lines) : 0,
      unique_products_bought: uniqueProducts,
      unique_products_bought_with_coupons: uniqueWithCoupon,
      total_items_bought: lines,
    });
  }
  const history: OrderHistory = {
    orders,
    lines: totalLines,
    couponLines: totalCouponLines,
    offers: offers.length,
    offerCustomer: offers.customer.subarray(0, offers.length),
    offerCoupon: offers.coupon.subarray(0, offers.length),
    offerUsed: offers.used.subarray(0, offers.length),
  };
  return { customers, history, preferences };
}
