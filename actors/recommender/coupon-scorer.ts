/**
 * In-process coupon scoring over the committed model (actors/recommender/coupon-model.json): a logistic
 * regression or gradient-boosted trees (actors/recommender/gradient-boosting.ts), by the file's `kind`. The logistic
 * regression folds standardisation into the weights once, splits into a customer part (computed
 * once per call) and a coupon part (four numbers and two table lookups), so a call costs a few
 * nanoseconds per coupon.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEPARTMENTS } from '../../schemas/departments.ts';
import { FEATURE_COUNT, FEATURE_NAMES, requiredItems } from './coupon-features.ts';
import type { CouponModelFile } from './coupon-model.ts';
import { checkBoostedModel, createBoostedScorer, type BoostedModelFile } from './boosted-scorer.ts';
import { COUPON_TYPES, type CouponInfo, type CouponScorer, type CustomerInfo } from '../data/store-data.ts';

export const DEFAULT_MODEL_FILE = fileURLToPath(new URL('./coupon-model.json', import.meta.url));

export interface LoadedCouponModel extends CouponScorer {
  model: CouponModelFile | BoostedModelFile;
  readonly version: string;
  score(customer: CustomerInfo, coupons: readonly CouponInfo[]): number[];
  /** The score of one pair. */
  scoreOne(customer: CustomerInfo, coupon: CouponInfo): number;
}

/** Checks the document's shape; throws naming what is wrong. */
export function checkModel(doc: unknown, source = 'model'): CouponModelFile | BoostedModelFile {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a storeflow coupon model (${why})`);
  };
  if (!doc || typeof doc !== 'object') fail('not a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.format !== 'storeflow/coupon-model@1' || (m.kind !== 'logistic-regression' && m.kind !== 'gradient-boosted-trees'))
    fail(`format ${m.format}, kind ${m.kind}`);
  if (!Array.isArray(m.features) || m.features.join() !== FEATURE_NAMES.join()) fail('feature order differs from actors/recommender/coupon-features.ts');
  if (m.kind === 'gradient-boosted-trees') return checkBoostedModel(m, fail);
  for (const k of ['transform', 'mean', 'std', 'weights'] as const)
    if (!Array.isArray(m[k]) || m[k].length !== FEATURE_COUNT) fail(`${k} must list ${FEATURE_COUNT} values`);
  for (const k of ['mean', 'std', 'weights'] as const)
    if (!(m[k] as unknown[]).every((x: unknown) => typeof x === 'number' && Number.isFinite(x))) fail(`${k} must be finite numbers`);
  if (typeof m.bias !== 'number' || !Number.isFinite(m.bias)) fail('bias must be a finite number');
  return m as unknown as CouponModelFile;
}

/**
 * The model's content hash, `sha256:` and the hex digest of its JSON without whitespace (the file's key order): the log
 * names the model its decisions were scored with, and a replay finds the file that holds it.
 */
export function modelVersion(model: CouponModelFile | BoostedModelFile): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(model)).digest('hex')}`;
}

/** A scorer over a model document. */
export function createCouponScorer(model: CouponModelFile | BoostedModelFile): LoadedCouponModel {
  const version = modelVersion(model);
  if (model.kind === 'gradient-boosted-trees') return { ...createBoostedScorer(model), version };
  const F = FEATURE_COUNT;
  // a_i · t(x_i) + const  ≡  w_i · (t(x_i) − mean_i) / std_i
  const a = new Float64Array(F);
  let bias = model.bias;
  for (let i = 0; i < F; i++) {
    a[i] = model.weights[i] / model.std[i];
    bias -= a[i] * model.mean[i];
  }
  const log = model.transform.map((t) => t === 'log1p');
  // biome-ignore lint/complexity/useMathMinMax: a NaN feature counts as 0 here, where Math.max would pass NaN on
  const tr = (i: number, x: number) => (log[i] ? Math.log1p(x > 0 ? x : 0) : x);
  const typeWeight = new Map<string, number>(COUPON_TYPES.map((t, k) => [t, a[15 + k]]));
  const departmentWeight = new Map<string, number>(DEPARTMENTS.map((d, k) => [d, a[19 + k]]));
  const [a6, a7, a8, a9] = [a[6], a[7], a[8], a[9]];
  const [l6, l7, l8, l9] = [log[6], log[7], log[8], log[9]];

  const customerPart = (c: CustomerInfo): number => {
    const age = Number(c.age);
    return (
      bias +
      a[0] * tr(0, Number(c.mean_buy_price)) +
      a[1] * tr(1, Number(c.total_coupons_used)) +
      a[2] * tr(2, Number(c.mean_discount_received)) +
      a[3] * tr(3, Number(c.unique_products_bought)) +
      a[4] * tr(4, Number(c.unique_products_bought_with_coupons)) +
      a[5] * tr(5, Number(c.total_items_bought)) +
      (age < 30 ? a[10] : age < 60 ? a[11] : a[12]) +
      (c.gender === 'F' ? a[13] : c.gender === 'M' ? a[14] : 0)
    );
  };
  const couponPart = (k: CouponInfo): number => {
    const d = Number(k.discount),
      n = requiredItems(k),
      p = Number(k.product_mean_price),
      m = Number(k.products_available);
    return (
      // biome-ignore lint/complexity/useMathMinMax: as tr above, NaN counts as 0
      a6 * (l6 ? Math.log1p(d > 0 ? d : 0) : d) +
      a7 * (l7 ? Math.log1p(n) : n) +
      // biome-ignore lint/complexity/useMathMinMax: as tr above, NaN counts as 0
      a8 * (l8 ? Math.log1p(p > 0 ? p : 0) : p) +
      // biome-ignore lint/complexity/useMathMinMax: as tr above, NaN counts as 0
      a9 * (l9 ? Math.log1p(m > 0 ? m : 0) : m) +
      (typeWeight.get(k.coupon_type) ?? 0) +
      (departmentWeight.get(k.department) ?? 0)
    );
  };
  // the coupon parts of a candidate list, once per list (the catalogue hands out the same arrays)
  const partsOf = new WeakMap<readonly CouponInfo[], Float64Array>();
  const couponParts = (coupons: readonly CouponInfo[]) => {
    let parts = partsOf.get(coupons);
    if (!parts) {
      parts = new Float64Array(coupons.length);
      for (let i = 0; i < coupons.length; i++) parts[i] = couponPart(coupons[i]);
      partsOf.set(coupons, parts);
    }
    return parts;
  };
  return {
    model,
    version,
    synchronous: true,
    score(customer, coupons) {
      const base = customerPart(customer);
      const parts = couponParts(coupons);
      const out = new Array<number>(coupons.length);
      for (let i = 0; i < coupons.length; i++) out[i] = 1 / (1 + Math.exp(-(base + parts[i])));
      return out;
    },
    scoreOne(customer, coupon) {
      return 1 / (1 + Math.exp(-(customerPart(customer) + couponPart(coupon))));
    },
  };
}

/** A model document as its file holds it: indented JSON, each boosted tree on one line (a file of ~40 lines, not ~20,000). */
export function formatModelFile(model: CouponModelFile | BoostedModelFile): string {
  if (model.kind !== 'gradient-boosted-trees') return `${JSON.stringify(model, null, 2)}\n`;
  const TREES = '"@trees@"';
  return `${JSON.stringify({ ...model, trees: '@trees@' }, null, 2).replace(TREES, `[\n${model.trees.map((t) => `    ${JSON.stringify(t)}`).join(',\n')}\n  ]`)}\n`;
}

/** Reads and checks a model file (default: the committed one) and returns its scorer. */
export function loadCouponModel(file: string = DEFAULT_MODEL_FILE): LoadedCouponModel {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the coupon model ${file}: ${(err as Error).message}`);
  }
  return createCouponScorer(checkModel(doc, file));
}
