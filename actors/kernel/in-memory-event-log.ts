/**
 * The event log in memory: the port's contract (actors/kernel/event-log.ts) without a database, for tests and for
 * what runs without one; it answers as PostgreSQL does (test/event-log-contract.ts). Several writers share one log
 * through anotherWriter(), as replicas share PostgreSQL; each hears only its own appends, as each PostgresEventLog does.
 * It offers no faster queries: each role's query reads it through the port.
 */
import { must } from './must.ts';
import { InMemorySnapshots } from './in-memory-snapshots.ts';
import { readPages, refused, type AppendOptions, type EventLog, type LoggedEvent, type LogListener, type NewEvent, type ReadOptions } from './event-log.ts';
import { currentVersion, upcast } from './upcasters.ts';

/** An event as the log keeps it: its data in the schema version it was written in. */
type Stored = LoggedEvent & { schemaVersion: number };

export class InMemoryEventLog implements EventLog {
  private events: Stored[] = [];
  private versions = new Map<string, number>();
  private byId = new Map<string, Stored>();
  /** Per stream, which writer appended each version (index = version - 1): an expected version is checked from here. */
  private streamWriters = new Map<string, number[]>();
  private listeners = new Set<LogListener>();
  private writerCount = { n: 0 };
  /** Snapshots beside the log, shared by its writers as one database's table is. */
  readonly snapshots: InMemorySnapshots;
  constructor(
    private clock: () => number = () => 0,
    private writer = 0,
    shared?: InMemoryEventLog,
  ) {
    this.snapshots = shared?.snapshots ?? new InMemorySnapshots();
    if (shared) {
      this.writerCount = shared.writerCount;
      this.events = shared.events;
      this.versions = shared.versions;
      this.byId = shared.byId;
      this.streamWriters = shared.streamWriters;
    }
  }

  /** Another writer on the same log (as a second process on the same database): for expected-version tests. */
  anotherWriter(): InMemoryEventLog {
    return new InMemoryEventLog(this.clock, ++this.writerCount.n, this);
  }

  async append(batch: NewEvent[], o: AppendOptions = {}): Promise<LoggedEvent[]> {
    return this.appendSync(batch, o);
  }

  appendSync(batch: NewEvent[], o: AppendOptions = {}): LoggedEvent[] {
    if (o.unit && !this.whole(batch)) return batch.map((e) => this.skipped(e));
    const written: LoggedEvent[] = [];
    const out = batch.map((e): LoggedEvent => {
      // a unit found whole is written without checking each event again
      const existing = o.unit || e.messageId === undefined ? undefined : this.byId.get(e.messageId);
      if (existing) return { ...copy(existing), skipped: 'duplicate' };
      if (!o.unit && e.expectedVersion !== undefined && !this.currentFor(e.streamId, e.expectedVersion)) return refused(e);
      const version = (this.versions.get(e.streamId) ?? 0) + 1;
      this.versions.set(e.streamId, version);
      const schemaVersion = e.schemaVersion ?? currentVersion(e.type, e.streamId);
      const logged: LoggedEvent = {
        position: this.events.length + 1,
        streamId: e.streamId,
        version,
        type: e.type,
        data: upcast(e.type, e.streamId, schemaVersion, e.data),
        metadata: e.metadata ?? {},
        messageId: e.messageId,
        recordedAt: Math.floor(this.clock()),
      };
      // kept as the JSON a database holds: a reader gets its own copy, without what JSON drops (undefined fields)
      this.events.push({ ...logged, data: asJson(e.data), metadata: asJson(e.metadata ?? {}), schemaVersion });
      const ws = this.streamWriters.get(e.streamId);
      if (ws) ws.push(this.writer);
      else this.streamWriters.set(e.streamId, [this.writer]);
      if (e.messageId !== undefined) this.byId.set(e.messageId, must(this.events.at(-1), 'the event just logged'));
      written.push(logged);
      return logged;
    });
    if (written.length) for (const l of this.listeners) l(written);
    return out;
  }

  /** Whether a unit would be written whole: no id logged already or twice in it, no expected version behind. */
  private whole(batch: NewEvent[]): boolean {
    const ids = new Set<string>();
    for (const e of batch) {
      if (e.messageId !== undefined && (this.byId.has(e.messageId) || ids.has(e.messageId))) return false;
      if (e.messageId !== undefined) ids.add(e.messageId);
      if (e.expectedVersion !== undefined && !this.currentFor(e.streamId, e.expectedVersion)) return false;
    }
    return true;
  }

  /** An event of a refused unit: its logged copy when its id is logged, else refused. */
  private skipped(e: NewEvent): LoggedEvent {
    const existing = e.messageId === undefined ? undefined : this.byId.get(e.messageId);
    return existing ? { ...copy(existing), skipped: 'duplicate' } : refused(e);
  }

  /** Whether every event of the stream after `version` was appended by this writer. */
  private currentFor(streamId: string, version: number): boolean {
    const ws = this.streamWriters.get(streamId) ?? [];
    for (let v = Math.max(0, version); v < ws.length; v++) if (ws[v] !== this.writer) return false;
    return true;
  }

  async readStream(streamId: string, afterVersion = 0): Promise<LoggedEvent[]> {
    return this.events.filter((e) => e.streamId === streamId && e.version > afterVersion).map(copy);
  }

  async read(o: ReadOptions = {}): Promise<LoggedEvent[]> {
    const out: LoggedEvent[] = [];
    for (let i = Math.max(0, (o.fromPosition ?? 1) - 1); i < this.events.length; i++) {
      const e = this.events[i];
      if (o.toPosition !== undefined && e.position > o.toPosition) break;
      if (o.fromTime !== undefined && e.recordedAt < o.fromTime) continue;
      if (o.streamId !== undefined && e.streamId !== o.streamId) continue;
      if (o.types && !o.types.includes(e.type)) continue;
      if (o.source !== undefined && e.metadata.source !== o.source) continue;
      out.push(copy(e));
      if (o.limit !== undefined && out.length >= o.limit) break;
    }
    return out;
  }

  pages(o: Omit<ReadOptions, 'limit'> & { pageSize?: number } = {}): AsyncIterable<LoggedEvent[]> {
    return readPages(this, o);
  }

  async head(): Promise<number> {
    return this.events.length;
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {}
}

/** A value as JSON gives it back (PostgreSQL's jsonb too): a fresh copy, undefined fields gone. */
function asJson<T>(v: T): T {
  return v === undefined ? (null as T) : JSON.parse(JSON.stringify(v));
}

/** A logged event as a reader gets it: its own copy of data (upcast to the current shape) and metadata (a reader may not change the log). */
function copy(e: Stored): LoggedEvent {
  const { schemaVersion, ...logged } = e;
  return { ...logged, data: upcast(e.type, e.streamId, schemaVersion, asJson(e.data)), metadata: asJson(e.metadata) };
}
