/**
 * The cache loader against a real PostgreSQL: round trip of a generated store, the original's
 * sample files, products.csv, broken files refused with file/line/column and nothing changed,
 * idempotent reloads, `npm run load`, and first-start seeding (ensureStoreData).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { connectDatabase, migrate, type Database } from '../adapters/edges/database.ts';
import { countStoreTables, loadStoreDirectory, loadStoreTables, readStoreDirectory } from '../adapters/edges/cache-loader.ts';
import { ensureStoreData } from '../adapters/edges/store-data.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { StoreDataError } from '../actors/data/store-csv.ts';
import { formatStoreCsv } from '../actors/data/store-csv-writer.ts';
import { captureLogger, DATABASE_URL, dropSchema, storeTables, uniqueName } from './helpers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const csv = (name: string) => join(fixtures, 'store-csv', name);
const tmp = mkdtempSync(join(tmpdir(), 'storeflow-load-'));
const schema = uniqueName('load');
const { log } = captureLogger('warn');
let database: Database;

test.before(async () => {
  database = await connectDatabase(DATABASE_URL, schema, log, 2);
  await migrate(database.db, log);
});
test.after(async () => {
  await database.close();
  await dropSchema(schema);
  rmSync(tmp, { recursive: true, force: true });
});

const snapshot = () => storeTables(database.db);

test('a generated store round-trips through CSV files and PostgreSQL', async () => {
  const store = generateStore({ seed: 3, customers: 120, products: 400, days: 120 });
  const dir = join(tmp, 'gen');
  rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir);
  for (const [name, text] of Object.entries(formatStoreCsv(store))) writeFileSync(join(dir, name), text);
  const r = await loadStoreDirectory(database.db, dir);
  assert.equal(
    { c: r.customers, p: r.products, k: r.coupons, l: r.couponProducts },
    { c: 120, p: 400, k: store.coupons.length, l: store.couponProducts.length },
  );
  const got = await snapshot();
  // real columns come back as float4's shortest text: two-decimal values are exact
  assert.equal(got.customers, store.customers);
  assert.equal(
    got.coupons.map((c) => ({ ...c, product_mean_price: Math.round(Number(c.product_mean_price) * 100) / 100 })),
    store.coupons,
  );
  assert.equal(
    got.products.map((p) => ({ ...p, buy_price: Math.round(Number(p.buy_price) * 100) / 100 })),
    store.products.map((p) => ({ ...p, buy_price: Math.round(p.buy_price * 100) / 100 })),
  );
  assert.equal(got.links, store.couponProducts);
});

test("the original's sample files load, and re-loading is idempotent (replaces, no duplicates)", async () => {
  const r1 = await loadStoreDirectory(database.db, join(fixtures, 'original-csv-sample'));
  assert.equal({ c: r1.customers, p: r1.products, k: r1.coupons, l: r1.couponProducts }, { c: 20, p: 626, k: 16, l: 633 });
  const first = await snapshot();
  await loadStoreDirectory(database.db, join(fixtures, 'original-csv-sample'));
  assert.equal(await snapshot(), first);
  const [c29] = await database.db.query(sql`SELECT * FROM coupon_info WHERE coupon_id = 29`);
  assert.equal(c29, {
    coupon_id: 29,
    coupon_type: 'department',
    department: 'Girls',
    discount: 11,
    how_many_products_required: 1,
    start_date: '2010-01-23',
    end_date: '2010-01-28',
    product_mean_price: 15.29,
    products_available: 604,
  });
  const [{ n }] = await database.db.query(sql`SELECT count(*)::int AS n FROM coupon_product WHERE coupon_id = 29`);
  assert.is(n, 604);
});

test('quoted fields and products.csv instead of product_info.csv', async () => {
  const r = await loadStoreDirectory(database.db, csv('products-alias'));
  assert.is(r.products, 6);
  const [p3] = await database.db.query(sql`SELECT name, description, buy_price FROM product_info WHERE product_id = 3`);
  assert.equal(p3, {
    name: 'KAHIN - Coral Sport pants for Sport, extra',
    description: 'KAHIN - Coral "Sport" pants by Nike. Available sizes S-XL',
    buy_price: 12,
  });
  const valid = readStoreDirectory(csv('valid'));
  assert.equal(valid.products, readStoreDirectory(csv('products-alias')).products);
});

const BROKEN: [string, RegExp][] = [
  ['wrong-header', /^customer_info\.csv line 1, column 3 \(age\): wrong header: expected "customer_id,gender,age,/],
  ['wrong-type', /^coupon_info\.csv line 3, column 4 \(discount\): expected an integer, got "forty"$/],
  [
    'wrong-coupon-type',
    /^coupon_info\.csv line 4, column 2 \(coupon_type\): expected a coupon type \(just_discount, buy_more, buy_all, department\), got "bogus"$/,
  ],
  ['missing-coupon', /^coupon_product\.csv line 6, column 1 \(coupon_id\): coupon 7 is not in coupon_info\.csv$/],
  ['missing-product', /^coupon_product\.csv line 6, column 2 \(product_id\): product 99 is not in product_info\.csv$/],
  ['wrong-column-count', /^customer_info\.csv line 4, column 10: expected 9 columns, got 10$/],
];

test('broken files are refused naming file, line and column, and nothing is changed', async () => {
  await loadStoreDirectory(database.db, csv('valid'));
  const before = await snapshot();
  for (const [name, expected] of BROKEN) {
    let err: unknown;
    try {
      await loadStoreDirectory(database.db, csv(name));
    } catch (e) {
      err = e;
    }
    assert.instance(err, StoreDataError, name);
    const problems = (err as StoreDataError).problems.map(
      (p) => `${p.file} line ${p.line}${p.column ? `, column ${p.column}${p.columnName ? ` (${p.columnName})` : ''}` : ''}: ${p.message}`,
    );
    assert.is(problems.length, 1, `${name}: ${problems.join(' | ')}`);
    assert.match(problems[0], expected);
    assert.match((err as Error).message, /nothing changed/);
    assert.equal(await snapshot(), before, `${name}: tables unchanged`);
  }
  let missing: unknown;
  try {
    await loadStoreDirectory(database.db, join(tmp, 'no-such-dir'));
  } catch (e) {
    missing = e;
  }
  assert.instance(missing, StoreDataError);
  const partial = join(tmp, 'partial');
  (await import('node:fs')).mkdirSync(partial, { recursive: true });
  writeFileSync(
    join(partial, 'customer_info.csv'),
    'customer_id,gender,age,mean_buy_price,total_coupons_used,mean_discount_received,unique_products_bought,unique_products_bought_with_coupons,total_items_bought\n',
  );
  assert.throws(() => readStoreDirectory(partial), /coupon_info\.csv line 0: file missing/);
  assert.equal(await snapshot(), before);
});

test('a load that fails inside PostgreSQL rolls back completely', async () => {
  const before = await snapshot();
  const tables = readStoreDirectory(csv('valid'));
  // too long for varchar(1): passes the CSV checks' types only if forced in, so PostgreSQL refuses
  tables.customers[1] = { ...tables.customers[1], gender: 'FF' };
  let err: unknown;
  try {
    await loadStoreTables(database.db, tables);
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'PostgreSQL refused the row');
  assert.equal(await snapshot(), before);
});

test('npm run load -- DIR loads; a bad DIR exits 1 with the problem on stderr', () => {
  const env = { ...process.env, DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'warn' };
  const ok = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', join(fixtures, 'original-csv-sample')], { env, encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /20 customers, 626 products, 16 coupons, 633 coupon_product rows/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', csv('wrong-type')], { env, encoding: 'utf8' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /coupon_info\.csv line 3, column 4 \(discount\): expected an integer, got "forty"/);
});

test('first start: an empty database is seeded once (logged with timings), a populated one is left alone', async () => {
  const other = uniqueName('seed');
  const db2 = await connectDatabase(DATABASE_URL, other, log, 2);
  try {
    await migrate(db2.db, log);
    const cap = captureLogger('info');
    const options = { customers: 50, products: 200, days: 60 };
    const off = await ensureStoreData(db2, { autoSeed: false, seed: 5 }, cap.log, options);
    assert.is(off.seeded, false);
    assert.is((await countStoreTables(db2.db)).customers, 0);
    // two processes starting together: seeded once
    const [a, b] = await Promise.all([
      ensureStoreData(db2, { autoSeed: true, seed: 5 }, cap.log, options),
      ensureStoreData(db2, { autoSeed: true, seed: 5 }, cap.log, options),
    ]);
    assert.is([a.seeded, b.seeded].filter(Boolean).length, 1);
    const expected = generateStore({ ...options, seed: 5 });
    assert.equal(await countStoreTables(db2.db), {
      customers: 50,
      products: 200,
      coupons: expected.coupons.length,
      couponProducts: expected.couponProducts.length,
    });
    const line = cap.entries().find((e) => e.msg === 'empty database: generated and loaded the synthetic store');
    assert.ok(line, cap.lines.join(''));
    assert.is(line.seed, 5);
    assert.is(line.customers, 50);
    assert.type(line.generateMs, 'number');
    assert.type(line.loadMs, 'number');
    await db2.db.query(sql`DELETE FROM coupon_product WHERE coupon_id = 1`);
    const again = await ensureStoreData(db2, { autoSeed: true, seed: 6 }, cap.log, options);
    assert.is(again.seeded, false);
    const [{ n }] = await db2.db.query(sql`SELECT count(*)::int AS n FROM coupon_product WHERE coupon_id = 1`);
    assert.is(n, 0, 'populated database left alone');
  } finally {
    await db2.close();
    await dropSchema(other);
  }
});

test.run();
