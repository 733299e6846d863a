/** The event-log contract (test/event-log-contract.ts) on the in-memory log and on PostgreSQL (embedded, or DATABASE_URL). */
import { connectDatabase, migrate } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { DATABASE_URL, uniqueName, dropSchema } from './helpers.ts';
import { eventLogContract } from './event-log-contract.ts';

eventLogContract('in-memory', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  return { log, other: () => log.anotherWriter(), done: async () => {} };
});

eventLogContract('PostgreSQL', async () => {
  const schema = uniqueName();
  const db = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(db.db, silentLogger);
  const log = new PostgresEventLog(db.db, { log: silentLogger });
  // a second writer on the same database, as another replica would be
  const second = new PostgresEventLog(db.db, { log: silentLogger });
  return {
    log,
    other: () => second,
    done: async () => {
      await second.close();
      await log.close();
      await db.close();
      await dropSchema(schema);
    },
  };
});
