/**
 * The store's data at the edges: the first start seeds an empty cache DB, and the data scripts
 * (seed, load) open the same database a running storeflow uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../../schemas/env.ts';
import type { Logger } from '../process/logger.ts';
import { connectDatabase, migrate, type Database } from './database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { countStoreTables, loadStoreTables, type LoadResult } from './cache-loader.ts';
import { generateStore, type StoreOptions } from '../../actors/data/store-generator.ts';

export interface StoreDataResult {
  seeded: boolean;
  load?: LoadResult;
  generateMs?: number;
}

/**
 * First start: when customer_info is empty and AUTO_SEED is on, generate the default store with
 * SEED and load it. A populated database is left alone.
 */
export async function ensureStoreData(
  database: Database,
  config: Pick<Config, 'autoSeed' | 'seed'>,
  log: Logger,
  options: Partial<StoreOptions> = {},
): Promise<StoreDataResult> {
  const counts = await countStoreTables(database.db);
  if (counts.customers > 0) {
    log.debug(counts, 'store data present');
    return { seeded: false };
  }
  if (!config.autoSeed) {
    log.warn('the cache tables are empty and AUTO_SEED=false: no customers or coupons until `npm run seed` or `npm run load -- DIR`');
    return { seeded: false };
  }
  const started = performance.now();
  const store = generateStore({ ...options, seed: config.seed });
  const generateMs = Math.round(performance.now() - started);
  const load = await loadStoreTables(database.db, store, { ifEmpty: true });
  if (!load.loaded) return { seeded: false, generateMs };
  log.info(
    {
      seed: config.seed,
      customers: load.customers,
      products: load.products,
      coupons: load.coupons,
      couponProducts: load.couponProducts,
      from: store.options.from,
      days: store.options.days,
      generateMs,
      loadMs: load.ms,
    },
    'empty database: generated and loaded the synthetic store',
  );
  return { seeded: true, load, generateMs };
}

export interface ScriptDatabase {
  database: Database;
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/**
 * The database for a data script: DATABASE_URL if set; else the embedded PostgreSQL of
 * STOREFLOW_HOME/pg — the running one if storeflow is up (its port is in postmaster.pid), else
 * started for the script and stopped by close(). Migrations are applied.
 */
export async function openScriptDatabase(config: Config, log: Logger): Promise<ScriptDatabase> {
  let url = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  if (!url) {
    const dataDir = resolve(join(config.home, 'pg'));
    const running = runningPort(dataDir);
    if (running) {
      url = `postgres://postgres@127.0.0.1:${running}/postgres`;
      log.info({ port: running }, 'using the embedded PostgreSQL of the running storeflow');
    } else {
      embedded = await startEmbeddedPostgres({ dataDir, port: config.pgPort, log: log.child({ part: 'postgres' }) });
      url = embedded.url;
    }
  }
  try {
    const database = await connectDatabase(url, config.databaseSchema, log, 2);
    await migrate(database.db, log);
    return {
      database,
      embedded,
      async close() {
        await database.close();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

function runningPort(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  } // EPERM: alive, another user's
  return Number(port) || undefined;
}

/** Run `fn` with the script database, closed (and an embedded server stopped) afterwards. */
export async function withScriptDatabase<T>(config: Config, log: Logger, fn: (database: Database) => Promise<T>): Promise<T> {
  const opened = await openScriptDatabase(config, log);
  try {
    return await fn(opened.database);
  } finally {
    await opened.close();
  }
}
