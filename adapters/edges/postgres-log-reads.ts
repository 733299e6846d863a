/**
 * The event log's reads on PostgreSQL: every SELECT on `events` (the writes are postgres-event-log.ts's). Plain
 * functions over a pool, so PostgresEventLog's methods stay one line each and a read can be seen with its SQL. Those
 * after `readStream` and `read` are the faster versions of the roles' queries over the port (LogQueries): each
 * answers as its module's reading of the port does (test/event-log-contract.ts holds both to it).
 */
import { sql, type ConnectionPool } from '@databases/pg';
import type {
  LoggedEvent,
  LogTally,
  OpenVisitsOptions,
  VisitStart,
  ReadOptions,
  SnapshotMachine,
  StreamPageOptions,
  StreamPageRow,
  VisitRead,
} from '../../actors/kernel/event-log.ts';
import type { StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import { visitsOf } from '../recommender/open-visits.ts';
import { currentVersion, upcast } from '../../actors/kernel/upcasters.ts';

/** A logged event's columns, `recorded_at` in ms. */
const COLUMNS = sql`position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at, schema_version`;

/** An events row as the reads here select it (COLUMNS). */
export interface EventRow {
  position: number | string;
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  message_id: string | null;
  recorded_at: number;
  /** The version `data` was written in (sql/008). */
  schema_version: number;
}

/** A row as the port gives it: its data upcast to the current shape (every read of events rows goes through here). */
export function toLogged(r: EventRow): LoggedEvent {
  return {
    position: Number(r.position),
    streamId: r.stream_id,
    version: r.version,
    type: r.type,
    data: upcast(r.type, r.stream_id, r.schema_version, r.data),
    metadata: r.metadata,
    messageId: r.message_id ?? undefined,
    recordedAt: Math.floor(r.recorded_at),
  };
}

export async function readStream(db: ConnectionPool, streamId: string, afterVersion: number): Promise<LoggedEvent[]> {
  const rows = await db.query(sql`SELECT ${COLUMNS} FROM events WHERE stream_id = ${streamId} AND version > ${afterVersion} ORDER BY version`);
  return rows.map(toLogged);
}

export async function read(db: ConnectionPool, o: ReadOptions): Promise<LoggedEvent[]> {
  const where = [sql`TRUE`];
  if (o.fromPosition !== undefined) where.push(sql`position >= ${o.fromPosition}`);
  if (o.toPosition !== undefined) where.push(sql`position <= ${o.toPosition}`);
  if (o.fromTime !== undefined) where.push(sql`recorded_at >= to_timestamp(${o.fromTime / 1000})`);
  if (o.streamId !== undefined) where.push(sql`stream_id = ${o.streamId}`);
  if (o.types) where.push(sql`type = ANY(${o.types}::text[])`);
  if (o.source !== undefined) where.push(sql`metadata->>'source' = ${o.source}`);
  const rows = await db.query(
    sql`SELECT ${COLUMNS} FROM events WHERE ${sql.join(where, ' AND ')} ORDER BY position ${o.limit !== undefined ? sql`LIMIT ${o.limit}` : sql``}`,
  );
  return rows.map(toLogged);
}

export async function byIds(db: ConnectionPool, ids: string[]): Promise<LoggedEvent[]> {
  return (await db.query(sql`SELECT ${COLUMNS} FROM events WHERE message_id = ANY(${ids})`)).map(toLogged);
}

export async function anyOf(db: ConnectionPool, ids: string[]): Promise<boolean> {
  return (await db.query(sql`SELECT 1 FROM events WHERE message_id = ANY(${ids}) LIMIT 1`)).length > 0;
}

/** Ids of inputs (not outputs) recorded since `sinceMs`, with their recorded time: the de-duplication window. */
export async function inputIdsSince(db: ConnectionPool, sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]> {
  const rows = await db.query(sql`
    SELECT message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at FROM events
    WHERE recorded_at >= to_timestamp(${sinceMs / 1000}) AND message_id IS NOT NULL AND metadata->>'source' IS DISTINCT FROM 'output'`);
  return rows.map((r) => ({ messageId: r.message_id, recordedAt: Math.floor(r.recorded_at) }));
}

/**
 * The visits with work left at the log's end, where each begins: see adapters/recommender/open-visits.ts. Read from
 * the stream heads the database keeps (sql/007_snapshots.sql, sql/010), not from the log: the log's time is the latest
 * event time two customers have reached, and a visit is open when its customer entered or focused (with `moves`,
 * moved) after their last exit and their last event is within the idle timeout of it. The heads hold no decision (a
 * decision's append updates none): whether a closed visit's last focus was decided is one probe of its stream's index,
 * for those closed visits only.
 */
export async function openVisitStarts(db: ConnectionPool, idleTimeoutS: number, o: OpenVisitsOptions = {}): Promise<VisitStart[]> {
  const ts = o.moves ? sql`walk_ts` : sql`session_ts`;
  const lastIn = o.moves ? sql`greatest(h.last_entry, h.last_focus, h.last_move)` : sql`greatest(h.last_entry, h.last_focus)`;
  const heads = await db.query(sql`
    WITH latest AS (SELECT ${ts} AS ts FROM stream_heads WHERE ${ts} IS NOT NULL ORDER BY ${ts} DESC LIMIT 2)
    SELECT h.stream_id, h.last_entry, h.last_focus, h.last_move, h.last_exit,
           CASE WHEN ${lastIn} <= h.last_exit AND h.last_focus > 0
                -- a focus archived (npm run archive takes closed history only) counts as decided
                THEN coalesce((SELECT max(e.version) FROM events e
                               WHERE e.stream_id = h.stream_id AND e.version > h.last_focus AND e.type IN ('prediction', 'no_prediction')),
                              (SELECT a.version FROM archived_streams a WHERE a.stream_id = h.stream_id AND a.version >= h.last_focus), 0)
                ELSE 0 END AS last_decision, h.${ts}::float8 AS ts
    FROM stream_heads h
    WHERE h.${ts} > (SELECT min(ts) FROM latest) - ${idleTimeoutS}::numeric`);
  const { open, undecided } = visitsOf(
    heads.map((r) => ({
      streamId: r.stream_id,
      lastEntry: r.last_entry,
      lastFocus: r.last_focus,
      lastMove: r.last_move,
      lastExit: r.last_exit,
      lastDecision: r.last_decision,
      ts: r.ts,
    })),
    o,
  );
  if (undecided.length === 0) return open;
  // a closed visit with a focus never decided: from the exit before that focus (the exits' own index)
  const starts = await db.query(sql`
    SELECT u.stream_id, coalesce((SELECT max(version) FROM events x WHERE x.stream_id = u.stream_id AND x.type = 'exit' AND x.version < u.focus), 0) AS after
    FROM unnest(${undecided.map((h) => h.streamId)}::text[], ${undecided.map((h) => h.lastFocus)}::int[]) AS u(stream_id, focus)`);
  return [...open, ...starts.map((r) => ({ streamId: r.stream_id as string, after: Number(r.after) }))].sort((a, b) =>
    a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0,
  );
}

/**
 * Each visit's restore point (the newest snapshot of `machine` taken within it, of the version in force; one of another
 * version is named, not read) and its stream's events after it: one statement for every visit, one row per visit, the
 * events as one JSON array (thousands of visits' rows and columns cost the driver more than one parse each).
 */
export async function visitsFrom(db: ConnectionPool, starts: readonly VisitStart[], machine?: SnapshotMachine): Promise<VisitRead[]> {
  if (starts.length === 0) return [];
  // each stream's newest snapshot within the visit, those of the version in force first (the snapshots' key), and its
  // tail by the (stream_id, version) index (LATERAL: a join of thousands of streams is planned as a scan of the whole
  // table otherwise). No JIT: the planner's guess of rows per stream makes it compile (a second) what takes index reads.
  const snapshot = machine
    ? sql`LEFT JOIN LATERAL (
        SELECT x.machine_version, x.version, CASE WHEN x.machine_version = ${machine.version} THEN x.state::text END AS state,
               CASE WHEN x.machine_version = ${machine.version} THEN x.version ELSE v.after END AS from_version
        FROM snapshots x WHERE x.stream_id = v.stream_id AND x.machine = ${machine.machine} AND x.version > v.after
        ORDER BY x.machine_version = ${machine.version} DESC, x.version DESC LIMIT 1) s ON true`
    : sql`LEFT JOIN LATERAL (SELECT NULL::text AS machine_version, NULL::int AS version, NULL::text AS state, v.after AS from_version) s ON true`;
  const rows = await db.tx(async (tx) => {
    await tx.query(sql`SET LOCAL jit = off`);
    return tx.query(sql`
      SELECT v.stream_id, s.machine_version, s.version, s.state,
             (SELECT json_agg(json_build_array(e.position, e.version, e.type, e.data, e.metadata, e.message_id,
                                               (extract(epoch FROM e.recorded_at) * 1000)::float8, e.schema_version) ORDER BY e.version)
              FROM events e WHERE e.stream_id = v.stream_id AND e.version > coalesce(s.from_version, v.after))::text AS events
      FROM unnest(${starts.map((x) => x.streamId)}::text[], ${starts.map((x) => x.after)}::int[]) WITH ORDINALITY AS v(stream_id, after, n)
      ${snapshot}
      ORDER BY v.n`);
  });
  return rows.map((r): VisitRead => {
    const events = ((r.events ? JSON.parse(r.events) : []) as EventTuple[]).map(
      ([position, version, type, data, metadata, message_id, recorded_at, schema_version]) =>
        toLogged({ position, stream_id: r.stream_id, version, type, data, metadata, message_id, recorded_at, schema_version }),
    );
    if (r.version === null) return { streamId: r.stream_id, events };
    if (r.state === null) return { streamId: r.stream_id, ignored: { machineVersion: r.machine_version, version: r.version }, events };
    return { streamId: r.stream_id, snapshot: keptText(r.stream_id, machine?.machine ?? '', r.machine_version, r.version, r.state), events };
  });
}

/**
 * A snapshot whose state is parsed when first read: a start defers most sessions (adapters/recommender/deferred-sessions.ts),
 * and parsing the JSON of 20,000 at once was most of its time.
 */
function keptText(streamId: string, machine: string, machineVersion: string, version: number, text: string): StateSnapshot {
  let state: unknown;
  return {
    streamId,
    machine,
    machineVersion,
    version,
    get state() {
      if (state === undefined) state = JSON.parse(text);
      return state;
    },
  };
}

/** An event as visitsFrom's JSON array holds it: the columns of EventRow but the stream's, in that order. */
type EventTuple = [number, number, string, unknown, Record<string, unknown>, string | null, number, number];

/**
 * A page of the gateway's stream: its rows with data and metadata as the JSON text PostgreSQL holds, sent as they are;
 * only a row of an older schema version is parsed, upcast and written again (the gateway sends current shapes).
 */
export async function streamPage(db: ConnectionPool, position: number, o: StreamPageOptions): Promise<StreamPageRow[]> {
  const rows = await db.query(sql`
    SELECT position, type, stream_id, version, message_id, data::text AS data, metadata::text AS metadata, schema_version,
           metadata->>'routing_key' AS routing_key,
           CASE WHEN stream_id LIKE 'customer-%' THEN substr(stream_id, 10) ELSE data->>'customer_id' END AS customer,
           floor(extract(epoch FROM recorded_at) * 1000)::float8 AS ts
    FROM events
    WHERE position >= ${position}
      ${o.toPosition === undefined ? sql`` : sql`AND position <= ${o.toPosition}`}
      ${o.fromTime === undefined ? sql`` : sql`AND recorded_at >= to_timestamp(${o.fromTime / 1000})`}
      ${o.type === undefined ? sql`` : sql`AND type = ${o.type}`}
    ORDER BY position LIMIT ${o.limit}`);
  return rows.map((r) => ({
    position: Number(r.position),
    type: r.type,
    streamId: r.stream_id,
    version: r.version,
    messageId: r.message_id,
    dataJson:
      r.schema_version < currentVersion(r.type, r.stream_id) ? JSON.stringify(upcast(r.type, r.stream_id, r.schema_version, JSON.parse(r.data))) : r.data,
    metadataJson: r.metadata,
    routingKey: r.routing_key,
    customer: r.customer,
    recordedAt: r.ts,
  }));
}

export async function countSince(db: ConnectionPool, type: string, ms: number, upTo: number): Promise<number> {
  const [r] = await db.query(
    sql`SELECT count(*)::int AS n FROM events WHERE type = ${type} AND recorded_at >= to_timestamp(${ms / 1000}) AND position <= ${upTo}`,
  );
  return r.n;
}

/** Events after `afterPosition` counted by type and by source, and the last position among them (0: none). */
export async function tally(db: ConnectionPool, afterPosition: number): Promise<LogTally> {
  const rows = await db.query(sql`
    SELECT type, metadata->>'source' AS source, count(*)::int AS n, max(position)::bigint AS head
    FROM events WHERE position > ${afterPosition} GROUP BY 1, 2`);
  const t: LogTally = { head: 0, types: {}, sources: {} };
  for (const r of rows) {
    t.types[r.type] = (t.types[r.type] ?? 0) + r.n;
    if (r.source !== null) t.sources[r.source] = (t.sources[r.source] ?? 0) + r.n;
    t.head = Math.max(t.head, Number(r.head));
  }
  return t;
}

export async function last(db: ConnectionPool, streamId: string, type: string): Promise<LoggedEvent | undefined> {
  const [r] = await db.query(sql`SELECT ${COLUMNS} FROM events WHERE stream_id = ${streamId} AND type = ${type} ORDER BY position DESC LIMIT 1`);
  return r ? toLogged(r) : undefined;
}

export async function latestOf(db: ConnectionPool, type: string, windowMs: number): Promise<LoggedEvent[]> {
  const rows = await db.query(sql`
    WITH latest AS (SELECT recorded_at FROM events WHERE type = ${type} ORDER BY position DESC LIMIT 1)
    SELECT ${COLUMNS}
    FROM events WHERE type = ${type} AND recorded_at >= (SELECT recorded_at FROM latest) - make_interval(secs => ${windowMs / 1000})
    ORDER BY position`);
  return rows.map(toLogged);
}

/** The predictions' discounts summed per UTC day of their event time: one pass over the predictions (the type index). */
export async function spentPerDay(db: ConnectionPool): Promise<{ day: number; spent: number }[]> {
  const rows = await db.query(sql`
    SELECT floor((data->>'ts')::numeric / 86400)::int AS day, sum((data->'coupon'->>'discount')::numeric)::float8 AS spent
    FROM events WHERE type = 'prediction' GROUP BY 1`);
  return rows.map((r) => ({ day: Number(r.day), spent: Number(r.spent) }));
}

/**
 * Resolves once no other session is in the middle of writing to this log (an INSERT still running, e.g. the
 * last group commit of a process that was just killed), or after `timeoutMs`.
 */
export async function quiet(db: ConnectionPool, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [r] = await db.query(sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%' || 'insert into' || ' events%'`);
    if (r.n === 0 || Date.now() >= until) return;
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

export async function firstPositionSince(db: ConnectionPool, ms: number): Promise<number> {
  const [r] = await db.query(sql`SELECT min(position)::bigint AS p FROM events WHERE recorded_at >= to_timestamp(${ms / 1000})`);
  return r?.p == null ? (await head(db)) + 1 : Number(r.p);
}

export async function head(db: ConnectionPool): Promise<number> {
  const [r] = await db.query(sql`SELECT coalesce(max(position), 0)::bigint AS head FROM events`);
  return Number(r.head);
}
