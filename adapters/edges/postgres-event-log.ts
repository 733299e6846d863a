/**
 * The event log on PostgreSQL. Appends are group-committed: every append() made while a write is
 * in flight joins the next single INSERT … SELECT FROM json_to_recordset(…), so append-then-act
 * stays fast under load. A database outage makes appends wait and retry, in order; a row the database
 * refuses fails its own append only. Per-stream versions are computed by the database from the stream's head, and the
 * (stream_id, version) constraint rejects a concurrent writer's clash.
 */
import { sql, type ConnectionPool } from '@databases/pg';
import {
  readPages,
  refused,
  type EventLog,
  type LoggedEvent,
  type LogListener,
  type NewEvent,
  type ReadOptions,
  type StreamPageRow,
} from '../../actors/kernel/event-log.ts';
import type { Logger } from '../process/logger.ts';

interface Pending {
  events: NewEvent[];
  ok: (e: LoggedEvent[]) => void;
  fail: (err: unknown) => void;
}

export interface PgEventLogOptions {
  maxBatch?: number;
  log: Logger;
}

export class PostgresEventLog implements EventLog {
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private listeners = new Set<LogListener>();
  private closed = false;
  private closing = false;
  private failingSince: number | undefined;
  /** The highest position this writer has seen committed (its batches follow it). */
  private tail: number | undefined;
  private lastWarned = 0;
  /** Recent versions this writer appended, per stream: an expected version moves past them. */
  private own = new Map<string, Set<number>>();
  /** Appends, group commits and events written, and the time spent in those commits (ms). */
  readonly stats = { appends: 0, batches: 0, events: 0, writeMs: 0 };
  constructor(
    private db: ConnectionPool,
    private opts: PgEventLogOptions,
  ) {}

  append(events: NewEvent[]): Promise<LoggedEvent[]> {
    if (this.closed) return Promise.reject(new Error('event log is closed'));
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((ok, fail) => {
      this.queue.push({ events, ok, fail });
      this.stats.appends++;
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    const max = this.opts.maxBatch ?? 2000;
    try {
      while (this.queue.length) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length && (n === 0 || n + this.queue[0].events.length <= max)) {
          const p = this.queue.shift()!;
          batch.push(p);
          n += p.events.length;
        }
        await this.commit(batch);
        // Before the next commit, let the appenders act on this one (their continuations run as
        // microtasks): the outputs they append at once — a focus's prediction, decided as soon as the
        // focus is logged — then ride in the next commit instead of waiting for it to finish.
        await nextTurn();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * One group commit. The database down (or any error not about the rows themselves): the same batch
   * again after a backoff, for as long as it takes, so appenders wait and order holds. Rows the
   * database refuses: each append of the batch on its own, so only the culprit fails.
   */
  private async commit(batch: Pending[]): Promise<void> {
    const events = batch.length === 1 ? batch[0].events : batch.flatMap((p) => p.events);
    this.tail ??= await this.head().catch(() => undefined);
    for (let attempt = 0; ; attempt++) {
      try {
        const t0 = performance.now();
        // a connection lost during COMMIT leaves it unknown whether the rows went in: look before writing them again
        const logged = (attempt > 0 ? await this.committedAlready(events) : undefined) ?? (await this.insert(events));
        const written = logged.filter((e) => !e.skipped);
        this.tail = Math.max(this.tail ?? 0, written.at(-1)?.position ?? 0);
        this.stats.writeMs += performance.now() - t0;
        this.stats.batches++;
        this.stats.events += written.length;
        this.recovered();
        let i = 0;
        for (const p of batch) {
          p.ok(logged.slice(i, i + p.events.length));
          i += p.events.length;
        }
        if (written.length)
          for (const l of this.listeners) {
            try {
              l(written);
            } catch (err) {
              this.opts.log.error({ err }, 'event log listener failed');
            }
          }
        return;
      } catch (err) {
        if (isAboutTheRows(err)) {
          if (batch.length === 1) return batch[0].fail(err);
          for (const p of batch) await this.commit([p]);
          return;
        }
        if (this.closing) {
          for (const p of batch) p.fail(err);
          return;
        }
        this.failing(err);
        await backoff(attempt);
      }
    }
  }

  /**
   * The batch as the log holds it, when an attempt that seemed to fail had committed: the rows right after
   * the last position this writer saw are these events, in order (same stream, type and id). Undefined
   * when they are not there (nothing was written), or when this writer's tail is unknown.
   */
  private async committedAlready(events: NewEvent[]): Promise<LoggedEvent[] | undefined> {
    if (this.tail === undefined) return undefined;
    const rows = (await this.read({ fromPosition: this.tail + 1, limit: events.length })).filter((r) => r.position > this.tail!);
    if (rows.length !== events.length) return undefined;
    const same = rows.every(
      (r, i) => r.streamId === events[i].streamId && r.type === events[i].type && (r.messageId ?? null) === (events[i].messageId ?? null),
    );
    if (!same) return undefined;
    this.opts.log.warn({ events: events.length, from: rows[0].position }, 'event log: an append that seemed to fail had been committed; not written again');
    return rows.map((r, i) => {
      this.wrote(r.streamId, r.version);
      return { ...r, data: events[i].data, metadata: events[i].metadata ?? {} };
    });
  }

  private failing(err: unknown) {
    const now = Date.now();
    if (this.failingSince === undefined) {
      this.failingSince = now;
      this.lastWarned = now;
      this.opts.log.warn(
        { err: { message: (err as Error)?.message, code: (err as { code?: string })?.code } },
        'event log: the database refused an append; retrying (inputs wait unacknowledged)',
      );
    } else if (now - this.lastWarned >= 10_000) {
      this.lastWarned = now;
      this.opts.log.warn(
        { err: { message: (err as Error)?.message }, downMs: now - this.failingSince, waiting: this.queue.length },
        'event log: still retrying',
      );
    }
  }

  private recovered() {
    if (this.failingSince === undefined) return;
    this.opts.log.info({ downMs: Date.now() - this.failingSince }, 'event log: appends go through again');
    this.failingSince = undefined;
  }

  /** False while appends are failing and being retried. */
  get healthy(): boolean {
    return this.failingSince === undefined;
  }

  /**
   * One INSERT for the batch. Events whose id is logged already (or earlier in the batch) are not written, nor are
   * events whose expected version is behind another writer's events; each comes back marked `skipped`.
   */
  protected async insert(events: NewEvent[]): Promise<LoggedEvent[]> {
    const rows = await this.db.query(sql`
      WITH input AS (
        -- the whole batch as one JSON parameter: one native stringify here, no per-element array escaping
        SELECT * FROM ROWS FROM (json_to_recordset(${JSON.stringify(
          events.map((e) => ({ s: e.streamId, t: e.type, d: e.data, m: e.metadata ?? {}, i: e.messageId ?? null, x: this.expected(e) })),
        )}::json)
                                 AS (s text, t text, d jsonb, m jsonb, i text, x int))
          WITH ORDINALITY AS t(stream_id, type, data, metadata, message_id, expected, n)
      ), heads AS (
        -- one index probe per stream, (stream_id, version) backwards: a join here would scan the whole table
        SELECT s.stream_id, coalesce((SELECT max(version) FROM events e WHERE e.stream_id = s.stream_id), 0) AS v
        FROM (SELECT DISTINCT stream_id FROM input) s
      ), firsts AS (
        -- an id twice in one batch: its first only (a window, not a correlated scan of the batch)
        SELECT i.*, row_number() OVER (PARTITION BY i.message_id ORDER BY i.n) AS k FROM input i
      ), fresh AS (
        SELECT f.*, h.v FROM firsts f JOIN heads h USING (stream_id)
        WHERE (f.expected IS NULL OR f.expected = h.v)
          AND (f.message_id IS NULL OR (f.k = 1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = f.message_id)))
      )
      INSERT INTO events (stream_id, version, type, data, metadata, message_id)
      SELECT f.stream_id, f.v + row_number() OVER (PARTITION BY f.stream_id ORDER BY f.n), f.type, f.data, f.metadata, f.message_id
      FROM fresh f
      ORDER BY f.n
      RETURNING position, stream_id, version, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at`);
    rows.sort((a, b) => a.position - b.position);
    // rows come in batch order; an event without its row was skipped
    const out: LoggedEvent[] = [];
    const skipped: number[] = [];
    let r = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const row = rows[r];
      if (row && row.stream_id === e.streamId && (row.message_id ?? undefined) === e.messageId) {
        r++;
        this.wrote(e.streamId, row.version);
        out.push({
          position: row.position,
          streamId: row.stream_id,
          version: row.version,
          type: e.type,
          data: e.data,
          metadata: e.metadata ?? {},
          messageId: e.messageId,
          recordedAt: Math.floor(row.recorded_at),
        });
      } else {
        // refused for its expected version, unless its id turns out to be logged already (below)
        skipped.push(i);
        out.push(refused(e));
      }
    }
    if (skipped.length) {
      const ids = skipped.map((i) => events[i].messageId).filter((id): id is string => id !== undefined);
      const logged = new Map((ids.length ? await this.byIds(ids) : []).map((e) => [e.messageId, e]));
      for (const i of skipped) {
        const copy = events[i].messageId === undefined ? undefined : logged.get(events[i].messageId);
        if (copy) out[i] = { ...copy, skipped: 'duplicate' };
      }
    }
    return out;
  }

  /** Whether any of these ids is logged. */
  async anyOf(ids: string[]): Promise<boolean> {
    const rows = await this.retrying(() => this.db.query(sql`SELECT 1 FROM events WHERE message_id = ANY(${ids}) LIMIT 1`));
    return rows.length > 0;
  }

  private async byIds(ids: string[]): Promise<LoggedEvent[]> {
    const rows = await this.retrying(() =>
      this.db.query(sql`
      SELECT position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at
      FROM events WHERE message_id = ANY(${ids})`),
    );
    return rows.map(toLogged);
  }

  /**
   * The version the stream must be at for an event with an expected version: the appender's, moved past the
   * versions this writer appended since (its own later inputs are not news to it). Null: no expectation.
   */
  private expected(e: NewEvent): number | null {
    if (e.expectedVersion === undefined) return null;
    const own = this.own.get(e.streamId);
    let v = e.expectedVersion;
    while (own?.has(v + 1)) v++;
    return v;
  }

  /** Remembers a version this writer appended (recent ones per stream; forgetting only makes a check fail safe). */
  private wrote(streamId: string, version: number) {
    let own = this.own.get(streamId);
    if (!own) {
      if (this.own.size >= 200_000) this.own.clear();
      own = new Set();
      this.own.set(streamId, own);
    }
    own.add(version);
    if (own.size > 128) for (const v of own) if (v <= version - 64) own.delete(v);
  }

  /** A stream read on the hot path (a session rebuilt from the log): waits out a database outage as appends do. */
  async readStream(streamId: string, afterVersion = 0): Promise<LoggedEvent[]> {
    const rows = await this.retrying(() =>
      this.db.query(sql`
      SELECT position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at
      FROM events WHERE stream_id = ${streamId} AND version > ${afterVersion} ORDER BY version`),
    );
    return rows.map(toLogged);
  }

  /** `query` again after a backoff while the database is away (not for an error about the query itself, nor once closing). */
  private async retrying<T>(query: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await query();
      } catch (err) {
        if (isAboutTheRows(err) || this.closing || this.closed || (err as { code?: string })?.code?.startsWith('42')) throw err;
        await backoff(attempt);
      }
    }
  }

  async read(o: ReadOptions = {}): Promise<LoggedEvent[]> {
    const where = [sql`TRUE`];
    if (o.fromPosition !== undefined) where.push(sql`position >= ${o.fromPosition}`);
    if (o.toPosition !== undefined) where.push(sql`position <= ${o.toPosition}`);
    if (o.fromTime !== undefined) where.push(sql`recorded_at >= to_timestamp(${o.fromTime / 1000})`);
    if (o.streamId !== undefined) where.push(sql`stream_id = ${o.streamId}`);
    if (o.types) where.push(sql`type = ANY(${o.types}::text[])`);
    const rows = await this.db.query(sql`
      SELECT position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at
      FROM events WHERE ${sql.join(where, ' AND ')} ORDER BY position ${o.limit !== undefined ? sql`LIMIT ${o.limit}` : sql``}`);
    return rows.map(toLogged);
  }

  /** Ids of inputs (not outputs) recorded since `sinceMs`, with their recorded time: the de-duplication window. */
  async inputIdsSince(sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]> {
    const rows = await this.db.query(sql`
      SELECT message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at FROM events
      WHERE recorded_at >= to_timestamp(${sinceMs / 1000}) AND message_id IS NOT NULL AND metadata->>'source' IS DISTINCT FROM 'output'`);
    return rows.map((r) => ({ messageId: r.message_id, recordedAt: Math.floor(r.recorded_at) }));
  }

  /**
   * The visits with work left at the log's end, and what they logged so far: the customers still in the
   * store (every event of their streams after their last exit, inputs and decisions, in log order), and
   * visits already closed that hold a focus never decided (a crash between the focus and its decision:
   * from the exit before that focus). A visit is open when
   * the customer entered or focused after their last exit, within `idleTimeoutS` of event time, event
   * time being the latest time two customers have reached (one clock far ahead moves nobody). `ts` is
   * read as numeric, so a value an older version let in never stops a start. Only what was recorded (wall time) within
   * the idle timeout and 10 minutes is read: the cost of a start follows recent traffic, not the length of the log (a
   * visit longer than that window is recovered from the window's start).
   */
  async openVisits(idleTimeoutS: number): Promise<LoggedEvent[]> {
    // one pass over the customers' inputs and decisions: per stream, its latest time, last exit, last entry or
    // focus, last focus and last decision (a focus after the last decision was never decided: a crash came first)
    // only customers with an input recorded within the idle timeout (and a margin) can still be in the store: one pass
    // over that window (the recorded_at index), so a start reads the recent traffic, not the whole log
    const since = Date.now() - (idleTimeoutS + RECOVERY_MARGIN_S) * 1000;
    const streams = await this.db.query(sql`
      SELECT stream_id, max((data->>'ts')::numeric) FILTER (WHERE type IN ('entry', 'focus', 'exit')) AS max_ts,
             coalesce(max(position) FILTER (WHERE type = 'exit'), 0) AS last_exit,
             max(position) FILTER (WHERE type IN ('entry', 'focus')) AS last_in,
             max(position) FILTER (WHERE type = 'focus') AS last_focus,
             coalesce(max(position) FILTER (WHERE type IN ('prediction', 'no_prediction')), 0) AS last_decision,
             min(position) AS first_in_window
      FROM events
      WHERE recorded_at >= to_timestamp(${since / 1000}) AND type IN ('entry', 'focus', 'exit', 'prediction', 'no_prediction') AND stream_id LIKE 'customer-%'
      GROUP BY stream_id`);
    const times = streams
      .map((r) => Number(r.max_ts))
      .filter((t) => Number.isFinite(t))
      .sort((a, b) => b - a);
    if (times.length === 0) return [];
    const eventTime = times[Math.min(1, times.length - 1)];
    const recent = (r: any) => Number(r.max_ts) > eventTime - idleTimeoutS;
    const open = streams.filter((r) => recent(r) && r.last_in !== null && Number(r.last_exit) < Number(r.last_in));
    // a closed visit with a focus never decided: from the exit before that focus
    const undecided = streams.filter(
      (r) => recent(r) && !(Number(r.last_exit) < Number(r.last_in ?? 0)) && r.last_focus !== null && Number(r.last_focus) > Number(r.last_decision),
    );
    // a visit is read from its last exit, or from the window's start (a visit longer than the window keeps its recent part)
    const from = new Map<string, number>(open.map((r) => [r.stream_id as string, Math.max(Number(r.last_exit), Number(r.first_in_window) - 1)]));
    if (undecided.length) {
      const starts = await this.db.query(sql`
        SELECT u.stream_id, coalesce((SELECT max(position) FROM events x WHERE x.stream_id = u.stream_id AND x.type = 'exit' AND x.position < u.last_focus), 0) AS start
        FROM unnest(${undecided.map((r) => r.stream_id as string)}::text[], ${undecided.map((r) => Number(r.last_focus))}::bigint[]) AS u(stream_id, last_focus)`);
      const windowStart = new Map(undecided.map((r) => [r.stream_id as string, Number(r.first_in_window) - 1]));
      for (const r of starts) from.set(r.stream_id, Math.max(Number(r.start), windowStart.get(r.stream_id) ?? 0));
    }
    if (from.size === 0) return [];
    const rows = await this.db.query(sql`
      SELECT e.position, e.stream_id, e.version, e.type, e.data, e.metadata, e.message_id, (extract(epoch FROM e.recorded_at) * 1000)::float8 AS recorded_at
      FROM unnest(${[...from.keys()]}::text[], ${[...from.values()]}::bigint[]) AS v(stream_id, after)
      JOIN events e ON e.stream_id = v.stream_id AND e.position > v.after
      ORDER BY e.position`);
    return rows.map(toLogged);
  }

  pages(o: Omit<ReadOptions, 'limit'> & { pageSize?: number } = {}): AsyncIterable<LoggedEvent[]> {
    return readPages(this, o);
  }

  async streamPage(position: number, o: { fromTime?: number; type?: string; limit: number }): Promise<StreamPageRow[]> {
    const rows = await this.db.query(sql`
      SELECT position, type, stream_id, version, message_id, data::text AS data, metadata::text AS metadata,
             metadata->>'routing_key' AS routing_key,
             CASE WHEN stream_id LIKE 'customer-%' THEN substr(stream_id, 10) ELSE data->>'customer_id' END AS customer,
             floor(extract(epoch FROM recorded_at) * 1000)::float8 AS ts
      FROM events
      WHERE position >= ${position}
        ${o.fromTime === undefined ? sql`` : sql`AND recorded_at >= to_timestamp(${o.fromTime / 1000})`}
        ${o.type === undefined ? sql`` : sql`AND type = ${o.type}`}
      ORDER BY position LIMIT ${o.limit}`);
    return rows.map((r) => ({
      position: Number(r.position),
      type: r.type,
      streamId: r.stream_id,
      version: r.version,
      messageId: r.message_id,
      dataJson: r.data,
      metadataJson: r.metadata,
      routingKey: r.routing_key,
      customer: r.customer,
      recordedAt: r.ts,
    }));
  }

  async countSince(type: string, ms: number, upTo: number): Promise<number> {
    const [r] = await this.db.query(
      sql`SELECT count(*)::int AS n FROM events WHERE type = ${type} AND recorded_at >= to_timestamp(${ms / 1000}) AND position <= ${upTo}`,
    );
    return r.n;
  }

  async last(streamId: string, type: string): Promise<LoggedEvent | undefined> {
    const [r] = await this.db.query(sql`
      SELECT position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at
      FROM events WHERE stream_id = ${streamId} AND type = ${type} ORDER BY position DESC LIMIT 1`);
    return r ? toLogged(r) : undefined;
  }

  async latestOf(type: string, windowMs: number): Promise<LoggedEvent[]> {
    const rows = await this.db.query(sql`
      WITH latest AS (SELECT recorded_at FROM events WHERE type = ${type} ORDER BY position DESC LIMIT 1)
      SELECT position, stream_id, version, type, data, metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at
      FROM events WHERE type = ${type} AND recorded_at >= (SELECT recorded_at FROM latest) - make_interval(secs => ${windowMs / 1000})
      ORDER BY position`);
    return rows.map(toLogged);
  }

  /**
   * Resolves once no other session is in the middle of writing to this log (an INSERT still running, e.g. the
   * last group commit of a process that was just killed), or after `timeoutMs`.
   */
  async quiet(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const [r] = await this.db.query(sql`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%' || 'insert into' || ' events%'`);
      if (r.n === 0 || Date.now() >= until) return;
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }

  async firstPositionSince(ms: number): Promise<number> {
    const [r] = await this.db.query(sql`SELECT min(position)::bigint AS p FROM events WHERE recorded_at >= to_timestamp(${ms / 1000})`);
    return r?.p == null ? (await this.head()) + 1 : Number(r.p);
  }

  async head(): Promise<number> {
    const [r] = await this.db.query(sql`SELECT coalesce(max(position), 0)::bigint AS head FROM events`);
    return Number(r.head);
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits for queued appends, then refuses new ones. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.writing) await this.writing;
    this.closed = true;
  }
}

/**
 * An error about the rows themselves (SQLSTATE class 22 data exception, 23 integrity violation, 54
 * program limit such as nesting depth): the same rows would fail again. A clash on (stream_id, version)
 * with another writer is not one: the versions are computed again on the next try.
 */
export function isAboutTheRows(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  if (typeof e?.code !== 'string' || !/^(22|23|54)/.test(e.code)) return false;
  // a clash with another writer on a version or an id: tried again, the versions computed and the ids looked up anew
  return !(e.code === '23505' && (e.constraint === 'events_stream_version' || e.constraint === 'events_message_id'));
}

const nextTurn = () => new Promise<void>((ok) => setImmediate(ok));

/** The wait before try `attempt` + 1 while the database is away: 50 ms doubling to 2 s. */
const backoff = (attempt: number) => new Promise((ok) => setTimeout(ok, Math.min(50 * 2 ** attempt, 2000)));

/** Recovery looks this much further back than the idle timeout for customers still in the store (clock skew, a slow start). */
const RECOVERY_MARGIN_S = 600;

export function toLogged(r: any): LoggedEvent {
  return {
    position: Number(r.position),
    streamId: r.stream_id,
    version: r.version,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    messageId: r.message_id ?? undefined,
    recordedAt: Math.floor(r.recorded_at),
  };
}
