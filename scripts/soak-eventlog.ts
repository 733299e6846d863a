/**
 * The soak's reads of storeflow's event log (through storeflow's public schema only, by the log's port): its own
 * connections, the log's progress every 5 s for soak.log (counted after the last position seen, cheap), and the
 * logged inputs and decisions page by page for the verdict.
 */
import pg, { type ConnectionPool } from '@databases/pg';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { tally } from '../adapters/process/log-tally.ts';
import { createLogger } from '../adapters/process/logger.ts';
import type { LogTally } from '../actors/kernel/event-log.ts';
import type { LoggedDecision, LoggedInput } from './soak-verdict.ts';

/** A small pool; an idle connection dropped by a database restart is expected here: noted, not printed. */
export const createPool = (url: string, note: (line: string) => void): ConnectionPool =>
  ((pg as { default?: typeof pg.default }).default ?? (pg as unknown as typeof pg.default))({
    connectionString: url,
    bigIntMode: 'number',
    poolSize: 2,
    onError: (err: Error) => note(`database connection error: ${err.message}`),
  }) as ConnectionPool;

/** The log over one of the soak's pools (its own writes: none). */
const eventLog = (db: ConnectionPool) => new PostgresEventLog(db, { log: createLogger({ level: 'silent' }) });

const inputsOf = (t: LogTally) => t.sources.mqtt ?? 0;
const decisionsOf = (t: LogTally) => (t.types.prediction ?? 0) + (t.types.no_prediction ?? 0);

/** Notes inputs logged and decisions every 5 s until `stop()`. */
export function watchLog(url: string, note: (line: string) => void, closing: () => boolean): { stop(): Promise<void> } {
  const watchPool = createPool(url, note);
  const log = eventLog(watchPool);
  let watchedTo = 0,
    watching = false;
  const logged = { inputs: 0, decisions: 0 };
  const watch = setInterval(() => {
    if (watching || closing()) return;
    watching = true;
    void tally(log, watchedTo)
      .then(
        (t) => {
          logged.inputs += inputsOf(t);
          logged.decisions += decisionsOf(t);
          if (t.head) watchedTo = t.head;
          note(`log: ${logged.inputs} inputs, ${logged.decisions} decisions (+${inputsOf(t)}, +${decisionsOf(t)} in 5 s)`);
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
  const t = await tally(eventLog(db)).catch(() => undefined);
  return t
    ? { inputs: inputsOf(t), decisions: decisionsOf(t), predictions: t.types.prediction ?? 0, head: t.head }
    : { inputs: 0, decisions: 0, predictions: 0, head };
}

/** The logged MQTT inputs and decisions, in log order, 20,000 a page. */
export function readLog(db: ConnectionPool): { inputs: AsyncIterable<LoggedInput[]>; decisions: AsyncIterable<LoggedDecision[]> } {
  const log = eventLog(db);
  async function* inputs(): AsyncIterable<LoggedInput[]> {
    for await (const page of log.pages({ source: 'mqtt', pageSize: 20_000 }))
      yield page.map(({ type, data }) => {
        const d = data as { id: unknown; ts: unknown; dep?: string };
        return { type, id: String(d.id), ts: Number(d.ts), dep: d.dep ?? null };
      });
  }
  async function* decisions(): AsyncIterable<LoggedDecision[]> {
    for await (const page of log.pages({ types: ['prediction', 'no_prediction'], pageSize: 20_000 }))
      yield page.map(({ type, data }) => {
        const d = data as { customer_id: unknown; ts: unknown; coupon?: { id: number }; reason?: string };
        return { type, id: String(d.customer_id), ts: Number(d.ts), coupon: d.coupon?.id ?? null, reason: d.reason ?? null };
      });
  }
  return { inputs: inputs(), decisions: decisions() };
}
