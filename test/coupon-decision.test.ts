/**
 * The coupon decision (REFERENCE.md §2 with the original's bugs fixed): top MAX_COUPONS_PER_CALL by
 * score (ties to the lower coupon id), those above the threshold, the best one not yet offered.
 * `decide` picks the top ones in one pass; here it is held to the plain sort-and-slice statement of
 * the rule on thousands of seeded random cases, ties and edge values included.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decide, type Decision } from '../actors/recommender/coupon-decision.ts';
import { CouponCatalogue, dateOf, type CatalogueEntry } from '../actors/recommender/coupon-catalogue.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import type { CouponInfo } from '../actors/data/store-data.ts';

const coupon = (id: number, over: Partial<CouponInfo> = {}): CouponInfo =>
  ({
    coupon_id: id,
    coupon_type: 'just_discount',
    department: 'Men',
    discount: 10,
    how_many_products_required: 1,
    start_date: '2025-01-01',
    end_date: '2025-12-31',
    product_mean_price: 20,
    products_available: 3,
    ...over,
  }) as CouponInfo;
const entry = (id: number): CatalogueEntry => ({ coupon: coupon(id), productCount: 1, howMany: 1, json: '{}' });

/** The rule as written: sort all, keep the top ones, keep those above the threshold, first not offered. */
function reference(candidates: CatalogueEntry[], scores: number[], offered: number[], max: number, threshold: number): Decision {
  if (candidates.length === 0) return { offer: false, reason: 'no_coupons' };
  const ranked = candidates
    .map((entry, i) => ({ entry, score: scores[i] }))
    .sort((a, b) => b.score - a.score || a.entry.coupon.coupon_id - b.entry.coupon.coupon_id)
    .slice(0, max)
    .filter((r) => r.score > threshold);
  if (ranked.length === 0) return { offer: false, reason: 'below_threshold' };
  const best = ranked.find((r) => !offered.includes(r.entry.coupon.coupon_id));
  return best ? { offer: true, entry: best.entry, score: best.score } : { offer: false, reason: 'all_offered' };
}

test('decide agrees with sort-and-slice on 5,000 random cases (ties, offered coupons, thresholds)', () => {
  const rng = createPrng('decide');
  for (let n = 0; n < 5000; n++) {
    const count = rng.int(0, 40);
    // ids shuffled so the candidates' order is not the id order; scores from a few levels, so ties are common
    const ids = Array.from({ length: count }, (_, i) => i + 1).sort(() => rng.float() - 0.5);
    const candidates = ids.map(entry);
    const scores = ids.map(() => rng.int(0, 6) / 6);
    const offered = ids.filter(() => rng.chance(0.3));
    const max = rng.int(1, 7);
    const threshold = rng.pick([0, 0.2, 0.5, 1]);
    const got = decide(candidates, scores, offered, max, threshold);
    const want = reference(candidates, scores, offered, max, threshold);
    assert.equal(got, want, `case ${n}: ${count} candidates, max ${max}, threshold ${threshold}`);
  }
});

test('decide: the named outcomes', () => {
  const c = [entry(3), entry(1), entry(2)];
  assert.equal(decide([], [], [], 5, 0.2), { offer: false, reason: 'no_coupons' });
  assert.equal(decide(c, [0.1, 0.2, 0.05], [], 5, 0.2), { offer: false, reason: 'below_threshold' });
  assert.equal(decide(c, [0.9, 0.9, 0.1], [], 5, 0.2), { offer: true, entry: c[1], score: 0.9 }, 'a tie goes to the lower id');
  assert.equal(decide(c, [0.9, 0.9, 0.1], [1], 5, 0.2), { offer: true, entry: c[0], score: 0.9 });
  assert.equal(decide(c, [0.9, 0.9, 0.8], [1, 3], 2, 0.2), { offer: false, reason: 'all_offered' }, 'coupon 2 is outside the top 2');
});

test('candidates: valid on the date, the same arrays each time, coupons in the same order', () => {
  const k = new CouponCatalogue(
    [coupon(1, { start_date: '2025-06-01', end_date: '2025-06-30' }), coupon(2, { department: 'Sport' }), coupon(3, { start_date: '2025-07-01' })],
    [],
    [],
  );
  const june = k.candidates('Men', '2025-06-15');
  assert.equal(
    june.entries.map((e) => e.coupon.coupon_id),
    [1],
  );
  assert.is(k.candidates('Men', '2025-06-15'), june, 'cached');
  assert.equal(
    june.coupons,
    june.entries.map((e) => e.coupon),
  );
  assert.equal(
    k.candidates('Men', '2025-07-02').entries.map((e) => e.coupon.coupon_id),
    [3],
  );
  assert.equal(
    k.candidates('Men', undefined).entries.map((e) => e.coupon.coupon_id),
    [1, 3],
  );
  assert.equal(k.candidates('Girls', '2025-06-15').entries, []);
});

test('dateOf: the UTC date, across midnight and back', () => {
  assert.is(dateOf(1748736000), '2025-06-01');
  assert.is(dateOf(1748736000 - 1), '2025-05-31');
  assert.is(dateOf(1748736000 + 86399), '2025-06-01');
  assert.is(dateOf(1748736000 - 86400 * 365), '2024-06-01');
});

test.run();
