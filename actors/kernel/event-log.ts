/**
 * The event-log port, `EventLog`: what an event store is and no more — append with expected versions, read a stream,
 * read the log from a position (in pages), subscribe to what is appended. The engine and the roles speak only to it.
 * actors/kernel/in-memory-event-log.ts and adapters/edges/postgres-event-log.ts implement it; test/event-log-contract.ts
 * holds both to the same contract. A role's or reader's own queries (open visits, a stream page, …) are functions over
 * this port in the role's folder; a log may offer a faster version of each in `queries` (PostgreSQL: its SQL).
 */
import { currentVersion, upcast } from './upcasters.ts';
import type { SnapshotStore, StateSnapshot } from './snapshot-store.ts';
import type { ArchivedMark } from './archived.ts';

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
  /** The trace the event was appended in (not stored): the group commit that carries it links to it. */
  trace?: TraceLink;
  /**
   * The schema version `data` is in (actors/kernel/upcasters.ts); default the type's current one. Only what copies
   * older records in (an archive brought back, a test of mixed versions) says an older one; readers get them upcast.
   */
  schemaVersion?: number;
}

/** A span's identity, as a group commit links to the traces of the events it carries (W3C trace context). */
export interface TraceLink {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** A logged event as every read gives it: `data` in its type's current shape (upcast on read: docs/event-versions.md). */
export interface LoggedEvent extends Required<Omit<NewEvent, 'messageId' | 'expectedVersion' | 'trace' | 'schemaVersion'>> {
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
  /** `metadata.source`: where an input came from (`mqtt`, `kafka`, …) or `output`. */
  source?: string;
  limit?: number;
}

/** Events counted by type and by `metadata.source`, and the last position among them (0: none). */
export interface LogTally {
  head: number;
  types: Record<string, number>;
  sources: Record<string, number>;
}

/** `moves`: a move keeps a visit open too, as it keeps a shopper followed by the detector (the recommender sees no moves). */
export interface OpenVisitsOptions {
  moves?: boolean;
}

/** Where a visit open at the log's end begins: the stream's version it follows (its last exit, or 0). */
export interface VisitStart {
  streamId: string;
  after: number;
  /** The latest event time of the stream's inputs (the visit's last activity), where the log keeps it. */
  ts?: number;
}

/** A machine's version as its snapshots name it (adapters/engine/machine-version.ts). */
export interface SnapshotMachine {
  machine: string;
  version: string;
}

/**
 * A visit as a restart reads it: the snapshot its actor starts from (the newest of the machine version in force taken
 * within the visit: adapters/engine/restore.ts), if any, and its stream's events after that.
 */
export interface VisitRead {
  streamId: string;
  snapshot?: StateSnapshot;
  /** The newest snapshot within the visit was of another machine version: passed over, the visit is read from its start. */
  ignored?: { machineVersion: string; version: number };
  events: LoggedEvent[];
  /** The visit's last activity (VisitStart.ts). */
  ts?: number;
}

export type LogListener = (events: LoggedEvent[]) => void;

/** One log record as `npm run export` writes it and `npm run replay` reads it (one JSON object per NDJSON line). */
export interface ExportedEvent {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  /** The schema version of `data` (actors/kernel/upcasters.ts); absent in a file exported before versions: 1. */
  schema_version?: number;
  // biome-ignore lint/suspicious/noExplicitAny: any of the log's event types; replay reads it by `type`, a cast at each of those reads would add nothing
  data: any;
  metadata: Record<string, unknown>;
  message_id: string | null;
  recorded_at: string;
  /** In a partial export: a record before the selection that its replay needs (a visit open at its start), replayed and not compared. */
  context?: boolean;
}

/** A logged event (current shape) as an export line, with its version. */
export function toExported(e: LoggedEvent): ExportedEvent {
  return {
    position: e.position,
    stream_id: e.streamId,
    version: e.version,
    type: e.type,
    schema_version: currentVersion(e.type, e.streamId),
    data: e.data,
    metadata: e.metadata,
    message_id: e.messageId ?? null,
    recorded_at: new Date(e.recordedAt).toISOString(),
  };
}

/** An export line as a logged event, its data upcast to the current shape. */
export function fromExported(e: ExportedEvent): LoggedEvent {
  return {
    position: e.position,
    streamId: e.stream_id,
    version: e.version,
    type: e.type,
    data: upcast(e.type, e.stream_id, e.schema_version ?? 1, e.data),
    metadata: e.metadata ?? {},
    messageId: e.message_id ?? undefined,
    recordedAt: Date.parse(e.recorded_at) || 0,
  };
}

/**
 * An export line (a file being replayed, an archive) in the current shape: the same line when it is current already,
 * else a copy with its data upcast and its version raised.
 */
export function currentRecord(e: ExportedEvent): ExportedEvent {
  const version = e.schema_version ?? 1;
  const current = currentVersion(e.type, e.stream_id);
  if (version >= current) return e;
  return { ...e, schema_version: current, data: upcast(e.type, e.stream_id, version, e.data) };
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

/** How an append is written. */
export interface AppendOptions {
  /**
   * The events are one unit (an input and every output it caused): written whole, or not at all when any of them is
   * skipped (a duplicate, an expected version behind); then each comes back skipped, those written by no one as
   * `conflict`. Units of many appenders share a group commit; one refused leaves the others written.
   */
  unit?: boolean;
}

export interface EventLog {
  /**
   * Appends in order; resolves with one entry per event: the logged event (position, version), or the reason it was
   * skipped (its id already logged; its expected version stale). Skipped events take no version.
   */
  append(events: NewEvent[], o?: AppendOptions): Promise<LoggedEvent[]>;
  /**
   * The events of one stream after `afterVersion` (default: all), in order — including every append of it this writer
   * was asked for before the read, once committed (read your own writes).
   */
  readStream(streamId: string, afterVersion?: number): Promise<LoggedEvent[]>;
  /** The events that pass every filter, in position order (up to `limit`). */
  read(opts?: ReadOptions): Promise<LoggedEvent[]>;
  /** The log (or a range, or one stream) page by page, in position order. */
  pages(opts?: Omit<ReadOptions, 'limit'> & { pageSize?: number }): AsyncIterable<LoggedEvent[]>;
  /** Highest position written so far (0 when empty). */
  head(): Promise<number>;
  /** Called with every batch appended through this instance, after it is durable. */
  subscribe(listener: LogListener): () => void;
  close(): Promise<void>;
  /** Faster versions of the queries over this port, where the log has them; each query falls back to reading the port. */
  readonly queries?: Partial<LogQueries>;
  /** Snapshots of the customers' actors, kept beside the log (docs/snapshots.md); none: every restart reads events only. */
  readonly snapshots?: SnapshotStore;
  /** What was archived out of this log (undefined: nothing, or a log that never archives): actors/kernel/archived.ts. */
  archived?(): Promise<ArchivedMark | undefined>;
}

/**
 * The roles' and readers' queries a log may answer faster than by reading the port (one SQL statement on PostgreSQL).
 * Each is defined, and read through the port when a log lacks it, by the module of the role that asks:
 * adapters/recommender/open-visits.ts, recent-predictions.ts, budget-spent.ts; adapters/process/recent-inputs.ts,
 * logged-ids.ts; adapters/gateway/stream-page.ts, log-position.ts; adapters/dashboard/log-counts.ts; adapters/process/log-tally.ts.
 */
export interface LogQueries {
  /** The visits still open at the log's end (and those closed with a focus never decided), where each begins. */
  openVisitStarts(idleTimeoutS: number, o?: OpenVisitsOptions): Promise<VisitStart[]>;
  /** Each visit's restore point of `machine` (none: no snapshot) and its stream's events after it, in the order of `starts`. */
  visitsFrom(starts: readonly VisitStart[], machine?: SnapshotMachine): Promise<VisitRead[]>;
  /** Events of `type` recorded within `windowMs` before the latest of them. */
  latestOf(type: string, windowMs: number): Promise<LoggedEvent[]>;
  /** Ids of inputs (not outputs) recorded since `sinceMs`, with their recorded time. */
  inputIdsSince(sinceMs: number): Promise<{ messageId: string; recordedAt: number }[]>;
  /** Resolves once no other writer is in the middle of appending to this log, or after `timeoutMs`. */
  quiet(timeoutMs: number): Promise<void>;
  /** Whether any of these message ids is logged. */
  anyOf(ids: string[]): Promise<boolean>;
  /** The first position recorded at or after `ms` (head + 1 when none). */
  firstPositionSince(ms: number): Promise<number>;
  /** Up to `limit` events from `position` on, as a stream replay sends them. */
  streamPage(position: number, o: StreamPageOptions): Promise<StreamPageRow[]>;
  /** How many events of `type` were recorded since `ms`, up to position `upTo`. */
  countSince(type: string, ms: number, upTo: number): Promise<number>;
  /** A stream's latest event of `type`. */
  last(streamId: string, type: string): Promise<LoggedEvent | undefined>;
  /** Events after `afterPosition` counted by type and by source. */
  tally(afterPosition: number): Promise<LogTally>;
  /** The predictions' discounts summed per UTC day of their event time (`ts`). */
  spentPerDay(): Promise<{ day: number; spent: number }[]>;
}

/** A page of a stream replay: from a position, optionally up to one, recorded since a time, of one type. */
export interface StreamPageOptions {
  fromTime?: number;
  type?: string;
  limit: number;
  toPosition?: number;
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
