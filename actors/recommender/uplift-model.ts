/**
 * The uplift-aware policy (issue 34, POLICY=uplift): offer the coupon with the highest expected incremental margin,
 * and nothing where none is above MIN_EXPECTED_MARGIN. For customer c, coupon k of department d:
 *
 *   expected incremental margin = p̂(c, k) × (M_k − b̂(c, d))
 *
 * M_k is the coupon's margin after the discount (the store knows its margins; actors/data/product-margins.ts).
 * p̂ is the redemption model's score, recalibrated on the logged offers of random coupons (calibrationFeatures).
 * b̂ is what the shopper would have brought without a coupon: a logistic model of buying at a focus that was offered
 * nothing (department, gender and age band per department, the customer's mean buy price) times the mean margin
 * of those purchases in the department. Trained only on a log: a randomised holdout (focuses offered nothing) and
 * random offers, never on the shoppers' hidden preferences (scripts/train-uplift.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEPARTMENTS } from '../../schemas/departments.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../data/store-data.ts';
import { checkModel, createCouponScorer, type LoadedCouponModel } from './coupon-scorer.ts';
import type { CouponModelFile } from './coupon-model.ts';
import type { BoostedModelFile } from './boosted-scorer.ts';
import { fitLogistic } from './logistic-fit.ts';
import type { CouponCatalogue, PublishedCoupon } from './coupon-catalogue.ts';
import { couponMargin } from '../data/product-margins.ts';

export const DEFAULT_UPLIFT_MODEL_FILE = fileURLToPath(new URL('./uplift-model.json', import.meta.url));

export interface UpliftModelFile {
  format: 'storeflow/uplift-model@1';
  /** The redemption model whose scores are recalibrated. */
  redemption: CouponModelFile | BoostedModelFile;
  /** p̂ = σ(calibration · calibrationFeatures). */
  calibration: number[];
  /** Weights of the no-coupon purchase model over purchaseFeatures. */
  purchase: number[];
  /** Mean margin of a no-coupon purchase, per department (DEPARTMENTS order). */
  itemMargin: number[];
  training: Record<string, unknown>;
}

/** A focus of the log: who, which department, the coupon offered (none: the holdout), and what came of it. */
export interface LoggedFocus {
  customer: CustomerInfo;
  dep: number;
  coupon?: CouponInfo;
  redeemed: boolean;
  /** The margin realised at the focus. */
  margin: number;
}

const P = 4 * DEPARTMENTS.length + 1;
/** Per department: an intercept, woman, under 30, 60 and over; then ln(1 + mean_buy_price). */
export function purchaseFeatures(c: CustomerInfo, dep: number): Float64Array {
  const x = new Float64Array(P),
    age = Number(c.age),
    o = 4 * dep;
  x[o] = 1;
  x[o + 1] = c.gender === 'F' ? 1 : 0;
  x[o + 2] = age < 30 ? 1 : 0;
  x[o + 3] = age >= 60 ? 1 : 0;
  x[P - 1] = Math.log1p(Math.max(0, Number(c.mean_buy_price)));
  return x;
}

/**
 * What recalibrates the redemption model's score s for customer c and coupon k: 1, logit s, and what its linear
 * terms cannot say: the coupon's price against what the customer usually pays (ln(price / 10) alone and times
 * ln(1 + mean_buy_price)), and its discount.
 */
export function calibrationFeatures(c: CustomerInfo, k: CouponInfo, s: number): Float64Array {
  const price = Math.log(Math.max(Number(k.product_mean_price), 0.01) / 10);
  return Float64Array.of(1, logit(s), price, price * Math.log1p(Math.max(0, Number(c.mean_buy_price))), (Number(k.discount) - 30) / 10);
}
const CALIBRATION = 5;

const logit = (s: number) => Math.log(Math.max(s, 1e-9) / Math.max(1 - s, 1e-9));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Fits the uplift model on a log's holdout and random offers. */
export function trainUpliftModel(rows: readonly LoggedFocus[], base: LoadedCouponModel, training: Record<string, unknown> = {}): UpliftModelFile {
  const holdout = rows.filter((r) => !r.coupon),
    offers = rows.filter((r) => r.coupon);
  const purchase = fitLogistic(
    holdout.map((r) => purchaseFeatures(r.customer, r.dep)),
    holdout.map((r) => (r.margin > 0 ? 1 : 0)),
    { l2: 1, free: DEPARTMENTS.map((_, d) => 4 * d) },
  );
  const itemMargin = DEPARTMENTS.map((_, d) => {
    const bought = holdout.filter((r) => r.dep === d && r.margin > 0);
    return bought.length ? bought.reduce((a, r) => a + r.margin, 0) / bought.length : 0;
  });
  const calibration = fitLogistic(
    offers.map((r) => calibrationFeatures(r.customer, r.coupon as CouponInfo, base.scoreOne(r.customer, r.coupon as CouponInfo))),
    offers.map((r) => (r.redeemed ? 1 : 0)),
    { l2: 1, free: [0, 1] },
  );
  const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    format: 'storeflow/uplift-model@1',
    redemption: base.model,
    calibration: calibration.map(r6),
    purchase: purchase.map(r6),
    itemMargin: itemMargin.map(r6),
    training: { ...training, holdout: holdout.length, offers: offers.length, redeemed: offers.filter((r) => r.redeemed).length },
  };
}

/** The uplift policy's estimates for a customer in a department: what they bring without a coupon, and p̂ per coupon. */
export interface UpliftScorer extends CouponScorer {
  model: UpliftModelFile;
  synchronous: true;
  /** b̂(c, d): the expected margin of the focus without a coupon. */
  baseline(customer: CustomerInfo, dep: number): number;
  /** p̂ for each coupon. */
  redemption(customer: CustomerInfo, coupons: readonly CouponInfo[]): number[];
  /** Scores are expected incremental margins. */
  score(customer: CustomerInfo, coupons: readonly CouponInfo[]): number[];
}

/** The uplift policy as a scorer: its scores are expected incremental margins (margins by coupon id). */
export function createUpliftScorer(model: UpliftModelFile, marginOf: (couponId: number) => number | undefined): UpliftScorer {
  const base = createCouponScorer(model.redemption);
  const baseline = (c: CustomerInfo, dep: number) => {
    const x = purchaseFeatures(c, dep);
    let z = 0;
    for (let i = 0; i < x.length; i++) z += model.purchase[i] * x[i];
    return sigmoid(z) * (model.itemMargin[dep] ?? 0);
  };
  const redemption = (c: CustomerInfo, coupons: readonly CouponInfo[]) =>
    base.score(c, coupons).map((s, i) => {
      const x = calibrationFeatures(c, coupons[i], s);
      let z = 0;
      for (let j = 0; j < CALIBRATION; j++) z += model.calibration[j] * x[j];
      return sigmoid(z);
    });
  return {
    model,
    synchronous: true,
    baseline,
    redemption,
    score(customer, coupons) {
      if (coupons.length === 0) return [];
      const b0 = baseline(customer, DEPARTMENTS.indexOf(coupons[0].department));
      const p = redemption(customer, coupons);
      return coupons.map((k, i) => p[i] * ((marginOf(k.coupon_id) ?? 0) - b0));
    },
  };
}

const marginsOf = new WeakMap<CouponCatalogue, Map<number, number>>();
/**
 * A coupon's margin after the discount from the catalogue in memory (its published products' prices; the cache
 * tables have no margin rates, so every product counts at DEFAULT_MARGIN_RATE). Computed once per coupon.
 */
export function catalogueMargin(catalogue: CouponCatalogue, couponId: number): number | undefined {
  const known = marginsOf.get(catalogue) ?? new Map<number, number>();
  marginsOf.set(catalogue, known);
  const cached = known.get(couponId);
  if (cached !== undefined) return cached;
  const entry = catalogue.get(couponId);
  if (!entry) return undefined;
  const products = (JSON.parse(entry.json) as PublishedCoupon).products.map((p) => ({ buy_price: Number(p.buy_price) }));
  const m = couponMargin(entry.coupon, products);
  known.set(couponId, m);
  return m;
}

/** Reads and checks an uplift model file (default: the committed one). */
export function loadUpliftModel(file: string = DEFAULT_UPLIFT_MODEL_FILE): UpliftModelFile {
  let doc: UpliftModelFile;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the uplift model ${file}: ${(err as Error).message}`);
  }
  if (doc?.format !== 'storeflow/uplift-model@1') throw new Error(`${file}: not a storeflow uplift model (format ${doc?.format})`);
  checkModel(doc.redemption, `${file} (redemption)`);
  if (!Array.isArray(doc.calibration) || doc.calibration.length !== CALIBRATION || !Array.isArray(doc.purchase) || doc.purchase.length !== P)
    throw new Error(`${file}: calibration must list ${CALIBRATION} numbers, purchase ${P}`);
  if (!Array.isArray(doc.itemMargin) || doc.itemMargin.length !== DEPARTMENTS.length)
    throw new Error(`${file}: itemMargin must list ${DEPARTMENTS.length} numbers`);
  return doc;
}
