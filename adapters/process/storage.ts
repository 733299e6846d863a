/**
 * Where a process keeps its event log and its store: PostgreSQL (the database, its migrations, the store's cache
 * tables seeded on first start, the event log on it), or memory (the in-memory event log, SEED's synthetic store: no
 * database at all, for tests of behaviour and a quick try; what it logs is gone when it stops).
 */
import type { Config } from '../../schemas/env.ts';
import type { Logger } from './logger.ts';
import type { EventLog } from '../../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../../actors/kernel/in-memory-event-log.ts';
import { generateStore } from '../../actors/data/store-generator.ts';
import { asStored } from '../../actors/data/as-stored.ts';
import { connectDatabase, migrate, type Database } from '../edges/database.ts';
import { ensureStoreData } from '../edges/store-data.ts';
import { PostgresEventLog } from '../edges/postgres-event-log.ts';
import { databaseStore, memoryStore, type StoreSource } from '../recommender/store-source.ts';
import { databaseUnreachable } from './start-failure.ts';
import type { Infrastructure } from './infrastructure.ts';
import type { ReadinessCheck } from './role.ts';
import type { Tracing } from './tracing.ts';

export interface Storage {
  eventLog: EventLog;
  database?: Database;
  storeData: StoreSource;
  readiness: ReadinessCheck[];
}

/** What opening a storage may use of the start: a step that an abort undoes, and the list of what to stop. */
export interface Opening {
  config: Config;
  log: Logger;
  infrastructure: Infrastructure;
  tracing?: Tracing;
  step<T>(work: Promise<T>, undo?: (value: T) => unknown): Promise<T>;
  stopLater(part: string, stop: () => Promise<void>): void;
}

export type PostgresStorage = Storage & { database: Database; eventLog: PostgresEventLog };
export type MemoryStorage = Storage & { eventLog: InMemoryEventLog };

export async function openPostgres({ config, log, infrastructure, tracing, step, stopLater }: Opening): Promise<PostgresStorage> {
  const database = await step(
    connectDatabase(infrastructure.databaseUrl, config.databaseSchema, log).catch((err) => {
      throw config.databaseUrl ? databaseUnreachable(config.databaseUrl, err) : err;
    }),
    (db) => db.close(),
  );
  stopLater('database pool', () => database.close());
  await step(migrate(database.db, log));
  await step(ensureStoreData(database, config, log.child({ part: 'store-data' })));
  const eventLog = new PostgresEventLog(database.db, {
    log: log.child({ part: 'event-log' }),
    ...(tracing ? { onCommit: (c) => tracing.commit(c.startMs, c.endMs, c.events, c.traces) } : {}),
  });
  stopLater('event log', () => eventLog.close());
  return {
    database,
    eventLog,
    storeData: databaseStore(database.db),
    readiness: [
      { name: 'database', check: () => database.ping() },
      // appends failing and being retried: inputs wait unacknowledged until the log takes them again
      { name: 'event log', check: () => eventLog.healthy },
    ],
  };
}

/** The in-memory event log, and SEED's synthetic store as the cache DB would give it (AUTO_SEED does not apply: there is no other). */
export async function openMemory({ config, log }: Opening): Promise<MemoryStorage> {
  const store = asStored(generateStore({ seed: config.seed }));
  log.info({ customers: store.customers.length, coupons: store.coupons.length, seed: config.seed }, 'in-memory event log and store: no database');
  return { eventLog: new InMemoryEventLog(() => Date.now()), storeData: memoryStore(store), readiness: [] };
}
