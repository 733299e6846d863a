/**
 * The soak's reads of storeflow's event log (the `events` table, through storeflow's public schema
 * only): its own connections, the log's progress every 5 s for soak.log (read by position, cheap), and
 * the logged inputs and decisions page by page for the verdict.
 */
import pg, { sql, type ConnectionPool } from '@databases/pg';
import type { LoggedDecision, LoggedInput } from './soak-verdict.ts';

/** A small pool; an idle connection dropped by a database restart is expected here: noted, not printed. */
export const createPool = (url: string, note: (line: string) => void): ConnectionPool =>
  ((pg as any).default ?? pg)({
    connectionString: url,
    bigIntMode: 'number',
    poolSize: 2,
    onError: (err: Error) => note(`database connection error: ${err.message}`),
  }) as ConnectionPool;

/** Notes inputs logged and decisions every 5 s until `stop()`. */
export function watchLog(url: string, note: (line: string) => void, closing: () => boolean): { stop(): Promise<void> } {
  const watchPool = createPool(url, note);
  let watchedTo = 0,
    watching = false;
  const logged = { inputs: 0, decisions: 0 };
  const watch = setInterval(() => {
    if (watching || closing()) return;
    watching = true;
    void watchPool
      .query(sql`
      SELECT count(*) FILTER (WHERE metadata->>'source' = 'mqtt') AS inputs,
             count(*) FILTER (WHERE type IN ('prediction', 'no_prediction')) AS decisions,
             max(position) AS head
      FROM events WHERE position > ${watchedTo}`)
      .then(
        ([r]) => {
          logged.inputs += r.inputs;
          logged.decisions += r.decisions;
          if (r.head) watchedTo = r.head;
          note(`log: ${logged.inputs} inputs, ${logged.decisions} decisions (+${r.inputs}, +${r.decisions} in 5 s)`);
        },
        (err) => note(`log: not readable (${(err as Error).message})`),
      )
      .finally(() => {
        watching = false;
      });
  }, 5000);
  return {
    async stop() {
      clearInterval(watch);
      await watchPool.dispose().catch(() => {});
    },
  };
}

/** What the log holds in all: inputs from MQTT, decisions, predictions, and its head position. */
export async function logTotals(db: ConnectionPool, head: number): Promise<{ inputs: number; decisions: number; predictions: number; head: number }> {
  const [c] = await db
    .query(sql`
    SELECT count(*) FILTER (WHERE metadata->>'source' = 'mqtt') AS inputs,
           count(*) FILTER (WHERE type IN ('prediction', 'no_prediction')) AS decisions,
           count(*) FILTER (WHERE type = 'prediction') AS predictions,
           coalesce(max(position), 0) AS head
    FROM events`)
    .catch(() => [{ inputs: 0, decisions: 0, predictions: 0, head }]);
  return c;
}

/** The logged MQTT inputs and decisions, in log order, 20,000 rows a page. */
export function readLog(db: ConnectionPool): { inputs: AsyncIterable<LoggedInput[]>; decisions: AsyncIterable<LoggedDecision[]> } {
  async function* pages<T>(query: (after: number) => ReturnType<typeof sql>): AsyncIterable<T[]> {
    for (let after = 0; ; ) {
      const rows = await db.query(query(after));
      if (rows.length === 0) return;
      after = rows[rows.length - 1].position;
      yield rows as T[];
    }
  }
  return {
    inputs: pages<LoggedInput>(
      (after) => sql`
      SELECT position, type, data->>'id' AS id, (data->>'ts')::float8 AS ts, data->>'dep' AS dep
      FROM events WHERE position > ${after} AND metadata->>'source' = 'mqtt' ORDER BY position LIMIT 20000`,
    ),
    decisions: pages<LoggedDecision>(
      (after) => sql`
      SELECT position, type, data->>'customer_id' AS id, (data->>'ts')::float8 AS ts, (data->'coupon'->>'id')::int AS coupon, data->>'reason' AS reason
      FROM events WHERE position > ${after} AND type IN ('prediction', 'no_prediction') ORDER BY position LIMIT 20000`,
    ),
  };
}
