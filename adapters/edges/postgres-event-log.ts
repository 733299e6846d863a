/**
 * The event log on PostgreSQL. Appends are group-committed: every append() made while a write is in flight joins the
 * next single INSERT … SELECT FROM json_to_recordset(…). A database outage makes appends wait and retry, in order; a
 * row the database refuses fails its own append only. Per-stream versions are computed by the database from the
 * stream's head, and the (stream_id, version) constraint rejects a concurrent writer's clash.
 */
import type { ConnectionPool } from '@databases/pg';
import {
  readPages,
  refused,
  type AppendOptions,
  type EventLog,
  type LoggedEvent,
  type LogListener,
  type NewEvent,
  type ReadOptions,
  type LogQueries,
  type TraceLink,
} from '../../actors/kernel/event-log.ts';
import * as reads from './postgres-log-reads.ts';
import { PostgresSnapshots } from './postgres-snapshots.ts';
import { insertRows, isAboutTheRows } from './postgres-log-insert.ts';
import type { Logger } from '../process/logger.ts';
import { must } from '../../actors/kernel/must.ts';
import { upcast } from '../../actors/kernel/upcasters.ts';
import { archivedStreamNotice, type ArchivedMark } from '../../actors/kernel/archived.ts';
import { archivedMark, archivedStream } from './postgres-log-archived.ts';
import { OwnVersions } from './own-versions.ts';

/** An append waiting for its group commit (`unit`: its events written whole or not at all; its place in the batch names it). */
type Pending = { events: NewEvent[]; unit?: boolean; ok: (e: LoggedEvent[]) => void; fail: (err: unknown) => void; done?: Promise<unknown> };

export interface PgEventLogOptions {
  maxBatch?: number;
  log: Logger;
  /** Heard after each group commit: when it ran (epoch ms), how many events it wrote, the traces they carry. */
  onCommit?: (c: { startMs: number; endMs: number; events: number; traces: TraceLink[] }) => void;
}

export class PostgresEventLog implements EventLog {
  private queue: Pending[] = [];
  /** The batch being committed now. */
  private committing: Pending[] = [];
  private writing: Promise<void> | undefined;
  private listeners = new Set<LogListener>();
  private closed = false;
  private closing = false;
  private failingSince: number | undefined;
  /** The highest position this writer has seen committed (its batches follow it). */
  private tail: number | undefined;
  private lastWarned = 0;
  /** Recent versions this writer appended, per stream: an expected version moves past them. */
  private own = new OwnVersions();
  /** Appends, group commits and events written, and the time spent in those commits (ms). */
  readonly stats = { appends: 0, batches: 0, events: 0, writeMs: 0 };
  /** Snapshots in the log's database (sql/007_snapshots.sql). */
  readonly snapshots: PostgresSnapshots;
  constructor(
    private db: ConnectionPool,
    private opts: PgEventLogOptions,
  ) {
    this.snapshots = new PostgresSnapshots(db);
  }

  append(events: NewEvent[], o: AppendOptions = {}): Promise<LoggedEvent[]> {
    if (this.closed) return Promise.reject(new Error('event log is closed'));
    if (events.length === 0) return Promise.resolve([]);
    let pending!: Pending;
    const done = new Promise<LoggedEvent[]>((ok, fail) => {
      pending = { events, unit: o.unit, ok, fail };
      this.queue.push(pending);
      this.stats.appends++;
      this.writing ??= this.drain();
    });
    pending.done = done;
    return done;
  }

  /**
   * Read your own writes: once every append of `streamId` asked for before now is committed (or failed). A rebuild right
   * after this process appended a decision then counts it: an expected version moves past the writer's own events.
   */
  private ownWrites(streamId: string): Promise<unknown> | undefined {
    const mine = [...this.committing, ...this.queue].filter((p) => p.events.some((e) => e.streamId === streamId));
    return mine.length ? Promise.all(mine.map((p) => p.done?.catch(() => {}))) : undefined;
  }

  private async drain(): Promise<void> {
    const max = this.opts.maxBatch ?? 2000;
    try {
      while (this.queue.length) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length && (n === 0 || n + this.queue[0].events.length <= max)) {
          const p = must(this.queue.shift(), 'a queued append');
          batch.push(p);
          n += p.events.length;
        }
        this.committing = batch;
        await this.commit(batch);
        this.committing = [];
        // Before the next commit, let the appenders act on this one (their continuations run as
        // microtasks): the outputs they append at once — a focus's prediction, decided as soon as the
        // focus is logged — then ride in the next commit instead of waiting for it to finish.
        await nextTurn();
      }
    } finally {
      this.writing = undefined;
      this.committing = [];
    }
  }

  /**
   * One group commit. The database down (or any error not about the rows themselves): the same batch again after a
   * backoff, for as long as it takes, so appenders wait and order holds. Rows the database refuses: each append of
   * the batch on its own, so only the culprit fails.
   */
  private async commit(batch: Pending[]): Promise<void> {
    const events = batch.length === 1 ? batch[0].events : batch.flatMap((p) => p.events);
    const units = batch.some((p) => p.unit) ? batch.flatMap((p, i) => p.events.map(() => (p.unit ? i : null))) : undefined;
    this.tail ??= await this.head().catch(() => undefined);
    for (let attempt = 0; ; attempt++) {
      try {
        const t0 = performance.now();
        const startMs = this.opts.onCommit ? Date.now() : 0;
        // a connection lost during COMMIT leaves it unknown whether the rows went in: look before writing them again
        const logged = (attempt > 0 ? await this.committedAlready(events) : undefined) ?? (await this.insert(events, units));
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
        const onCommit = this.opts.onCommit;
        if (onCommit) this.tell(() => onCommit({ startMs, endMs: Date.now(), events: written.length, traces: events.flatMap((e) => e.trace ?? []) }));
        if (written.length) for (const l of this.listeners) this.tell(() => l(written));
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

  /** Told after the appenders heard: a listener's failure is logged, and the commit stays done (never retried). */
  private tell(listener: () => void) {
    try {
      listener();
    } catch (err) {
      this.opts.log.error({ err }, 'event log listener failed');
    }
  }

  /**
   * The batch as the log holds it, when an attempt that seemed to fail had committed: the rows right after the last
   * position this writer saw are these events, in order (same stream, type and id). Undefined when they are not
   * there (nothing was written), or when this writer's tail is unknown.
   */
  private async committedAlready(events: NewEvent[]): Promise<LoggedEvent[] | undefined> {
    const tail = this.tail;
    if (tail === undefined) return undefined;
    const rows = (await this.read({ fromPosition: tail + 1, limit: events.length })).filter((r) => r.position > tail);
    if (rows.length !== events.length) return undefined;
    const same = rows.every(
      (r, i) => r.streamId === events[i].streamId && r.type === events[i].type && (r.messageId ?? null) === (events[i].messageId ?? null),
    );
    if (!same) return undefined;
    this.opts.log.warn({ events: events.length, from: rows[0].position }, 'event log: an append that seemed to fail had been committed; not written again');
    return rows.map((r, i) => {
      this.own.wrote(r.streamId, r.version);
      return { ...r, data: currentData(events[i]), metadata: events[i].metadata ?? {} };
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
  protected async insert(events: NewEvent[], units?: (number | null)[]): Promise<LoggedEvent[]> {
    const rows = await insertRows(this.db, events, (e) => this.own.expected(e), units);
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
        this.own.wrote(e.streamId, row.version);
        out.push({
          position: row.position,
          streamId: row.stream_id,
          version: row.version,
          type: e.type,
          data: currentData(e),
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

  private byIds(ids: string[]): Promise<LoggedEvent[]> {
    return this.retrying(() => reads.byIds(this.db, ids));
  }

  /** A stream read on the hot path (a session rebuilt from the log): waits out a database outage as appends do. */
  async readStream(streamId: string, afterVersion = 0): Promise<LoggedEvent[]> {
    const own = this.ownWrites(streamId);
    if (own) await own;
    const events = await this.retrying(() => reads.readStream(this.db, streamId, afterVersion));
    // versions missing at the start: archived (npm run archive), said once per stream, never handed over silently
    if ((events[0]?.version ?? 0) !== afterVersion + 1 && !this.told.has(streamId)) {
      const notice = archivedStreamNotice(streamId, afterVersion, await this.retrying(() => archivedStream(this.db, streamId)));
      if (notice) {
        if (this.told.size >= 10_000) this.told.clear();
        this.told.add(streamId);
        this.opts.log.warn(`event log: ${notice}`);
      }
    }
    return events;
  }

  /** The streams whose archived versions a read was told of. */
  private told = new Set<string>();

  archived(): Promise<ArchivedMark | undefined> {
    return archivedMark(this.db);
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

  read(o: ReadOptions = {}): Promise<LoggedEvent[]> {
    return reads.read(this.db, o);
  }

  pages(o: Omit<ReadOptions, 'limit'> & { pageSize?: number } = {}): AsyncIterable<LoggedEvent[]> {
    return readPages(this, o);
  }

  /** The roles' queries in SQL (adapters/edges/postgres-log-reads.ts), each faster than its reading of the port. */
  readonly queries: LogQueries = {
    openVisitStarts: (idleTimeoutS, o) => reads.openVisitStarts(this.db, idleTimeoutS, o),
    visitsFrom: (starts, machine) => reads.visitsFrom(this.db, starts, machine),
    latestOf: (type, windowMs) => reads.latestOf(this.db, type, windowMs),
    inputIdsSince: (sinceMs) => reads.inputIdsSince(this.db, sinceMs),
    quiet: (timeoutMs) => reads.quiet(this.db, timeoutMs),
    // on the hot path (an orphaned input): waits out a database outage as appends do
    anyOf: (ids) => this.retrying(() => reads.anyOf(this.db, ids)),
    firstPositionSince: (ms) => reads.firstPositionSince(this.db, ms),
    streamPage: (position, o) => reads.streamPage(this.db, position, o),
    countSince: (type, ms, upTo) => reads.countSince(this.db, type, ms, upTo),
    last: (streamId, type) => reads.last(this.db, streamId, type),
    tally: (afterPosition) => reads.tally(this.db, afterPosition),
    spentPerDay: () => reads.spentPerDay(this.db),
  };

  head(): Promise<number> {
    return reads.head(this.db);
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

/** An appended event's data as every read gives it: upcast when it was appended in an older version (a copy of older records). */
const currentData = (e: NewEvent) => (e.schemaVersion === undefined ? e.data : upcast(e.type, e.streamId, e.schemaVersion, e.data));

const nextTurn = () => new Promise<void>((ok) => setImmediate(ok));

/** The wait before try `attempt` + 1 while the database is away: 50 ms doubling to 2 s. */
const backoff = (attempt: number) => new Promise((ok) => setTimeout(ok, Math.min(50 * 2 ** attempt, 2000)));
