/**
 * The synthetic store: the statistics of REFERENCE.md §3 on the default store, the original's CSV
 * format, byte-identical output for a seed (also through `npm run seed -- --no-load`), and the PRNG.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEPARTMENTS } from '../schemas/departments.ts';
import { generateStore, DEFAULT_STORE_OPTIONS, type GeneratedStore } from '../actors/data/store-generator.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { formatStoreCsv, pyFloat, round2 } from '../actors/data/store-csv-writer.ts';
import { createPrng } from '../actors/kernel/prng.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'original-csv-sample');
const tmp = mkdtempSync(join(tmpdir(), 'storeflow-data-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

let store: GeneratedStore;
test.before(() => {
  store = generateStore();
});

const share = (n: number, of: number) => n / of;

test('default store: counts, departments, vocabularies, price distribution', () => {
  assert.is(store.customers.length, 1000);
  assert.is(store.products.length, 3000);
  assert.equal(
    store.customers.map((c) => c.customer_id),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
  const perDep = DEPARTMENTS.map((d) => store.products.filter((p) => p.department === d).length);
  for (const n of perDep) assert.ok(n >= 520 && n <= 680, `~600 products per department, got ${perDep}`);
  assert.is(new Set(store.products.map((p) => p.category)).size, 42);
  assert.is(new Set(store.products.map((p) => p.vendor)).size, 31);
  assert.is(new Set(store.products.map((p) => p.sizes)).size, 8);
  const prices = store.products.map((p) => p.buy_price).sort((a, b) => a - b);
  const median = prices[prices.length >> 1],
    mean = prices.reduce((a, b) => a + b, 0) / prices.length;
  assert.ok(median > 6.5 && median < 9.5, `median price ~8, got ${median}`);
  assert.ok(mean > 11 && mean < 18, `mean price ~14.5, got ${mean}`);
  assert.ok(must(prices.at(-1), 'prices.at(-1)') > 300, `long tail, max ${prices.at(-1)}`);
  // 3 years hold ~970 coupons; the default window is 5 years
  const perThreeYears = store.coupons.length / (DEFAULT_STORE_OPTIONS.days / 1096);
  assert.ok(perThreeYears > 870 && perThreeYears < 1170, `~970 coupons per 3 years, got ${perThreeYears}`);
});

test('default store: coupon types, their rules and discount ranges', () => {
  const n = store.coupons.length;
  const byType = (t: string) => store.coupons.filter((c) => c.coupon_type === t);
  const dep = byType('department'),
    jd = byType('just_discount'),
    bm = byType('buy_more'),
    ba = byType('buy_all');
  assert.ok(share(dep.length, n) > 0.015 && share(dep.length, n) < 0.05, `department coupons rare (~3%), got ${dep.length}/${n}`);
  for (const g of [jd, bm, ba]) assert.ok(share(g.length, n) > 0.27 && share(g.length, n) < 0.39, `other types ~a third each, got ${g.length}/${n}`);
  const within = (cs: typeof jd, lo: number, hi: number) => cs.every((c) => c.discount >= lo && c.discount <= hi && Number.isInteger(c.discount));
  assert.ok(within(jd, 5, 30));
  assert.ok(within(bm, 10, 50));
  assert.ok(within(ba, 5, 70));
  assert.ok(within(dep, 5, 70));
  assert.is(Math.min(...jd.map((c) => c.discount)), 5);
  assert.is(Math.max(...jd.map((c) => c.discount)), 30);
  assert.is(Math.max(...ba.map((c) => c.discount)), 70);
  assert.ok(jd.every((c) => c.how_many_products_required === 1 && c.products_available === 1));
  assert.ok(bm.every((c) => c.how_many_products_required >= 2 && c.how_many_products_required <= 5 && c.products_available === 1));
  assert.ok(ba.every((c) => c.products_available >= 2 && c.products_available <= 5 && c.how_many_products_required === c.products_available));
  const depSize = new Map(DEPARTMENTS.map((d) => [d, store.products.filter((p) => p.department === d).length]));
  assert.ok(dep.every((c) => c.products_available === depSize.get(c.department)));
});

test("default store: every coupon's products are in its department; product_mean_price and products_available agree", () => {
  const product = new Map(store.products.map((p) => [p.product_id, p]));
  const linked = new Map<number, number[]>();
  for (const l of store.couponProducts) linked.set(l.coupon_id, [...(linked.get(l.coupon_id) ?? []), l.product_id]);
  for (const c of store.coupons) {
    const ps = (linked.get(c.coupon_id) ?? []).map((id) => must(product.get(id), 'product.get(id)'));
    assert.is(ps.length, c.products_available, `coupon ${c.coupon_id}`);
    assert.ok(
      ps.every((p) => p.department === c.department),
      `coupon ${c.coupon_id} products in ${c.department}`,
    );
    assert.is(c.product_mean_price, round2(ps.reduce((s, p) => s + p.buy_price, 0) / ps.length));
  }
});

test('default store: three coupons valid per department on every day of the window, validity 1–30 days', () => {
  const from = Date.parse(`${DEFAULT_STORE_OPTIONS.from}T00:00:00Z`);
  const day = (d: string) => Math.round((Date.parse(`${d}T00:00:00Z`) - from) / 86_400_000);
  const counts = new Int32Array(DEFAULT_STORE_OPTIONS.days * 5);
  for (const c of store.coupons) {
    const [s, e] = [day(c.start_date), day(c.end_date)];
    assert.ok(e - s + 1 >= 1 && e - s + 1 <= 30, `coupon ${c.coupon_id} lasts ${e - s + 1} days`);
    for (let d = s; d <= e; d++) counts[d * 5 + DEPARTMENTS.indexOf(c.department)]++;
  }
  assert.ok(
    counts.every((n) => n === 3),
    'exactly three coupons per department per day',
  );
  // ids follow start dates, as the original numbered them
  assert.ok(store.coupons.every((c, i) => i === 0 || store.coupons[i - 1].start_date <= c.start_date));
  const last = store.coupons
    .map((c) => c.end_date)
    .sort()
    .at(-1);
  assert.is(last, '2028-12-31');
});

test('default store: customers (57% F, ages 18–90) and aggregates from the order history', () => {
  const f = store.customers.filter((c) => c.gender === 'F').length;
  assert.ok(f > 530 && f < 610, `57% F, got ${f}`);
  assert.ok(store.customers.every((c) => c.gender === 'F' || c.gender === 'M'));
  const ages = store.customers.map((c) => c.age);
  assert.is(Math.min(...ages), 18);
  assert.is(Math.max(...ages), 90);
  const meanAge = ages.reduce((a, b) => a + b, 0) / ages.length;
  assert.ok(meanAge > 50 && meanAge < 58, `uniform ages, mean ${meanAge}`);
  const h = store.history;
  assert.ok(h.orders / 1000 > 250 && h.orders / 1000 < 350, `~300 orders per customer, got ${h.orders / 1000}`);
  assert.ok(share(h.couponLines, h.lines) > 0.22 && share(h.couponLines, h.lines) < 0.35, `~30% coupon lines, got ${h.couponLines / h.lines}`);
  let used = 0;
  for (const u of h.offerUsed) used += u;
  assert.ok(share(used, h.offers) > 0.085 && share(used, h.offers) < 0.105, `~9.4% positives, got ${used / h.offers}`);
  assert.is(
    store.customers.reduce((s, c) => s + c.total_items_bought, 0),
    h.lines,
  );
  assert.is(
    store.customers.reduce((s, c) => s + c.total_coupons_used, 0),
    h.couponLines,
  );
  for (const c of store.customers) {
    assert.ok(c.unique_products_bought <= c.total_items_bought && c.unique_products_bought_with_coupons <= c.unique_products_bought);
    assert.ok(c.unique_products_bought_with_coupons <= c.total_coupons_used && c.total_coupons_used <= c.total_items_bought);
    assert.ok(c.mean_discount_received >= 0 && c.mean_discount_received <= 70);
  }
  const meanDiscount = store.customers.reduce((s, c) => s + c.mean_discount_received, 0) / 1000;
  assert.ok(meanDiscount > 5 && meanDiscount < 15, `mean discount over all lines ~10 like the original, got ${meanDiscount}`);
});

test("CSV files have the original's headers and number style, and read back to the same tables", () => {
  const files = formatStoreCsv(store);
  for (const name of Object.values(CSV_FILES)) {
    const original = readFileSync(join(fixture, name), 'utf8');
    assert.is(files[name].split('\n')[0], original.split('\n')[0], name);
    assert.ok(files[name].endsWith('\n'));
  }
  assert.is(pyFloat(0), '0.0');
  assert.is(pyFloat(12), '12.0');
  assert.is(pyFloat(531 * 0.01), '5.3100000000000005');
  assert.is(pyFloat(11.1), '11.1');
  assert.ok(
    /^\d+,[A-Z]+ - .+ for (Men|Sport|Boys|Girls|Women),.+ by .+\. Available sizes .+,\d+\.\d+,(Men|Sport|Boys|Girls|Women)$/m.test(files['product_info.csv']),
  );
  const back = parseStoreCsv(files);
  assert.equal(back.customers, store.customers);
  assert.equal(back.coupons, store.coupons);
  assert.equal(back.products, store.products);
  assert.equal(back.couponProducts, store.couponProducts);
});

test('same seed → byte-identical CSVs; another seed → different; fewer customers keep the same first customers', () => {
  const small = { customers: 150, products: 400, days: 400 };
  const a = formatStoreCsv(generateStore({ ...small, seed: 7 }));
  const b = formatStoreCsv(generateStore({ ...small, seed: 7 }));
  const c = formatStoreCsv(generateStore({ ...small, seed: 8 }));
  for (const name of Object.keys(a)) assert.ok(a[name] === b[name], `${name} identical`);
  assert.ok(a['customer_info.csv'] !== c['customer_info.csv'] && a['product_info.csv'] !== c['product_info.csv']);
});

test('npm run seed -- --no-load twice with the same seed writes identical files', () => {
  const run = (out: string) =>
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/seed.ts', '--no-load', '--out', out, '--customers', '100', '--products', '300', '--days', '200'],
      { env: { ...process.env, SEED: '11', DATABASE_URL: '' }, encoding: 'utf8' },
    );
  const log = run(join(tmp, 'a'));
  assert.match(log, /100 customers, 300 products/);
  run(join(tmp, 'b'));
  const names = readdirSync(join(tmp, 'a')).sort();
  assert.equal(names, Object.values(CSV_FILES).sort());
  for (const n of names) assert.ok(readFileSync(join(tmp, 'a', n)).equals(readFileSync(join(tmp, 'b', n))), n);
  const direct = formatStoreCsv(generateStore({ seed: 11, customers: 100, products: 300, days: 200 }));
  assert.is(readFileSync(join(tmp, 'a', 'coupon_info.csv'), 'utf8'), direct['coupon_info.csv']);
});

test('bad generator options are refused', () => {
  assert.throws(() => generateStore({ customers: 0 }), /customers/);
  assert.throws(() => generateStore({ from: '2024-02-30' }), /from/);
});

test('prng: deterministic, forks independent of draws, helpers in range', () => {
  const a = createPrng(5),
    b = createPrng(5);
  const xs = Array.from({ length: 100 }, () => a.uint32());
  assert.equal(
    xs,
    Array.from({ length: 100 }, () => b.uint32()),
  );
  assert.is.not(createPrng(6).uint32(), createPrng(5).uint32());
  const c = createPrng(5);
  const fresh = c.fork('x').float();
  c.float();
  c.float();
  assert.is(c.fork('x').float(), fresh);
  assert.is.not(c.fork('y').float(), fresh);
  const r = createPrng('range');
  let sum = 0,
    gsum = 0,
    psum = 0;
  for (let i = 0; i < 20000; i++) {
    const k = r.int(3, 7);
    assert.ok(k >= 3 && k <= 7 && Number.isInteger(k));
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
    gsum += r.gaussian(10, 2);
    psum += r.poisson(4);
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.02 && Math.abs(gsum / 20000 - 10) < 0.1 && Math.abs(psum / 20000 - 4) < 0.1);
  assert.equal(new Set(Array.from({ length: 200 }, () => r.pick(['a', 'b', 'c']))), new Set(['a', 'b', 'c']));
  assert.equal(r.shuffle([1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
});

test.run();
