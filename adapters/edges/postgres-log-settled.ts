/**
 * Which positions of the log are final. A position is taken when a transaction inserts, not when it commits, so a
 * reader can find a hole below a committed event: either a transaction still open that will commit there later, or
 * one that rolled back (its positions never come). Both are told apart without waiting a fixed time: a transaction
 * that took a position holds the events table's RowExclusiveLock from before its first position to its end, and
 * PostgreSQL releases that lock only after its commit is visible. So once every transaction that held the lock when
 * the sequence stood at L has ended, every position up to L is decided, and one more read shows exactly the committed
 * ones. Only writers of this schema's events table count: a long transaction elsewhere on the server holds nothing
 * back (unlike a reader bounded by pg_snapshot_xmin, which is cluster-wide).
 */
import { sql, type Queryable } from '@databases/pg';

/**
 * The highest position any transaction has taken so far, committed or not (0: none), and the server's time just after
 * it was read (a transaction that began later took none of the positions up to it).
 */
export async function takenHead(db: Queryable): Promise<{ position: number; at: string }> {
  const [r] = await db.query(sql`
    WITH s AS MATERIALIZED (SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'position')::regclass), 0)::bigint AS p)
    SELECT p, clock_timestamp()::text AS at FROM s`);
  return { position: Number(r.p), at: r.at };
}

/**
 * The open transactions that have written to this schema's events table (their virtual transaction ids); with
 * `begunBy`, only those that began by then (a session whose start time is hidden from this role counts too).
 */
export async function openWriters(db: Queryable, begunBy?: string): Promise<string[]> {
  const rows = await db.query(sql`
    SELECT DISTINCT l.virtualtransaction AS v FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.relation = 'events'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid IS DISTINCT FROM pg_backend_pid()
      ${begunBy === undefined ? sql`` : sql`AND (a.xact_start IS NULL OR a.xact_start <= ${begunBy}::timestamptz)`}`);
  return rows.map((r) => r.v as string);
}

/** Of `writers`, those still open. */
export async function stillOpen(db: Queryable, writers: readonly string[]): Promise<string[]> {
  if (writers.length === 0) return [];
  const now = new Set(await openWriters(db));
  return writers.filter((w) => now.has(w));
}

/**
 * A position up to which the log is final: every transaction that had taken a position up to it has ended (waited
 * for, polling every `pollMs`). A read up to it, made after this resolves, holds every event it ever will.
 */
export async function settledHead(db: Queryable, pollMs = 5): Promise<number> {
  const head = await takenHead(db);
  let open = await openWriters(db, head.at);
  while (open.length) {
    await new Promise((ok) => setTimeout(ok, pollMs));
    open = await stillOpen(db, open);
  }
  return head.position;
}
