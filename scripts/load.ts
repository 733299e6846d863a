/**
 * `npm run load -- DIR`: loads a directory of CSVs in the original's format (customer_info.csv,
 * coupon_info.csv, coupon_product.csv, product_info.csv or products.csv) into the cache DB. Every
 * file is checked first; a bad one is refused with its file, line and column and nothing changes.
 */
import { resolve } from 'node:path';
import { must } from '../actors/kernel/must.ts';
import { StoreDataError } from '../actors/data/store-csv.ts';
import { loadConfigOrExit, environment } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { secretValues } from '../adapters/process/app.ts';
import { readStoreDirectory, loadStoreTables } from '../adapters/edges/cache-loader.ts';
import { openScriptDatabase } from '../adapters/edges/store-data.ts';
import { cli } from './cli.ts';

const {
  positionals: [dir],
} = cli({
  usage: 'npm run load -- DIR',
  summary:
    "Loads a folder of CSVs in the original's format into the cache DB (DATABASE_URL, else the embedded PostgreSQL). Every file is checked first: a bad one is refused with file, line and column (exit 1) and nothing changes.",
  positionals: { help: 'DIR  a folder with customer_info.csv, coupon_info.csv, coupon_product.csv, and product_info.csv or products.csv', min: 1, max: 1 },
});
const env = environment();
const config = loadConfigOrExit(env);
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, secrets: secretValues(env) });

/** One line on stderr and exit 1: a refused file names file, line and column; anything else says what failed, never a stack. */
const fail = (err: unknown): never => {
  let text = err instanceof StoreDataError ? err.message : `could not load the store data: ${(err as Error)?.message ?? String(err)} (nothing changed)`;
  for (const s of secretValues(env)) text = text.split(s).join('***');
  process.stderr.write(`${text}\n`);
  process.exit(1);
};

let tables: ReturnType<typeof readStoreDirectory> | undefined;
const t = performance.now();
try {
  tables = readStoreDirectory(resolve(dir));
} catch (err) {
  fail(err);
}
const readMs = performance.now() - t;
try {
  const db = await openScriptDatabase(config, log);
  try {
    const r = await loadStoreTables(db.database.db, must(tables, 'the store tables'));
    console.log(
      `loaded ${resolve(dir)} into schema ${config.databaseSchema}: ${r.customers} customers, ${r.products} products, ${r.coupons} coupons, ${r.couponProducts} coupon_product rows (checked in ${readMs.toFixed(0)} ms, loaded in ${r.ms} ms)`,
    );
  } finally {
    await db.close();
  }
} catch (err) {
  fail(err);
}
