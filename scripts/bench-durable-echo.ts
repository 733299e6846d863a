/**
 * bench:recommender's durable echo: the fair ceiling for an event-sourced service. Before it answers a focus it
 * appends the focus and a decision-sized row (the reply it is about to send) to a PostgreSQL log of its own — jsonb,
 * a position key, a unique message id, as storeflow's `events` — in one group commit: the focus events that arrive
 * while a commit is in flight share the next one (one INSERT, one transaction, fsync on). It does nothing else, so
 * what storeflow adds to it is storeflow's own work, not durability.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

export interface DurableLog {
  /** Resolves once the focus and its reply are committed. */
  append(focus: Buffer, reply: Buffer): Promise<void>;
  /** Rows and commits so far (a commit's mean size says how well arrivals were grouped). */
  readonly stats: { rows: number; commits: number };
  close(): Promise<void>;
}

/** A log table in a schema of its own on `databaseUrl`, dropped at close. */
export async function durableLog(databaseUrl: string, schema: string): Promise<DurableLog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const table = `"${schema}".events`;
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await client.query(
    `CREATE TABLE ${table} (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id text NOT NULL UNIQUE, data jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`,
  );
  const insert = `INSERT INTO ${table} (message_id, data) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (message_id) DO NOTHING`;
  let queue: { ids: string[]; rows: string[]; done: (() => void)[]; fail: ((e: unknown) => void)[] } | undefined;
  let writing = false;
  const stats = { rows: 0, commits: 0 };

  const flush = async () => {
    if (writing || !queue) return;
    const batch = queue;
    queue = undefined;
    writing = true;
    try {
      await client.query(insert, [batch.ids, batch.rows]);
      stats.rows += batch.ids.length;
      stats.commits++;
      for (const ok of batch.done) ok();
    } catch (err) {
      for (const no of batch.fail) no(err);
    } finally {
      writing = false;
      void flush();
    }
  };

  return {
    stats,
    append(focus, reply) {
      // the focus's id as storeflow's (topic aside): a hash of its bytes; the reply's id derived from it
      const id = createHash('sha1').update(focus).digest('base64url').slice(0, 22);
      return new Promise<void>((ok, no) => {
        queue ??= { ids: [], rows: [], done: [], fail: [] };
        queue.ids.push(id, `${id}:prediction`);
        queue.rows.push(focus.toString('utf8'), reply.toString('utf8'));
        queue.done.push(ok);
        queue.fail.push(no);
        void flush();
      });
    },
    async close() {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}
