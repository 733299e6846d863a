/**
 * Serving a gradient-boosted coupon model (the file gradient-boosting.ts trains): the model file's shape, its
 * check, and the scorer. Apart from the training because every recommender loads this, and only `npm run train`
 * needs the training.
 *
 * Why oblivious trees score fast: a tree of depth D is D comparisons and one lookup, and a level that asks
 * about a customer feature has the same answer for every coupon of a call, so the scorer answers those once
 * per call and the coupon levels once per candidate list (cached like the logistic regression's coupon
 * parts): scoring a pair is one OR and one array read per tree.
 */
import { COUPON_FEATURES, FEATURE_COUNT, writeCouponFeatures, writeCustomerFeatures } from './coupon-features.ts';
import type { ClassMetrics } from './coupon-model.ts';
import type { StoreOptions } from '../data/store-generator.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../data/store-data.ts';

export interface BoostedTree {
  /** Per level, from the root: the feature index and the threshold (`x > threshold` sets the level's bit). */
  features: number[];
  thresholds: number[];
  /** 2^depth leaf values; the root's answer is the highest bit of the index. */
  leaves: number[];
}

export interface BoostedModelFile {
  format: 'storeflow/coupon-model@1';
  kind: 'gradient-boosted-trees';
  features: string[];
  bias: number;
  trees: BoostedTree[];
  seed: number;
  store: StoreOptions;
  training: {
    rows: number;
    positives: number;
    heldOutShare: number;
    depth: number;
    trees: number;
    learningRate: number;
    l2: number;
    bins: number;
    logLoss: number;
  };
  metrics: { heldOut: ClassMetrics; train: ClassMetrics };
}

/** Checks a boosted model document's shape; throws naming what is wrong. */
export function checkBoostedModel(m: Record<string, unknown>, fail: (why: string) => never): BoostedModelFile {
  if (typeof m.bias !== 'number' || !Number.isFinite(m.bias)) fail('bias must be a finite number');
  if (!Array.isArray(m.trees) || m.trees.length === 0) fail('trees must be a non-empty list');
  for (const [i, t] of m.trees.entries()) {
    const d = Array.isArray(t?.features) ? t.features.length : -1;
    if (d < 1 || d > 12 || !Array.isArray(t.thresholds) || t.thresholds.length !== d || !Array.isArray(t.leaves) || t.leaves.length !== 1 << d)
      fail(`tree ${i}: features and thresholds of one depth (1–12), 2^depth leaves`);
    if (!t.features.every((f: unknown) => Number.isInteger(f) && (f as number) >= 0 && (f as number) < FEATURE_COUNT))
      fail(`tree ${i}: feature indices 0–${FEATURE_COUNT - 1}`);
    if (![...t.thresholds, ...t.leaves].every((x: unknown) => typeof x === 'number' && Number.isFinite(x)))
      fail(`tree ${i}: thresholds and leaves must be finite numbers`);
  }
  return m as unknown as BoostedModelFile;
}

export interface BoostedScorer extends CouponScorer {
  model: BoostedModelFile;
  score(customer: CustomerInfo, coupons: readonly CouponInfo[]): number[];
  scoreOne(customer: CustomerInfo, coupon: CouponInfo): number;
}

/**
 * A scorer over a boosted model. Per call the customer's bits of every tree (its levels on customer
 * features); per candidate list, cached, each coupon's bits (its levels on coupon features); per pair
 * one OR and one read per tree.
 */
export function createBoostedScorer(model: BoostedModelFile): BoostedScorer {
  const F = FEATURE_COUNT,
    T = model.trees.length;
  const isCoupon = new Uint8Array(F);
  for (const f of COUPON_FEATURES) isCoupon[f] = 1;
  const leafBase = new Int32Array(T);
  const leaves = new Float64Array(model.trees.reduce((s, t) => s + t.leaves.length, 0));
  // the levels of every tree on each side, flat: tree t's are [start[t], start[t + 1]) — (feature, threshold, bit)
  const side = (coupon: 0 | 1) => {
    const start = new Int32Array(T + 1),
      f: number[] = [],
      thr: number[] = [],
      bit: number[] = [];
    model.trees.forEach((t, i) => {
      start[i] = f.length;
      t.features.forEach((x, l) => {
        if (isCoupon[x] === coupon) {
          f.push(x);
          thr.push(t.thresholds[l]);
          bit.push(1 << (t.features.length - 1 - l));
        }
      });
    });
    start[T] = f.length;
    return { start, f: Int32Array.from(f), thr: Float64Array.from(thr), bit: Int32Array.from(bit) };
  };
  const cs = side(0),
    ks = side(1);
  let at = 0;
  model.trees.forEach((t, i) => {
    leafBase[i] = at;
    leaves.set(t.leaves, at);
    at += t.leaves.length;
  });

  const v = new Float64Array(F),
    cb = new Int32Array(T);
  /** Into `cb`: per tree, its first leaf plus the customer's bits (distinct powers of two: adding is OR-ing). */
  const customerBits = (c: CustomerInfo) => {
    writeCustomerFeatures(c, v);
    for (let t = 0; t < T; t++) {
      let a = leafBase[t];
      for (let j = cs.start[t], e = cs.start[t + 1]; j < e; j++) if (v[cs.f[j]] > cs.thr[j]) a += cs.bit[j];
      cb[t] = a;
    }
  };
  const w = new Float64Array(F);
  const couponBits = (k: CouponInfo, out: Int32Array, offset: number) => {
    writeCouponFeatures(k, w);
    for (let t = 0; t < T; t++) {
      let a = 0;
      for (let j = ks.start[t], e = ks.start[t + 1]; j < e; j++) if (w[ks.f[j]] > ks.thr[j]) a += ks.bit[j];
      out[offset + t] = a;
    }
  };
  // the coupon bits of a candidate list, once per list (the catalogue hands out the same arrays)
  const bitsOf = new WeakMap<readonly CouponInfo[], Int32Array>();
  const listBits = (coupons: readonly CouponInfo[]) => {
    let b = bitsOf.get(coupons);
    if (!b) {
      b = new Int32Array(coupons.length * T);
      for (let i = 0; i < coupons.length; i++) couponBits(coupons[i], b, i * T);
      bitsOf.set(coupons, b);
    }
    return b;
  };
  const one = new Int32Array(T);
  const bias = model.bias;
  return {
    model,
    synchronous: true,
    score(customer, coupons) {
      customerBits(customer);
      const kb = listBits(coupons);
      const out = new Array<number>(coupons.length);
      for (let i = 0, o = 0; i < coupons.length; i++, o += T) {
        let z = bias;
        for (let t = 0; t < T; t++) z += leaves[cb[t] + kb[o + t]];
        out[i] = 1 / (1 + Math.exp(-z));
      }
      return out;
    },
    scoreOne(customer, coupon) {
      customerBits(customer);
      couponBits(coupon, one, 0);
      let z = bias;
      for (let t = 0; t < T; t++) z += leaves[cb[t] + one[t]];
      return 1 / (1 + Math.exp(-z));
    },
  };
}
