/**
 * Every customer's hidden preferences, and the redemption model they define: the probability that
 * the customer uses a coupon offered to them. The store generator draws each customer's order
 * history from these (which departments an order touches, how thrifty the products are, which of
 * the valid coupons the order uses), and the simulator's shoppers redeem an offered coupon with the
 * same probability. Nothing here is tuned to a model: the constants are the store's ground truth,
 * fixed before any model was compared against them (issue 23).
 *
 * A customer's preferences are a pure function of (seed, customer id, gender, age): the stream
 * `createPrng(seed).fork('preferences/<id>')`. So the simulator, given SEED and a `customer_info`
 * row, finds the same preferences the generator used, without the generator's history; for a data
 * set that was not generated (a CSV load) they are simply drawn the same way from gender and age.
 *
 * The redemption logit of customer c for coupon k, term by term, with what the 24 features of the
 * model (REFERENCE.md §2) can see of each:
 *
 * | term | value | what the features see |
 * |---|---|---|
 * | base | −4.0 | (the intercept: ~9.6 % of the history's offers are used; the original's 9.4 %) |
 * | proneness | N(0, 2) per customer | visible: coupons used per item bought (total_coupons_used, total_items_bought, …) |
 * | who | F +0.15; age ≥ 60 +0.3, < 30 −0.25 | visible: gender and age band |
 * | discount | appetite × (discount − 30), appetite U(0.04, 0.12) per customer | the discount is; the appetite only through mean_discount_received |
 * | price | −sensitivity × ln(product_mean_price / 10), sensitivity 0.2 + 1.0 × thrift, thrift U(0, 1) | the price is; thrift through mean_buy_price (thrifty customers buy the cheaper of two products) |
 * | effort | −0.25 × (items required − 1) | visible: how_many_products_required |
 * | type | TYPE_EFFECT[type] + affinity[type], affinity N(0, 0.5) per customer and type | the type is; the affinity is hidden |
 * | department | 0.6 × ln(weight[dep] / mean weight) | the gender and age part of the weight (an interaction of customer and coupon features); its lognormal noise (σ 0.7) is hidden |
 * | category | +1.0 × share of the coupon's products in the customer's 3 favourite categories (of 42) | hidden: no feature carries a category |
 *
 * The hidden part (type affinity, department noise, favourite categories) is what no model of these
 * features can learn; the oracle policy of `npm run bench:quality` knows it.
 */
import { DEPARTMENTS, type Department } from '../../schemas/departments.ts';
import { createPrng, type Prng } from '../kernel/prng.ts';
import { COUPON_TYPES, type CouponInfo, type CouponType } from './store-data.ts';

/** The 42 product categories, in the generator's order (a category's index is its position here). */
export const CATEGORIES = [
  'Onesy',
  'Flannel shirt',
  'Sweatshirt',
  'Vest top',
  'V-neck t-shirt',
  'Tank top',
  'Skinny jean',
  'Short sleeve Henley',
  'Wool hat',
  'Pajama pants',
  'Short sleeve polo',
  'Jeans',
  'Bathrobe',
  'T-shirt',
  'Skirt',
  'Overalls',
  'Hawaiian shirt',
  'Denim cut-offs',
  'Cotton oxford',
  'Dress socks',
  'Dress pants',
  'Cargo short',
  'Suspenders',
  'Beach sling',
  'Romper',
  'Rain jacket',
  'Bucket hat',
  'Sweat pants',
  'Dress',
  'Sport shorts',
  'Tuxedo',
  'Sport pants',
  'Sport jacket',
  'Bike short',
  'Blazer',
  'Hoodie',
  'Cardigan',
  'Leggings',
  'Swimsuit',
  'Parka',
  'Chinos',
  'Polo shirt',
];

/** The redemption model's constants (see the table above). */
export const REDEMPTION = {
  base: -4.0,
  pronenessSd: 2.0,
  female: 0.15,
  age60: 0.3,
  ageUnder30: -0.25,
  appetite: [0.04, 0.12] as const,
  sensitivity: [0.2, 1.0] as const,
  effort: -0.25,
  typeEffect: { just_discount: 0.35, buy_more: -0.1, buy_all: -0.45, department: 0.4 } as Record<CouponType, number>,
  typeAffinitySd: 0.5,
  department: 0.6,
  departmentNoiseSd: 0.7,
  favourites: 3,
  category: 1.0,
};

export interface CustomerPreferences {
  /** General coupon proneness (logit). */
  proneness: number;
  /** Logit per discount point above 30. */
  appetite: number;
  /** Chance of taking the cheaper of two products in an order, [0, 1). */
  thrift: number;
  /** How much a dearer product puts the customer off: logit per ln(price / 10). */
  sensitivity: number;
  /** Affinity per coupon type, in COUPON_TYPES order (hidden). */
  typeAffinity: number[];
  /** How often the customer shops each department, in DEPARTMENTS order (relative weights). */
  departmentWeights: number[];
  /** Indices into CATEGORIES of the favourite categories (hidden). */
  favourites: number[];
  /** The customer's own part of the logit (base, proneness, gender, age). */
  personal: number;
  /** The department term per department, 0.6 × ln(weight / mean weight). */
  departmentTerm: number[];
}

/** What the redemption model needs to know of a coupon. */
export interface CouponTraits {
  type: number;
  department: number;
  discount: number;
  /** Items the customer must buy: buy_more's count, buy_all's products, else 1. */
  required: number;
  meanPrice: number;
  /** Share of the coupon's products in each category (CATEGORIES order). */
  categoryShare: Float64Array;
}

/** Department weights from gender and age, times lognormal noise: their own, their children's, sport when young. */
function departmentWeights(rng: Prng, gender: string, age: number): number[] {
  const base: Record<Department, number> = {
    Men: gender === 'M' ? 3 : 0.8,
    Women: gender === 'F' ? 3 : 0.8,
    Sport: age < 30 ? 2.2 : age < 60 ? 1.2 : 0.6,
    Boys: age >= 28 && age < 60 ? 1.5 : age >= 60 ? 0.8 : 0.4,
    Girls: age >= 28 && age < 60 ? 1.5 : age >= 60 ? 0.8 : 0.4,
  };
  return DEPARTMENTS.map((d) => base[d] * Math.exp(rng.gaussian(0, REDEMPTION.departmentNoiseSd)));
}

/** The customer's hidden preferences: a pure function of the seed, the id, gender and age. */
export function customerPreferences(seed: number | string, customerId: number | string, gender: string, age: number): CustomerPreferences {
  const rng = createPrng(seed).fork(`preferences/${customerId}`);
  const R = REDEMPTION;
  const proneness = rng.gaussian(0, R.pronenessSd);
  const appetite = R.appetite[0] + rng.float() * (R.appetite[1] - R.appetite[0]);
  const thrift = rng.float();
  const typeAffinity = COUPON_TYPES.map(() => rng.gaussian(0, R.typeAffinitySd));
  const weights = departmentWeights(rng, gender, age);
  const favourites: number[] = [];
  while (favourites.length < R.favourites) {
    const c = rng.int(0, CATEGORIES.length - 1);
    if (!favourites.includes(c)) favourites.push(c);
  }
  const meanWeight = weights.reduce((a, b) => a + b, 0) / weights.length;
  return {
    proneness,
    appetite,
    thrift,
    sensitivity: R.sensitivity[0] + R.sensitivity[1] * thrift,
    typeAffinity,
    departmentWeights: weights,
    favourites,
    personal: R.base + proneness + (gender === 'F' ? R.female : 0) + (age >= 60 ? R.age60 : age < 30 ? R.ageUnder30 : 0),
    departmentTerm: weights.map((w) => R.department * Math.log(w / meanWeight)),
  };
}

/** A coupon's traits from its row and the categories of its products (one entry per product). */
export function couponTraits(
  coupon: Pick<CouponInfo, 'coupon_type' | 'department' | 'discount' | 'how_many_products_required' | 'product_mean_price'>,
  productCategories: readonly string[],
): CouponTraits {
  const share = new Float64Array(CATEGORIES.length);
  for (const c of productCategories) {
    const i = CATEGORIES.indexOf(c);
    if (i >= 0) share[i] += 1 / productCategories.length;
  }
  const t = coupon.coupon_type;
  const n = Number(coupon.how_many_products_required);
  return {
    type: COUPON_TYPES.indexOf(t),
    department: DEPARTMENTS.indexOf(coupon.department),
    discount: Number(coupon.discount),
    required: t === 'buy_more' ? n : t === 'buy_all' ? productCategories.length || n : 1,
    meanPrice: Number(coupon.product_mean_price),
    categoryShare: share,
  };
}

/** The coupon's own part of the logit, the same for every customer (type effect and effort). */
function couponPart(k: CouponTraits): number {
  return (REDEMPTION.typeEffect[COUPON_TYPES[k.type]] ?? 0) + REDEMPTION.effort * (k.required - 1);
}

/** The redemption logit of the customer for the coupon. */
export function redemptionLogit(p: CustomerPreferences, k: CouponTraits): number {
  let favourite = 0;
  for (const f of p.favourites) favourite += k.categoryShare[f];
  return (
    p.personal +
    couponPart(k) +
    p.appetite * (k.discount - 30) -
    p.sensitivity * Math.log(Math.max(k.meanPrice, 0.01) / 10) +
    (p.typeAffinity[k.type] ?? 0) +
    (p.departmentTerm[k.department] ?? 0) +
    REDEMPTION.category * favourite
  );
}

/** The probability that the customer uses (redeems) the coupon when it is offered. */
export function redemptionProbability(p: CustomerPreferences, k: CouponTraits): number {
  return 1 / (1 + Math.exp(-redemptionLogit(p, k)));
}

/**
 * `redemptionLogit` over a fixed list of coupons, with each coupon's own terms computed once: the
 * generator evaluates it for every (order, valid coupon) of the history (~1.5 M times). Equal to
 * `redemptionLogit(p, traits[k])`.
 */
export function redemptionLogits(traits: readonly CouponTraits[]): (p: CustomerPreferences, k: number) => number {
  const n = traits.length,
    C = CATEGORIES.length;
  const own = new Float64Array(n),
    discount = new Float64Array(n),
    lnPrice = new Float64Array(n);
  const type = new Int32Array(n),
    dep = new Int32Array(n),
    share = new Float64Array(n * C);
  traits.forEach((k, i) => {
    own[i] = couponPart(k);
    discount[i] = k.discount - 30;
    lnPrice[i] = Math.log(Math.max(k.meanPrice, 0.01) / 10);
    type[i] = k.type;
    dep[i] = k.department;
    share.set(k.categoryShare, i * C);
  });
  return (p, k) => {
    let favourite = 0;
    for (const f of p.favourites) favourite += share[k * C + f];
    return (
      p.personal +
      own[k] +
      p.appetite * discount[k] -
      p.sensitivity * lnPrice[k] +
      (p.typeAffinity[type[k]] ?? 0) +
      (p.departmentTerm[dep[k]] ?? 0) +
      REDEMPTION.category * favourite
    );
  };
}
