/**
 * The database for command-line scripts (seed, load, export, replay): DATABASE_URL if set, else the
 * embedded PostgreSQL in STOREFLOW_HOME/pg, migrated, and stopped again when the script is done.
 */
import type { Config } from '../schemas/env.ts';
import type { Logger } from './logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { connectDatabase, migrate, type Database } from './database.ts';
import { join } from 'node:path';

export async function withDatabase<T>(config: Config, log: Logger, fn: (database: Database) => Promise<T>): Promise<T> {
  let embedded: EmbeddedPostgres | undefined;
  let database: Database | undefined;
  try {
    let url = config.databaseUrl;
    if (!url) {
      embedded = await startEmbeddedPostgres({ dataDir: join(config.home, 'pg'), port: config.pgPort, log });
      url = embedded.url;
    }
    database = await connectDatabase(url, config.databaseSchema, log);
    await migrate(database.db, log);
    return await fn(database);
  } finally {
    await database?.close().catch(() => {});
    await embedded?.stop();
  }
}
