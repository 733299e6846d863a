/**
 * A gradient-boosted coupon model over the same 24 features: a small, dependency-free
 * implementation of boosted *oblivious* (symmetric) decision trees, as CatBoost grows them, on the
 * log-loss, with a JSON model file and deterministic training.
 *
 * Model: p = sigmoid(bias + Σ_t leaf_t[index_t(x)]), where tree t asks one question per level,
 * the same for every node of the level (`x[feature] > threshold`), and the answers' bits are the
 * leaf index (the file's shape and its scorer: boosted-scorer.ts).
 *
 * Training (`trainBoostedModel`): the rows are (customer, coupon) pairs of the order history
 * (REFERENCE.md §2), and every feature belongs to one side, so each feature is binned once per
 * customer or coupon (≤ 64 bins at weighted quantiles of the training rows), and a level's
 * histograms are built from per-(node, customer) and per-(node, coupon) sums of the gradients:
 * two passes over the rows per level, not one per feature. Each level takes the split with the
 * largest Newton gain summed over the level's nodes; leaves are −rate · G / (H + λ), rounded to
 * 1e-6 (the rounded values are the ones boosting continues from, so the file is exactly the model
 * that was evaluated). No randomness, a fixed iteration order, first-best ties: same data, same bytes.
 */
import { COUPON_FEATURES, FEATURE_COUNT, FEATURE_NAMES, writeCouponFeatures, writeCustomerFeatures } from './coupon-features.ts';
import { evaluate, heldOutCustomers, type ClassMetrics } from './coupon-model.ts';
import { createBoostedScorer, type BoostedModelFile, type BoostedTree } from './boosted-scorer.ts';
import type { GeneratedStore } from '../data/store-generator.ts';

export interface BoostOptions {
  heldOutShare?: number;
  depth?: number;
  trees?: number;
  learningRate?: number;
  l2?: number;
  bins?: number;
}
export const BOOST_DEFAULTS: Required<BoostOptions> = { heldOutShare: 0.2, depth: 6, trees: 200, learningRate: 0.1, l2: 1, bins: 64 };

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Raw feature values of every customer and coupon (each side writes only its own positions). */
function entityValues(store: GeneratedStore) {
  const F = FEATURE_COUNT,
    v = new Float64Array(F);
  const cust = new Float64Array(store.customers.length * F),
    coup = new Float64Array(store.coupons.length * F);
  store.customers.forEach((c, i) => {
    v.fill(0);
    writeCustomerFeatures(c, v);
    cust.set(v, i * F);
  });
  store.coupons.forEach((c, i) => {
    v.fill(0);
    writeCouponFeatures(c, v);
    coup.set(v, i * F);
  });
  return { cust, coup };
}

/** Bin edges at weighted quantiles: bin(x) = number of edges below x, so `x > edges[b]` ⇔ bin(x) > b. */
function edgesOf(values: Float64Array, weights: Float64Array, maxBins: number): number[] {
  const order = Array.from(values.keys())
    .filter((i) => weights[i] > 0)
    .sort((a, b) => values[a] - values[b] || a - b);
  const distinct: { v: number; w: number }[] = [];
  for (const i of order) {
    const last = distinct[distinct.length - 1];
    if (last && last.v === values[i]) last.w += weights[i];
    else distinct.push({ v: values[i], w: weights[i] });
  }
  if (distinct.length <= maxBins) return distinct.slice(0, -1).map((d) => d.v);
  const total = distinct.reduce((s, d) => s + d.w, 0);
  const edges: number[] = [];
  let cum = 0;
  for (let k = 0; k < distinct.length - 1; k++) {
    cum += distinct[k].w;
    if (cum >= ((edges.length + 1) * total) / maxBins) edges.push(distinct[k].v);
  }
  return edges;
}

function binOf(x: number, edges: readonly number[]): number {
  let lo = 0,
    hi = edges.length; // first edge ≥ x
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Trains on the store's order history, holding out the same 20% of customers as the logistic regression. */
export function trainBoostedModel(store: GeneratedStore, opts: BoostOptions = {}): BoostedModelFile {
  const o = { ...BOOST_DEFAULTS, ...opts };
  const F = FEATURE_COUNT,
    D = o.depth,
    L = 1 << D;
  const h = store.history,
    NC = store.customers.length,
    NK = store.coupons.length;
  const test = heldOutCustomers(NC, store.options.seed, o.heldOutShare);
  const isCoupon = new Uint8Array(F);
  for (const f of COUPON_FEATURES) isCoupon[f] = 1;

  // training rows, and how many each customer and coupon has (the quantiles' weights)
  const rowIdx: number[] = [];
  const custRows = new Float64Array(NC),
    coupRows = new Float64Array(NK);
  let positives = 0;
  for (let r = 0; r < h.offers; r++) {
    if (test[h.offerCustomer[r]]) continue;
    rowIdx.push(r);
    custRows[h.offerCustomer[r]]++;
    coupRows[h.offerCoupon[r]]++;
    positives += h.offerUsed[r];
  }
  const N = rowIdx.length;
  if (N === 0) throw new Error('no training rows: the store has no order history');
  const rc = Int32Array.from(rowIdx, (r) => h.offerCustomer[r]),
    rk = Int32Array.from(rowIdx, (r) => h.offerCoupon[r]);
  const y = Uint8Array.from(rowIdx, (r) => h.offerUsed[r]);

  const { cust, coup } = entityValues(store);
  const edges: number[][] = [];
  const custBin = new Uint8Array(NC * F),
    coupBin = new Uint8Array(NK * F);
  for (let f = 0; f < F; f++) {
    const side = isCoupon[f] ? coup : cust,
      n = isCoupon[f] ? NK : NC,
      w = isCoupon[f] ? coupRows : custRows;
    const vals = new Float64Array(n);
    for (let i = 0; i < n; i++) vals[i] = side[i * F + f];
    const e = edgesOf(vals, w, o.bins);
    edges.push(e);
    const bins = isCoupon[f] ? coupBin : custBin;
    for (let i = 0; i < n; i++) bins[i * F + f] = binOf(vals[i], e);
  }

  const bias = Math.log(positives / (N - positives));
  const score = new Float64Array(N).fill(bias);
  const g = new Float64Array(N),
    hess = new Float64Array(N);
  const node = new Int32Array(N);
  const trees: BoostedTree[] = [];
  const B = o.bins;
  // per level: gradient sums per (node, customer) and per (node, coupon), then per (node, feature, bin)
  const gc = new Float64Array(L * NC),
    hc = new Float64Array(L * NC),
    gk = new Float64Array(L * NK),
    hk = new Float64Array(L * NK);
  const hg = new Float64Array(L * F * B),
    hh = new Float64Array(L * F * B);

  for (let t = 0; t < o.trees; t++) {
    for (let i = 0; i < N; i++) {
      const p = sigmoid(score[i]);
      g[i] = p - y[i];
      hess[i] = p * (1 - p);
    }
    node.fill(0);
    const tree: BoostedTree = { features: [], thresholds: [], leaves: [] };
    for (let level = 0; level < D; level++) {
      const nodes = 1 << level;
      gc.fill(0, 0, nodes * NC);
      hc.fill(0, 0, nodes * NC);
      gk.fill(0, 0, nodes * NK);
      hk.fill(0, 0, nodes * NK);
      for (let i = 0; i < N; i++) {
        const a = node[i] * NC + rc[i],
          b = node[i] * NK + rk[i];
        gc[a] += g[i];
        hc[a] += hess[i];
        gk[b] += g[i];
        hk[b] += hess[i];
      }
      hg.fill(0, 0, nodes * F * B);
      hh.fill(0, 0, nodes * F * B);
      for (let n = 0; n < nodes; n++) {
        for (let c = 0; c < NC; c++) {
          const G = gc[n * NC + c],
            H = hc[n * NC + c];
          if (H === 0) continue;
          for (let f = 0; f < F; f++)
            if (!isCoupon[f]) {
              const at = (n * F + f) * B + custBin[c * F + f];
              hg[at] += G;
              hh[at] += H;
            }
        }
        for (let k = 0; k < NK; k++) {
          const G = gk[n * NK + k],
            H = hk[n * NK + k];
          if (H === 0) continue;
          for (let f = 0; f < F; f++)
            if (isCoupon[f]) {
              const at = (n * F + f) * B + coupBin[k * F + f];
              hg[at] += G;
              hh[at] += H;
            }
        }
      }
      // the split with the largest gain summed over the level's nodes
      let bestGain = 0,
        bestF = -1,
        bestB = -1;
      for (let f = 0; f < F; f++) {
        const nb = edges[f].length;
        if (nb === 0) continue;
        const gain = new Float64Array(nb);
        for (let n = 0; n < nodes; n++) {
          const base = (n * F + f) * B;
          let GT = 0,
            HT = 0;
          for (let b = 0; b <= nb; b++) {
            GT += hg[base + b];
            HT += hh[base + b];
          }
          if (HT === 0) continue;
          const parent = (GT * GT) / (HT + o.l2);
          let GL = 0,
            HL = 0;
          for (let b = 0; b < nb; b++) {
            GL += hg[base + b];
            HL += hh[base + b];
            const GR = GT - GL,
              HR = HT - HL;
            gain[b] += (GL * GL) / (HL + o.l2) + (GR * GR) / (HR + o.l2) - parent;
          }
        }
        for (let b = 0; b < nb; b++)
          if (gain[b] > bestGain + 1e-12) {
            bestGain = gain[b];
            bestF = f;
            bestB = b;
          }
      }
      if (bestF < 0) {
        bestF = 0;
        bestB = edges[0].length;
      } // nothing gains: a level that sends everything left
      tree.features.push(bestF);
      tree.thresholds.push(bestB < edges[bestF].length ? edges[bestF][bestB] : Number.MAX_VALUE);
      const bins = isCoupon[bestF] ? coupBin : custBin,
        side = isCoupon[bestF] ? rk : rc;
      for (let i = 0; i < N; i++) node[i] = node[i] * 2 + (bins[side[i] * F + bestF] > bestB ? 1 : 0);
    }
    const G = new Float64Array(L),
      H = new Float64Array(L);
    for (let i = 0; i < N; i++) {
      G[node[i]] += g[i];
      H[node[i]] += hess[i];
    }
    for (let l = 0; l < L; l++) tree.leaves.push(round6(H[l] > 0 ? (-o.learningRate * G[l]) / (H[l] + o.l2) : 0));
    for (let i = 0; i < N; i++) score[i] += tree.leaves[node[i]];
    trees.push(tree);
  }
  let logLoss = 0;
  for (let i = 0; i < N; i++) {
    const p = sigmoid(score[i]);
    logLoss -= y[i] ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
  }

  const model: BoostedModelFile = {
    format: 'storeflow/coupon-model@1',
    kind: 'gradient-boosted-trees',
    features: [...FEATURE_NAMES],
    bias,
    trees,
    seed: store.options.seed,
    store: store.options,
    training: {
      rows: N,
      positives,
      heldOutShare: o.heldOutShare,
      depth: D,
      trees: o.trees,
      learningRate: o.learningRate,
      l2: o.l2,
      bins: o.bins,
      logLoss: Math.round((logLoss / N) * 1e6) / 1e6,
    },
    metrics: { heldOut: undefined as unknown as ClassMetrics, train: undefined as unknown as ClassMetrics },
  };
  // the metrics come from the scorer itself, so they are the figures of the file as served
  const scorer = createBoostedScorer(model);
  const split = (keep: 0 | 1) => {
    const s: number[] = [],
      lab: number[] = [];
    for (let r = 0; r < h.offers; r++) {
      if (test[h.offerCustomer[r]] !== keep) continue;
      s.push(scorer.scoreOne(store.customers[h.offerCustomer[r]], store.coupons[h.offerCoupon[r]]));
      lab.push(h.offerUsed[r]);
    }
    return evaluate(Float64Array.from(s), Uint8Array.from(lab));
  };
  model.metrics = { heldOut: split(1), train: split(0) };
  return model;
}
