/**
 * The coupon model: a logistic regression over the 24 features, as a small JSON document, and
 * the pure code that trains and evaluates it (used by `npm run train`).
 *
 * Model: p = sigmoid(bias + Σ w_i · (t_i(x_i) − mean_i) / std_i), where t_i is log1p for the
 * counts and prices (so the model can weigh ratios such as coupons used / items bought, which
 * logs turn into differences) and the identity otherwise.
 *
 * Training: Newton's method (iteratively reweighted least squares) on the log-loss with a small
 * L2 penalty on the weights (it also settles the one-hot groups, which are collinear with the
 * bias). Each step solves (H + λI) Δ = g by Cholesky. No randomness, a fixed iteration order:
 * same data, same bytes.
 */
import { COUPON_FEATURES, FEATURE_COUNT, FEATURE_NAMES, writeCouponFeatures, writeCustomerFeatures } from './coupon-features.ts';
import type { GeneratedStore, StoreOptions } from '../data/store-generator.ts';
import { createPrng } from '../kernel/prng.ts';

export type Transform = 'log1p' | 'identity';

/** log1p for counts and prices, by feature position. */
export const FEATURE_TRANSFORMS: readonly Transform[] = FEATURE_NAMES.map((n) =>
  [
    'mean_buy_price',
    'total_coupons_used',
    'unique_products_bought',
    'unique_products_bought_with_coupons',
    'total_items_bought',
    'product_mean_price',
    'products_available',
  ].includes(n)
    ? 'log1p'
    : 'identity',
);

export interface ClassMetrics {
  rows: number;
  positiveRate: number;
  /** Average precision (area under the precision-recall curve, step-wise). */
  prAuc: number;
  bestF1: number;
  bestThreshold: number;
  f1At02: number;
  precisionAt02: number;
  recallAt02: number;
  /** Share of pairs scoring above 0.2 (PREDICTION_THRESHOLD's default). */
  shareAbove02: number;
}

export interface CouponModelFile {
  format: 'storeflow/coupon-model@1';
  kind: 'logistic-regression';
  features: string[];
  transform: Transform[];
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
  seed: number;
  store: StoreOptions;
  training: { rows: number; positives: number; heldOutShare: number; l2: number; iterations: number; logLoss: number };
  metrics: { heldOut: ClassMetrics; train: ClassMetrics };
}

const t = (tr: Transform, x: number) => (tr === 'log1p' ? Math.log1p(Math.max(0, x)) : x);

/** Transformed (not yet standardised) features of every customer and coupon of the store. */
function entityFeatures(store: GeneratedStore): { cust: Float64Array; coup: Float64Array } {
  const v = new Float64Array(FEATURE_COUNT);
  const cust = new Float64Array(store.customers.length * FEATURE_COUNT);
  store.customers.forEach((c, i) => {
    v.fill(0);
    writeCustomerFeatures(c, v);
    for (let f = 0; f < FEATURE_COUNT; f++) cust[i * FEATURE_COUNT + f] = t(FEATURE_TRANSFORMS[f], v[f]);
  });
  const coup = new Float64Array(store.coupons.length * FEATURE_COUNT);
  store.coupons.forEach((c, i) => {
    v.fill(0);
    writeCouponFeatures(c, v);
    for (let f = 0; f < FEATURE_COUNT; f++) coup[i * FEATURE_COUNT + f] = t(FEATURE_TRANSFORMS[f], v[f]);
  });
  return { cust, coup };
}

/** 20% of customers (by a seeded shuffle) are held out. */
export function heldOutCustomers(customers: number, seed: number, share = 0.2): Uint8Array {
  const order = createPrng(seed)
    .fork('train/split')
    .shuffle(Array.from({ length: customers }, (_, i) => i));
  const out = new Uint8Array(customers);
  for (let i = 0; i < Math.round(customers * share); i++) out[order[i]] = 1;
  return out;
}

/** Solves A x = b in place for symmetric positive definite A (n×n, row-major). */
function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Precision-recall figures of scores against labels. */
export function evaluate(scores: Float64Array, labels: Uint8Array): ClassMetrics {
  const n = scores.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  let tp = 0,
    fp = 0,
    ap = 0,
    prevRecall = 0,
    bestF1 = 0,
    bestThreshold = 1;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]];
    // a group of equal scores is one threshold
    while (i < n && scores[order[i]] === s) {
      if (labels[order[i]]) tp++;
      else fp++;
      i++;
    }
    const precision = tp / (tp + fp),
      recall = positives ? tp / positives : 0;
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > bestF1) {
      bestF1 = f1;
      bestThreshold = s;
    }
  }
  let tp2 = 0,
    fp2 = 0;
  for (let i = 0; i < n; i++)
    if (scores[i] > 0.2) {
      if (labels[i]) tp2++;
      else fp2++;
    }
  const p2 = tp2 + fp2 ? tp2 / (tp2 + fp2) : 0,
    r2 = positives ? tp2 / positives : 0;
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    rows: n,
    positiveRate: r4(positives / n),
    prAuc: r4(ap),
    bestF1: r4(bestF1),
    bestThreshold: r4(bestThreshold),
    f1At02: r4(p2 + r2 ? (2 * p2 * r2) / (p2 + r2) : 0),
    precisionAt02: r4(p2),
    recallAt02: r4(r2),
    shareAbove02: r4((tp2 + fp2) / n),
  };
}

export interface TrainOptions {
  heldOutShare?: number;
  l2?: number;
  maxIterations?: number;
}

/** Trains on the store's order history; returns the model file (metrics on the held-out customers). */
export function trainCouponModel(store: GeneratedStore, opts: TrainOptions = {}): CouponModelFile {
  const heldOutShare = opts.heldOutShare ?? 0.2,
    l2 = opts.l2 ?? 1,
    maxIterations = opts.maxIterations ?? 30;
  const F = FEATURE_COUNT,
    P = F + 1; // + bias (last)
  const { cust, coup } = entityFeatures(store);
  const h = store.history;
  const test = heldOutCustomers(store.customers.length, store.options.seed, heldOutShare);

  // standardisation over the training rows
  const mean = new Float64Array(F),
    sq = new Float64Array(F);
  let rows = 0,
    positives = 0;
  for (let r = 0; r < h.offers; r++) {
    const ci = h.offerCustomer[r];
    if (test[ci]) continue;
    const ko = h.offerCoupon[r] * F,
      co = ci * F;
    for (let f = 0; f < F; f++) {
      const x = cust[co + f] + coup[ko + f];
      mean[f] += x;
      sq[f] += x * x;
    }
    rows++;
    positives += h.offerUsed[r];
  }
  if (rows === 0) throw new Error('no training rows: the store has no order history');
  const std = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    mean[f] /= rows;
    const v = sq[f] / rows - mean[f] * mean[f];
    std[f] = v > 1e-12 ? Math.sqrt(v) : 1;
  }
  const custZ = new Float64Array(cust.length),
    coupZ = new Float64Array(coup.length);
  // customer and coupon features occupy disjoint positions: each side standardises its own and
  // leaves zeros elsewhere, so a pair's standardised vector is the sum of its two sides
  const owner = new Uint8Array(F); // 0 customer, 1 coupon
  for (const f of COUPON_FEATURES) owner[f] = 1;
  for (let i = 0; i < store.customers.length; i++) for (let f = 0; f < F; f++) custZ[i * F + f] = owner[f] === 0 ? (cust[i * F + f] - mean[f]) / std[f] : 0;
  for (let i = 0; i < store.coupons.length; i++) for (let f = 0; f < F; f++) coupZ[i * F + f] = owner[f] === 1 ? (coup[i * F + f] - mean[f]) / std[f] : 0;

  const w = new Float64Array(P);
  // start at the base rate
  w[F] = Math.log(positives / (rows - positives));
  const x = new Float64Array(P);
  x[F] = 1;
  let iterations = 0,
    logLoss = 0;
  for (; iterations < maxIterations; iterations++) {
    const g = new Float64Array(P),
      H = new Float64Array(P * P);
    logLoss = 0;
    for (let r = 0; r < h.offers; r++) {
      const ci = h.offerCustomer[r];
      if (test[ci]) continue;
      const ko = h.offerCoupon[r] * F,
        co = ci * F;
      let z = w[F];
      for (let f = 0; f < F; f++) {
        const v = custZ[co + f] + coupZ[ko + f];
        x[f] = v;
        z += w[f] * v;
      }
      const p = sigmoid(z),
        y = h.offerUsed[r];
      logLoss -= y ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
      const e = p - y,
        s = p * (1 - p);
      for (let i = 0; i < P; i++) {
        const xi = x[i];
        g[i] += e * xi;
        const sxi = s * xi,
          row = i * P;
        for (let j = 0; j <= i; j++) H[row + j] += sxi * x[j];
      }
    }
    for (let i = 0; i < P; i++) for (let j = 0; j < i; j++) H[j * P + i] = H[i * P + j];
    for (let i = 0; i < F; i++) {
      H[i * P + i] += l2;
      g[i] += l2 * w[i];
    }
    H[F * P + F] += 1e-9;
    const step = choleskySolve(H, g, P);
    let maxStep = 0;
    for (let i = 0; i < P; i++) {
      w[i] -= step[i];
      maxStep = Math.max(maxStep, Math.abs(step[i]));
    }
    if (maxStep < 1e-7) {
      iterations++;
      break;
    }
  }

  const score = (keep: 0 | 1): { s: Float64Array; y: Uint8Array } => {
    let n = 0;
    for (let r = 0; r < h.offers; r++) if (test[h.offerCustomer[r]] === keep) n++;
    const s = new Float64Array(n),
      y = new Uint8Array(n);
    for (let r = 0, k = 0; r < h.offers; r++) {
      const ci = h.offerCustomer[r];
      if (test[ci] !== keep) continue;
      const ko = h.offerCoupon[r] * F,
        co = ci * F;
      let z = w[F];
      for (let f = 0; f < F; f++) z += w[f] * (custZ[co + f] + coupZ[ko + f]);
      s[k] = sigmoid(z);
      y[k] = h.offerUsed[r];
      k++;
    }
    return { s, y };
  };
  const heldOut = score(1),
    train = score(0);
  return {
    format: 'storeflow/coupon-model@1',
    kind: 'logistic-regression',
    features: [...FEATURE_NAMES],
    transform: [...FEATURE_TRANSFORMS],
    mean: [...mean],
    std: [...std],
    weights: [...w.subarray(0, F)],
    bias: w[F],
    seed: store.options.seed,
    store: store.options,
    training: { rows, positives, heldOutShare, l2, iterations, logLoss: Math.round((logLoss / rows) * 1e6) / 1e6 },
    metrics: { heldOut: evaluate(heldOut.s, heldOut.y), train: evaluate(train.s, train.y) },
  };
}
