/** The snapshot contract (test/snapshot-contract.ts) on the in-memory log's snapshots and on PostgreSQL's (embedded, or DATABASE_URL). */
import { connectDatabase, migrate } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { DATABASE_URL, uniqueName, dropSchema } from './helpers.ts';
import { snapshotContract } from './snapshot-contract.ts';

snapshotContract('in-memory', async () => ({ store: new InMemoryEventLog().snapshots, done: async () => {} }));

snapshotContract('PostgreSQL', async () => {
  const schema = uniqueName();
  const db = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(db.db, silentLogger);
  const log = new PostgresEventLog(db.db, { log: silentLogger });
  return {
    store: log.snapshots,
    done: async () => {
      await log.close();
      await db.close();
      await dropSchema(schema);
    },
  };
});
