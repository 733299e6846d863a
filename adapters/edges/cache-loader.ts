/**
 * Loads the cache tables (customer_info, product_info, coupon_info, coupon_product) from CSV files
 * in the original's format or from generated tables: everything is checked first, then replaced
 * in one transaction (truncate + one set-based insert per table), so a load is all or nothing and
 * re-running it gives the same tables.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type ConnectionPool, type Queryable } from './database.ts';
import { CSV_FILES, PRODUCTS_ALIAS, StoreDataError, parseStoreCsv, type StoreTables } from '../../actors/data/store-csv.ts';

export interface LoadResult {
  /** false when `ifEmpty` found data already there. */
  loaded: boolean;
  customers: number;
  products: number;
  coupons: number;
  couponProducts: number;
  ms: number;
}

/** Reads and checks a directory of CSVs (product_info.csv or products.csv). Throws StoreDataError. */
export function readStoreDirectory(dir: string): StoreTables {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new StoreDataError([{ file: dir, line: 0, message: 'not a directory' }]);
  // as bytes: parseStoreCsv refuses a file that is not UTF-8 (decoding here would turn bad bytes into U+FFFD)
  const files: Record<string, Buffer> = {};
  for (const name of [...Object.values(CSV_FILES), PRODUCTS_ALIAS]) {
    const p = join(dir, name);
    if (existsSync(p)) files[name] = readFileSync(p);
  }
  return parseStoreCsv(files);
}

// chunks keep each statement's parameters well below PostgreSQL's message limits at 10× size
const CHUNK = 50_000;

async function insertChunks<T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += CHUNK) await insert(rows.slice(i, i + CHUNK));
}

async function insertAll(tx: Queryable, t: StoreTables) {
  await insertChunks(t.customers, (c) =>
    tx.query(sql`
    INSERT INTO customer_info (customer_id, gender, age, mean_buy_price, total_coupons_used, mean_discount_received, unique_products_bought, unique_products_bought_with_coupons, total_items_bought)
    SELECT * FROM unnest(${c.map((r) => r.customer_id)}::int[], ${c.map((r) => r.gender)}::varchar[], ${c.map((r) => r.age)}::int[],
      ${c.map((r) => r.mean_buy_price)}::real[], ${c.map((r) => r.total_coupons_used)}::int[], ${c.map((r) => r.mean_discount_received)}::real[],
      ${c.map((r) => r.unique_products_bought)}::int[], ${c.map((r) => r.unique_products_bought_with_coupons)}::int[], ${c.map((r) => r.total_items_bought)}::int[])`),
  );
  await insertChunks(t.products, (p) =>
    tx.query(sql`
    INSERT INTO product_info (product_id, name, category, sizes, vendor, description, buy_price, department)
    SELECT * FROM unnest(${p.map((r) => r.product_id)}::int[], ${p.map((r) => r.name)}::varchar[], ${p.map((r) => r.category)}::varchar[],
      ${p.map((r) => r.sizes)}::varchar[], ${p.map((r) => r.vendor)}::varchar[], ${p.map((r) => r.description)}::varchar[],
      ${p.map((r) => r.buy_price)}::real[], ${p.map((r) => r.department)}::varchar[])`),
  );
  await insertChunks(t.coupons, (c) =>
    tx.query(sql`
    INSERT INTO coupon_info (coupon_id, coupon_type, department, discount, how_many_products_required, start_date, end_date, product_mean_price, products_available)
    SELECT * FROM unnest(${c.map((r) => r.coupon_id)}::int[], ${c.map((r) => r.coupon_type)}::varchar[], ${c.map((r) => r.department)}::varchar[],
      ${c.map((r) => r.discount)}::int[], ${c.map((r) => r.how_many_products_required)}::int[], ${c.map((r) => r.start_date)}::varchar[],
      ${c.map((r) => r.end_date)}::varchar[], ${c.map((r) => r.product_mean_price)}::real[], ${c.map((r) => r.products_available)}::int[])`),
  );
  await insertChunks(t.couponProducts, (l) =>
    tx.query(sql`
    INSERT INTO coupon_product (coupon_id, product_id)
    SELECT * FROM unnest(${l.map((r) => r.coupon_id)}::int[], ${l.map((r) => r.product_id)}::int[])`),
  );
}

/**
 * Replaces the cache tables with `tables` in one transaction. With `ifEmpty`, does nothing when
 * customer_info already has rows (checked under a lock, so two processes starting together seed once).
 */
export async function loadStoreTables(db: ConnectionPool, tables: StoreTables, opts: { ifEmpty?: boolean } = {}): Promise<LoadResult> {
  const started = performance.now();
  const loaded = await db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.storeflow_cache_load'))`);
    if (opts.ifEmpty) {
      const [{ any }] = await tx.query(sql`SELECT EXISTS (SELECT 1 FROM customer_info) AS any`);
      if (any) return false;
    }
    // the tables in the order readers take them (countStoreTables): TRUNCATE's own order, the reverse, could
    // deadlock with a reader that holds customer_info and waits for coupon_info
    await tx.query(sql`LOCK TABLE customer_info, product_info, coupon_info, coupon_product IN ACCESS EXCLUSIVE MODE`);
    await tx.query(sql`TRUNCATE coupon_product, coupon_info, product_info, customer_info`);
    await insertAll(tx, tables);
    return true;
  });
  return {
    loaded,
    customers: tables.customers.length,
    products: tables.products.length,
    coupons: tables.coupons.length,
    couponProducts: tables.couponProducts.length,
    ms: Math.round(performance.now() - started),
  };
}

/** Checks then loads a directory of CSVs. Throws StoreDataError (nothing changed) on a bad file. */
export async function loadStoreDirectory(db: ConnectionPool, dir: string): Promise<LoadResult> {
  const started = performance.now();
  const tables = readStoreDirectory(dir);
  const r = await loadStoreTables(db, tables);
  return { ...r, ms: Math.round(performance.now() - started) };
}

/** Row counts of the four tables. */
export async function countStoreTables(db: Queryable): Promise<{ customers: number; products: number; coupons: number; couponProducts: number }> {
  const [r] = await db.query(sql`SELECT
    (SELECT count(*) FROM customer_info)::int AS customers, (SELECT count(*) FROM product_info)::int AS products,
    (SELECT count(*) FROM coupon_info)::int AS coupons, (SELECT count(*) FROM coupon_product)::int AS "couponProducts"`);
  return r;
}
