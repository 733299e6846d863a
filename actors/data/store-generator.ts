/**
 * The synthetic store: customers, products, coupons, coupon_product, and an order history from
 * which customer_info's aggregates are computed and the coupon model is trained. Pure and
 * deterministic: same options (seed included), same tables, same CSV bytes.
 *
 * Shape (REFERENCE.md §3): 57% F, ages 18–90; ~600 products per department, 42 categories,
 * 31 vendors, 8 size strings, prices with median ~8, mean ~14.5 and a tail to ~2400; per
 * department three coupon "slots", each a back-to-back run of coupons lasting 1–30 days, so exactly
 * three coupons of every department are valid on every day of the window; ~300 orders per customer
 * over the history's three years, ~30% of order lines bought with a coupon.
 *
 * Coupon use follows every customer's hidden preferences (actors/data/customer-preferences.ts): which
 * departments an order touches, how thrifty its products are, and which of the valid coupons it
 * uses, by the same redemption model the simulator's shoppers follow. Part of those preferences is
 * visible through the 24 features, part is not (favourite categories, coupon-type affinity, the
 * noise in department weights).
 */
import { DEPARTMENTS, type Department } from '../../schemas/departments.ts';
import { createPrng, type Prng } from '../kernel/prng.ts';
import { CATEGORIES, couponTraits, customerPreferences, redemptionLogits, type CustomerPreferences } from './customer-preferences.ts';
import { round2, type CouponProduct, type StoreTables } from './store-csv.ts';
import type { CouponInfo, CouponType, CustomerInfo, ProductInfo } from './store-data.ts';

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

export interface GeneratedStore extends StoreTables {
  options: StoreOptions;
  history: OrderHistory;
  /** Each customer's hidden preferences (same order as `customers`). */
  preferences: CustomerPreferences[];
}

export const SIZES = ['22-44', '28-38', '28-48', '32-48', 'S-L', 'S-XL', 'XS-XXL', 'one-size'];
export const VENDORS = [
  'Acrylick',
  'Adidas',
  'Aeropostale',
  'Armani',
  'Bellerose',
  'CLSC',
  'Calvin Klein',
  'Carhartt',
  'Chanel',
  'Converse',
  'Diesel',
  'Dior',
  'Fred Perry',
  'Gap',
  'Gucci',
  'Guess',
  'Gymboree',
  'H & M',
  'Hugo Boss',
  'Izod',
  'J.Crew',
  'Lacoste',
  'Levis',
  'Nike',
  'Nununu',
  'Polo',
  'Prada',
  'Puma',
  'TinyCottons',
  'Versace',
  'ZARA',
];
export { CATEGORIES };
const COLORS = [
  'Acid green',
  'Aero blue',
  'African violet',
  'Alice blue',
  'Almond',
  'Amaranth',
  'Amber',
  'Amethyst',
  'Android green',
  'Antique brass',
  'Apple green',
  'Aqua',
  'Aquamarine',
  'Arctic lime',
  'Army green',
  'Artichoke',
  'Ash gray',
  'Asparagus',
  'Auburn',
  'Avocado',
  'Azure',
  'Baby blue',
  'Baby pink',
  'Barn red',
  'Beige',
  'Bisque',
  'Black',
  'Blond',
  'Blood red',
  'Blue',
  'Blue-gray',
  'Blush',
  'Bone',
  'Bottle green',
  'Brandy',
  'Brick red',
  'Bright lilac',
  'Brown',
  'Bud green',
  'Burgundy',
  'Burnt sienna',
  'Cadet blue',
  'Camel',
  'Cameo pink',
  'Canary',
  'Caribbean green',
  'Carmine',
  'Celadon',
  'Cerise',
  'Cerulean',
  'Champagne',
  'Charm pink',
  'Chestnut',
  'Cinnabar',
  'Claret',
  'Cobalt blue',
  'Coffee',
  'Copper',
  'Copper rose',
  'Coral',
  'Cornsilk',
  'Cream',
  'Crimson',
  'Cyan',
  'Dark brown',
  'Denim',
  'Desert',
  'Duke blue',
  'Dutch white',
  'Earth yellow',
  'Ebony',
  'Ecru',
  'Eggplant',
  'Emerald',
  'Fawn',
  'Fern green',
  'Fire engine red',
  'Firebrick',
  'Flirt',
  'French pink',
  'Fuchsia',
  'Fuchsia rose',
];
const SYLLABLES = [
  'TIN',
  'GLE',
  'EDEN',
  'VEEN',
  'YOU',
  'OU',
  'HE',
  'ME',
  'AN',
  'HIN',
  'AND',
  'WA',
  'MEEN',
  'KA',
  'LO',
  'RI',
  'SA',
  'TO',
  'NU',
  'BE',
  'ZE',
  'QUI',
  'DOR',
  'FAL',
  'MIR',
  'OS',
  'PEL',
  'RA',
  'SHI',
  'VAN',
];

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
  const byDepartment = DEPARTMENTS.map((d) => products.filter((p) => p.department === d));
  const { coupons, couponProducts, active } = generateCoupons(root, o.days, dates, byDepartment);
  const { customers, history, preferences } = generateCustomers(root, o, products, byDepartment, coupons, couponProducts, active);
  return { options: o, customers, products, coupons, couponProducts, history, preferences };
}

function productName(rng: Prng): string {
  let s = '';
  for (let n = rng.int(1, 4); n > 0; n--) s += rng.pick(SYLLABLES);
  return s;
}

/** Long tail: lognormal around 8 for most, a few luxury items log-uniform up to 2400. */
function price(rng: Prng): number {
  const x = rng.chance(0.005) ? Math.exp(Math.log(50) + rng.float() * Math.log(2400 / 50)) : Math.exp(rng.gaussian(Math.log(8), 0.85));
  // cents × 0.01 gives the original's float artefacts (5.3100000000000005)
  return Math.max(50, Math.round(x * 100)) * 0.01;
}

function generateProducts(rng: Prng, n: number): ProductInfo[] {
  const out: ProductInfo[] = [];
  for (let id = 1; id <= n; id++) {
    // the first products cover every department, so tiny stores still have each
    const department = id <= DEPARTMENTS.length * 10 ? DEPARTMENTS[(id - 1) % DEPARTMENTS.length] : rng.pick(DEPARTMENTS);
    const category = rng.pick(CATEGORIES);
    const sizes = rng.pick(SIZES);
    const vendor = rng.pick(VENDORS);
    const name = `${productName(rng)} - ${rng.pick(COLORS)} ${category} for ${department}`;
    out.push({
      product_id: id,
      name,
      category,
      sizes,
      vendor,
      description: `${name} by ${vendor}. Available sizes ${sizes}`,
      buy_price: price(rng),
      department,
    });
  }
  return out;
}

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

function generateCoupons(root: Prng, days: number, dates: string[], byDepartment: ProductInfo[][]) {
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
      sum += priceOf.get(pid)!;
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

class Growable {
  customer = new Int32Array(1 << 16);
  coupon = new Int32Array(1 << 16);
  used = new Uint8Array(1 << 16);
  length = 0;
  push(c: number, k: number, u: number) {
    if (this.length === this.customer.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as any)(a.length * 2);
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

function generateCustomers(
  root: Prng,
  o: StoreOptions,
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
        productsOf[i].map((pid) => categoryOf.get(pid)!),
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
