/**
 * The store's products: names, sizes, vendors and a long-tailed price for each, drawn from the words in
 * product-words.json. A module of its own because the catalogue's shape (REFERENCE.md §3: ~600 products per
 * department, 42 categories, 31 vendors, 8 size strings, median price ~8) is tuned here and nowhere else.
 */
import { DEPARTMENTS } from '../../schemas/departments.ts';
import type { Prng } from '../kernel/prng.ts';
import { CATEGORIES } from './customer-preferences.ts';
import type { ProductInfo } from './store-data.ts';
import words from './product-words.json' with { type: 'json' };

export const SIZES: readonly string[] = words.sizes;
export const VENDORS: readonly string[] = words.vendors;

function productName(rng: Prng): string {
  let s = '';
  for (let n = rng.int(1, 4); n > 0; n--) s += rng.pick(words.syllables);
  return s;
}

/** Long tail: lognormal around 8 for most, a few luxury items log-uniform up to 2400. */
function price(rng: Prng): number {
  const x = rng.chance(0.005) ? Math.exp(Math.log(50) + rng.float() * Math.log(2400 / 50)) : Math.exp(rng.gaussian(Math.log(8), 0.85));
  // cents × 0.01 gives the original's float artefacts (5.3100000000000005)
  return Math.max(50, Math.round(x * 100)) * 0.01;
}

/** Products 1..n; the first ten of each department come first, so even a tiny store has every department. */
export function generateProducts(rng: Prng, n: number): ProductInfo[] {
  const out: ProductInfo[] = [];
  for (let id = 1; id <= n; id++) {
    // the first products cover every department, so tiny stores still have each
    const department = id <= DEPARTMENTS.length * 10 ? DEPARTMENTS[(id - 1) % DEPARTMENTS.length] : rng.pick(DEPARTMENTS);
    const category = rng.pick(CATEGORIES);
    const sizes = rng.pick(SIZES);
    const vendor = rng.pick(VENDORS);
    const name = `${productName(rng)} - ${rng.pick(words.colors)} ${category} for ${department}`;
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
