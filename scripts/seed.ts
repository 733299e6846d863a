/**
 * `npm run seed`: generates the synthetic store (deterministic for a seed), writes the four CSVs in
 * the original's format, and loads them into the cache DB (DATABASE_URL or the embedded PostgreSQL).
 *   npm run seed -- [--out DIR] [--seed N] [--customers N] [--products N] [--days N] [--from YYYY-MM-DD] [--history-days N] [--no-load]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatStoreCsv } from '../actors/data/store-csv-writer.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { loadConfigOrExit, environment } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { secretValues } from '../adapters/process/app.ts';
import { loadStoreTables } from '../adapters/edges/cache-loader.ts';
import { openScriptDatabase } from '../adapters/edges/store-data.ts';
import { parseArgs } from './store-options.ts';

const USAGE = `usage: npm run seed -- [options]
  --out DIR            where the CSVs go (default STOREFLOW_HOME/data, i.e. .storeflow/data)
  --seed N             generator seed (default SEED, else 42)
  --customers N        customers (default 1000)
  --products N         products (default 3000)
  --from YYYY-MM-DD    first day of the coupon window (default 2024-01-01)
  --days N             length of the coupon window in days (default 1827: to 2028-12-31)
  --history-days N     days of order history from --from (default 1096)
  --no-load            only write the CSVs
`;

const env = environment();
const config = loadConfigOrExit(env);
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, secrets: secretValues(env) });
const { store: options, flags } = parseArgs(process.argv.slice(2), ['--out', '--no-load'], USAGE);
const out = resolve(typeof flags.get('--out') === 'string' && flags.get('--out') ? (flags.get('--out') as string) : join(config.home, 'data'));

let t = performance.now();
const store = generateStore(options);
const generateMs = performance.now() - t;
t = performance.now();
mkdirSync(out, { recursive: true });
for (const [name, text] of Object.entries(formatStoreCsv(store))) writeFileSync(join(out, name), text);
const writeMs = performance.now() - t;
const h = store.history;
console.log(`generated the store (seed ${options.seed}) in ${generateMs.toFixed(0)} ms, wrote CSVs in ${writeMs.toFixed(0)} ms to ${out}
  ${store.customers.length} customers, ${store.products.length} products, ${store.coupons.length} coupons (${store.coupons[0]?.start_date} – ${
    store.coupons
      .map((c) => c.end_date)
      .sort()
      .at(-1) ?? ''
  }), ${store.couponProducts.length} coupon_product rows
  history: ${h.orders} orders, ${h.lines} order lines (${((100 * h.couponLines) / h.lines).toFixed(1)}% with a coupon), ${h.offers} (order, coupon) offers`);

if (!flags.has('--no-load')) {
  const db = await openScriptDatabase(config, log);
  try {
    const r = await loadStoreTables(db.database.db, store);
    console.log(`loaded into schema ${config.databaseSchema} in ${r.ms} ms`);
  } finally {
    await db.close();
  }
}
