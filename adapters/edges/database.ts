/**
 * PostgreSQL through @databases/pg: one pool per process, pinned to a schema (tests use their own),
 * and the numbered migrations of sql/ applied once each, in a transaction, recorded.
 */
import pg, { sql, type ConnectionPool, type Queryable } from '@databases/pg';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Logger } from '../process/logger.ts';

export { sql };
export type { ConnectionPool, Queryable };

export interface Database {
  db: ConnectionPool;
  /** Where it is (for a connection of its own, such as a LISTEN). */
  url: string;
  schema: string;
  close(): Promise<void>;
  ping(): Promise<boolean>;
}

// a CommonJS module: its default export sits one level down under NodeNext typing
const createConnectionPool: typeof pg.default = (pg as { default?: typeof pg.default }).default ?? (pg as unknown as typeof pg.default);

/**
 * A storeflow session idle inside a transaction longer than this is ended by the server (idle_in_transaction_session_timeout):
 * a stuck process must not hold locks, and the log's position lock (sql/007) above all, for longer.
 */
export const IDLE_IN_TRANSACTION_MS = 10_000;

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export async function connectDatabase(url: string, schema: string, log: Logger, poolSize = 10): Promise<Database> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const setup = createConnectionPool({
    connectionString: url,
    bigIntMode: 'number',
    poolSize: 1,
    idleInTransactionSessionTimeoutMilliseconds: IDLE_IN_TRANSACTION_MS,
  });
  try {
    await setup.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.ident(schema)}`);
  } finally {
    await setup.dispose();
  }
  const db = createConnectionPool({
    connectionString: url,
    bigIntMode: 'number',
    poolSize,
    schema,
    idleInTransactionSessionTimeoutMilliseconds: IDLE_IN_TRANSACTION_MS,
    onError: (err: Error) => log.warn({ err }, 'PostgreSQL connection error'),
  });
  return {
    db,
    url,
    schema,
    close: () => db.dispose(),
    async ping() {
      try {
        await db.query(sql`SELECT 1`);
        return true;
      } catch {
        return false;
      }
    },
  };
}

export interface Migration {
  version: number;
  name: string;
  text: string;
}

export function listMigrations(dir = SQL_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, text: readFileSync(join(dir, f), 'utf8') }));
}

/** Apply every migration not yet recorded (up to version `upTo`); returns the names applied. Safe to run concurrently. */
export async function migrate(db: ConnectionPool, log: Logger, upTo = Number.POSITIVE_INFINITY): Promise<string[]> {
  const applied: string[] = [];
  await db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.storeflow_migrations'))`);
    await tx.query(
      sql`CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set((await tx.query(sql`SELECT version FROM schema_migrations`)).map((r) => r.version as number));
    for (const m of listMigrations()) {
      if (done.has(m.version) || m.version > upTo) continue;
      await tx.query(sql.__dangerous__rawValue(m.text));
      await tx.query(sql`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`);
      applied.push(m.name);
    }
  });
  if (applied.length) log.info({ applied }, 'database migrations applied');
  return applied;
}
