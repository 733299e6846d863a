/**
 * The event log port: what the actors need from the log ("append events", "read them back",
 * "tell me about new ones"), and an in-memory implementation for replay and pure tests.
 * adapters/edges/postgres-event-log.ts implements the same contract on PostgreSQL.
 */

export interface NewEvent {
  streamId: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
  /** Stable id: an input's dedup key, or an output's id derived from its input. Unique in the log. */
  messageId?: string;
  /**
   * The stream's version as the appender last saw it: the event is appended only if every event of the stream
   * after that version was appended by this same writer (its own inputs in flight do not count as news).
   * Otherwise it is skipped as a `conflict`: another writer (a replica) appended something the appender has not seen.
   */
  expectedVersion?: number;
}

export interface LoggedEvent extends Required<Omit<NewEvent, 'messageId' | 'expectedVersion'>> {
  position: number;
  version: number;
  messageId?: string;
  /** Milliseconds since the epoch. */
  recordedAt: number;
  /**
   * Set when append() wrote nothing for this event: `duplicate` (its id is in the log already: this is the logged
   * copy) or `conflict` (its expectedVersion was behind another writer's events: position and version are 0).
   */
  skipped?: 'duplicate' | 'conflict';
}

export interface ReadOptions {
  /** Inclusive. */
  fromPosition?: number;
  /** Inclusive. */
  toPosition?: number;
  fromTime?: number;
  streamId?: string;
  types?: string[];
  limit?: number;
}

export type LogListener = (events: LoggedEvent[]) => void;

/** One log record as `npm run export` writes it and `npm run replay` reads it (one JSON object per NDJSON line). */
export interface ExportedEvent {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  data: any;
  metadata: Record<string, any>;
  message_id: string | null;
  recorded_at: string;
}

export function toExported(e: LoggedEvent): ExportedEvent {
  return {
    position: e.position,
    stream_id: e.streamId,
    version: e.version,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    message_id: e.messageId ?? null,
    recorded_at: new Date(e.recordedAt).toISOString(),
  };
}

export function fromExported(e: ExportedEvent): LoggedEvent {
  return {
    position: e.position,
    streamId: e.stream_id,
    version: e.version,
    type: e.type,
    data: e.data,
    metadata: e.metadata ?? {},
    messageId: e.message_id ?? undefined,
    recordedAt: Date.parse(e.recorded_at) || 0,
  };
}

/** One event as a stream replay sends it: data and metadata as JSON text, never parsed and written again. */
export interface StreamPageRow {
  position: number;
  type: string;
  streamId: string;
  version: number;
  messageId: string | null;
  dataJson: string;
  metadataJson: string;
  routingKey: string | null;
  customer: string | null;
  recordedAt: number;
}

export interface EventLog {
  /**
   * Appends in order; resolves with one entry per event: the logged event (position, version), or the reason it was
   * skipped (its id already logged; its expected version stale). Skipped events take no version.
   */
  append(events: NewEvent[]): Promise<LoggedEvent[]>;
  /** The events of one stream after `afterVersion` (default: all), in order. */
  readStream(streamId: string, afterVersion?: number): Promise<LoggedEvent[]>;
  read(opts?: ReadOptions): Promise<LoggedEvent[]>;
  /** The log (or a range, or one stream) page by page, in position order. */
  pages(opts?: Omit<ReadOptions, 'limit'> & { pageSize?: number }): AsyncIterable<LoggedEvent[]>;
  /** Highest position written so far (0 when empty). */
  head(): Promise<number>;
  /** The first position recorded at or after `ms` (head + 1 when none). */
  firstPositionSince(ms: number): Promise<number>;
  /** How many events of `type` were recorded since `ms`, up to position `upTo`. */
  countSince(type: string, ms: number, upTo: number): Promise<number>;
  /** A stream's latest event of `type`. */
  last(streamId: string, type: string): Promise<LoggedEvent | undefined>;
  /** Events of `type` recorded within `windowMs` before the latest of them (what a crash may have left unsent). */
  latestOf(type: string, windowMs: number): Promise<LoggedEvent[]>;
  /** Ids of inputs (not outputs) recorded since `sinceMs`, with their recorded time: the de-duplication window. */
  inputIdsSince(sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]>;
  /** Up to `limit` events from `position` on (optionally recorded since `fromTime` ms, of one type), as a stream replay sends them. */
  streamPage(position: number, o: { fromTime?: number; type?: string; limit: number }): Promise<StreamPageRow[]>;
  /** Customers still in the store and what their visits logged so far (see the PostgreSQL implementation). */
  openVisits(idleTimeoutS: number): Promise<LoggedEvent[]>;
  /** Called with every batch appended through this instance, after it is durable. */
  subscribe(listener: LogListener): () => void;
  close(): Promise<void>;
}

/** What append() returns for an event refused for its expected version: nothing written, so no position or version. */
export function refused(e: NewEvent): LoggedEvent {
  return {
    position: 0,
    streamId: e.streamId,
    version: 0,
    type: e.type,
    data: e.data,
    metadata: e.metadata ?? {},
    messageId: e.messageId,
    recordedAt: 0,
    skipped: 'conflict',
  };
}

/** Any log's pages, from its read(): positions ascending, `pageSize` events at a time. */
export async function* readPages(log: Pick<EventLog, 'read'>, o: Omit<ReadOptions, 'limit'> & { pageSize?: number } = {}): AsyncIterable<LoggedEvent[]> {
  const size = o.pageSize ?? 10_000;
  for (let next = o.fromPosition ?? 1; ; ) {
    const page = await log.read({ ...o, fromPosition: next, limit: size });
    if (page.length === 0) return;
    yield page;
    next = page[page.length - 1].position + 1;
  }
}

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
    return this.events
      .filter((e) => e.recordedAt >= sinceMs && e.messageId !== undefined && e.metadata.source !== 'output')
      .map((e) => ({ messageId: e.messageId!, recordedAt: e.recordedAt }));
  }

  async streamPage(position: number, o: { fromTime?: number; type?: string; limit: number }): Promise<StreamPageRow[]> {
    const rows = await this.read({
      fromPosition: Math.max(1, position),
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

  async openVisits(idleTimeoutS: number): Promise<LoggedEvent[]> {
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
      if (e.type === 'entry' || e.type === 'focus' || e.type === 'exit') s.maxTs = Math.max(s.maxTs, Number((e.data as { ts?: number }).ts));
      if (e.type === 'exit') s.lastExit = e.position;
      if (e.type === 'entry' || e.type === 'focus') s.lastIn = e.position;
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
