/**
 * The event log in memory: the port's contract (actors/kernel/event-log.ts) without a database, for tests and for
 * what runs without one. Several writers share one log through anotherWriter(), as replicas share PostgreSQL.
 */
import {
  readPages,
  refused,
  type EventLog,
  type LoggedEvent,
  type LogListener,
  type LogTally,
  type NewEvent,
  type OpenVisitsOptions,
  type ReadOptions,
  type StreamPageRow,
} from './event-log.ts';

export class InMemoryEventLog implements EventLog {
  private events: LoggedEvent[] = [];
  private versions = new Map<string, number>();
  private byId = new Map<string, LoggedEvent>();
  /** Which writer appended each position (index = position - 1). */
  private writers: number[] = [];
  private listeners = new Set<LogListener>();
  private writerCount = { n: 0 };
  constructor(
    private clock: () => number = () => 0,
    private writer = 0,
    shared?: InMemoryEventLog,
  ) {
    if (shared) {
      this.writerCount = shared.writerCount;
      this.events = shared.events;
      this.versions = shared.versions;
      this.byId = shared.byId;
      this.writers = shared.writers;
      this.listeners = shared.listeners;
    }
  }

  /** Another writer on the same log (as a second process on the same database): for expected-version tests. */
  anotherWriter(): InMemoryEventLog {
    return new InMemoryEventLog(this.clock, ++this.writerCount.n, this);
  }

  async append(batch: NewEvent[]): Promise<LoggedEvent[]> {
    return this.appendSync(batch);
  }

  appendSync(batch: NewEvent[]): LoggedEvent[] {
    const written: LoggedEvent[] = [];
    const out = batch.map((e): LoggedEvent => {
      const existing = e.messageId === undefined ? undefined : this.byId.get(e.messageId);
      if (existing) return { ...existing, skipped: 'duplicate' };
      if (e.expectedVersion !== undefined && !this.currentFor(e.streamId, e.expectedVersion)) return refused(e);
      const version = (this.versions.get(e.streamId) ?? 0) + 1;
      this.versions.set(e.streamId, version);
      const logged: LoggedEvent = {
        position: this.events.length + 1,
        streamId: e.streamId,
        version,
        type: e.type,
        data: e.data,
        metadata: e.metadata ?? {},
        messageId: e.messageId,
        recordedAt: this.clock(),
      };
      this.events.push(logged);
      this.writers.push(this.writer);
      if (e.messageId !== undefined) this.byId.set(e.messageId, logged);
      written.push(logged);
      return logged;
    });
    if (written.length) for (const l of this.listeners) l(written);
    return out;
  }

  /** Whether every event of the stream after `version` was appended by this writer. */
  private currentFor(streamId: string, version: number): boolean {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e.streamId !== streamId) continue;
      if (e.version <= version) return true;
      if (this.writers[i] !== this.writer) return false;
    }
    return true;
  }

  async readStream(streamId: string, afterVersion = 0): Promise<LoggedEvent[]> {
    return this.events.filter((e) => e.streamId === streamId && e.version > afterVersion);
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
      out.push(e);
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

  async firstPositionSince(ms: number): Promise<number> {
    return this.events.find((e) => e.recordedAt >= ms)?.position ?? this.events.length + 1;
  }

  async countSince(type: string, ms: number, upTo: number): Promise<number> {
    return this.events.filter((e) => e.type === type && e.recordedAt >= ms && e.position <= upTo).length;
  }

  async tally(afterPosition = 0): Promise<LogTally> {
    const t: LogTally = { head: 0, types: {}, sources: {} };
    for (const e of this.events.slice(afterPosition)) {
      t.types[e.type] = (t.types[e.type] ?? 0) + 1;
      const source = e.metadata.source;
      if (typeof source === 'string') t.sources[source] = (t.sources[source] ?? 0) + 1;
      t.head = e.position;
    }
    return t;
  }

  async last(streamId: string, type: string): Promise<LoggedEvent | undefined> {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i].streamId === streamId && this.events[i].type === type) return this.events[i];
    return undefined;
  }

  async latestOf(type: string, windowMs: number): Promise<LoggedEvent[]> {
    const all = this.events.filter((e) => e.type === type);
    const until = all.at(-1)?.recordedAt;
    return until === undefined ? [] : all.filter((e) => e.recordedAt >= until - windowMs);
  }

  async inputIdsSince(sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]> {
    return this.events.flatMap((e) =>
      e.recordedAt >= sinceMs && e.messageId !== undefined && e.metadata.source !== 'output' ? [{ messageId: e.messageId, recordedAt: e.recordedAt }] : [],
    );
  }

  async streamPage(position: number, o: { fromTime?: number; type?: string; limit: number; toPosition?: number }): Promise<StreamPageRow[]> {
    const rows = await this.read({
      fromPosition: Math.max(1, position),
      toPosition: o.toPosition,
      fromTime: o.fromTime,
      types: o.type === undefined ? undefined : [o.type],
      limit: o.limit,
    });
    return rows.map((e) => ({
      position: e.position,
      type: e.type,
      streamId: e.streamId,
      version: e.version,
      messageId: e.messageId ?? null,
      dataJson: JSON.stringify(e.data) ?? 'null',
      metadataJson: JSON.stringify(e.metadata ?? {}),
      routingKey: typeof e.metadata.routing_key === 'string' ? e.metadata.routing_key : null,
      customer: e.streamId.startsWith('customer-')
        ? e.streamId.slice(9)
        : ((e.data as { customer_id?: unknown } | null)?.customer_id ?? null) === null
          ? null
          : String((e.data as { customer_id: unknown }).customer_id),
      recordedAt: e.recordedAt,
    }));
  }

  async openVisits(idleTimeoutS: number, o: OpenVisitsOptions = {}): Promise<LoggedEvent[]> {
    const staying = new Set(o.moves ? ['entry', 'focus', 'move'] : ['entry', 'focus']);
    interface Stream {
      events: LoggedEvent[];
      maxTs: number;
      lastExit: number;
      lastIn: number;
      lastFocus: number;
      lastDecision: number;
    }
    const streams = new Map<string, Stream>();
    for (const e of this.events) {
      if (!e.streamId.startsWith('customer-')) continue;
      const s = streams.get(e.streamId) ?? { events: [], maxTs: -Infinity, lastExit: 0, lastIn: 0, lastFocus: 0, lastDecision: 0 };
      streams.set(e.streamId, s);
      s.events.push(e);
      if (staying.has(e.type) || e.type === 'exit') s.maxTs = Math.max(s.maxTs, Number((e.data as { ts?: number }).ts));
      if (e.type === 'exit') s.lastExit = e.position;
      if (staying.has(e.type)) s.lastIn = e.position;
      if (e.type === 'focus') s.lastFocus = e.position;
      if (e.type === 'prediction' || e.type === 'no_prediction') s.lastDecision = e.position;
    }
    // event time: the latest time two customers have reached
    const times = [...streams.values()]
      .map((v) => v.maxTs)
      .filter(Number.isFinite)
      .sort((a, b) => b - a);
    const eventTime = times[Math.min(1, times.length - 1)] ?? 0;
    const out: LoggedEvent[] = [];
    for (const v of streams.values()) {
      if (!(v.maxTs > eventTime - idleTimeoutS)) continue;
      const open = v.lastIn > v.lastExit;
      const undecided = !open && v.lastFocus > v.lastDecision;
      if (!open && !undecided) continue;
      const after = open ? v.lastExit : Math.max(0, ...v.events.filter((e) => e.type === 'exit' && e.position < v.lastFocus).map((e) => e.position));
      out.push(...v.events.filter((e) => e.position > after));
    }
    return out.sort((a, b) => a.position - b.position);
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {}
}
