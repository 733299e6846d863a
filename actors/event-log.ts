/**
 * The event log port: what the actors need from the log ("append events", "read them back",
 * "tell me about new ones"), and an in-memory implementation for replay and pure tests.
 * adapters/postgres-event-log.ts implements the same contract on PostgreSQL.
 */

export interface NewEvent {
  streamId: string;
  type: string;
  data: unknown;
  metadata?: Record<string, unknown>;
  /** Stable id: an input's dedup key, or an output's id derived from its input. */
  messageId?: string;
}

export interface LoggedEvent extends Required<Omit<NewEvent, 'messageId'>> {
  position: number;
  version: number;
  messageId?: string;
  /** Milliseconds since the epoch. */
  recordedAt: number;
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

export interface EventLog {
  /** Appends in order, atomically; resolves with the logged events (positions, versions). */
  append(events: NewEvent[]): Promise<LoggedEvent[]>;
  read(opts?: ReadOptions): Promise<LoggedEvent[]>;
  /** Highest position written so far (0 when empty). */
  head(): Promise<number>;
  /** Called with every batch appended through this instance, after it is durable. */
  subscribe(listener: LogListener): () => void;
  close(): Promise<void>;
}

export class InMemoryEventLog implements EventLog {
  private events: LoggedEvent[] = [];
  private versions = new Map<string, number>();
  private listeners = new Set<LogListener>();
  constructor(private clock: () => number = () => 0) {}

  async append(batch: NewEvent[]): Promise<LoggedEvent[]> {
    return this.appendSync(batch);
  }

  appendSync(batch: NewEvent[]): LoggedEvent[] {
    const out = batch.map((e) => {
      const version = (this.versions.get(e.streamId) ?? 0) + 1;
      this.versions.set(e.streamId, version);
      const logged: LoggedEvent = {
        position: this.events.length + 1, streamId: e.streamId, version, type: e.type, data: e.data,
        metadata: e.metadata ?? {}, messageId: e.messageId, recordedAt: this.clock(),
      };
      this.events.push(logged);
      return logged;
    });
    for (const l of this.listeners) l(out);
    return out;
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

  async head(): Promise<number> {
    return this.events.length;
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {}
}
