/**
 * What a processor is to the pipeline: the logged input it is handed, the outputs it returns, how it is registered
 * and recovered, and the stable ids that make an input and its outputs the same wherever and however often they are
 * handled. Live runs, recovery and replay all speak it (adapters/engine/engine.ts drives it).
 */
import { createHash } from 'node:crypto';
import type { EventKind, StoreEvent } from '../../schemas/events.ts';
import type { RejectCode } from '../../schemas/normalise.ts';
import type { LoggedEvent, NewEvent, TraceLink } from '../../actors/kernel/event-log.ts';

export type InputSource = 'mqtt' | 'kafka' | 'http' | 'amqp' | 'replay';

/** Where an input sits in the log: all a processor reads of its log entry (its ids and its stream's version). */
export type LoggedInput = Pick<LoggedEvent, 'position' | 'version' | 'messageId'>;

/** What a processor gets: the durable log entry and the event it carries. */
export interface Input {
  logged: LoggedInput;
  event: StoreEvent;
  /**
   * Not in the log yet: it is committed with every output it causes as one unit (adapters/engine/engine.ts `unit`);
   * until then `logged` holds its id only (position and version 0).
   */
  uncommitted?: true;
}

export interface Output {
  streamId: string;
  type: string;
  data: unknown;
  /** Stable id derived from the input that caused it. */
  messageId: string;
  /** Appended only if the stream holds nothing after this version that this process did not write (a decision against its session's view). */
  expectedVersion?: number;
  metadata?: Record<string, unknown>;
  /** Publication (topic and exact payload); omitted for log-only outputs. */
  publish?: { topic: string; payload: string };
  /** The store event it announces, for processors of the same process that consume its kind. */
  event?: StoreEvent;
}

/** A stateful role over its host of actors: one logged input in, the outputs it caused out. */
export interface Processor {
  readonly consumes: readonly EventKind[];
  handle(input: Input): Output[] | Promise<Output[]>;
  /**
   * Outputs of `input` the log did not take: another writer got ahead on the stream (`conflict`) or logged the same
   * output id already (`duplicate`). Returns what to append instead (decided again from the log), or nothing.
   */
  reconcile?(input: Input, why: 'conflict' | 'duplicate'): Promise<Output[]>;
  /** Ids of the outputs that show an input was seen through (a focus's decision); none: nothing to see through. */
  outcomes?(input: Input): string[];
  /**
   * An input already seen through (its outcomes logged, by another process or before a restart) delivered again: the
   * outputs it published, to publish again — whoever logged them may have died before sending them (same ids).
   */
  resend?(input: Input): Promise<Output[]>;
  /**
   * Whether it takes this input before it is committed, as one unit with its outputs: the customer's state follows the
   * log and nothing of theirs is queued. False (or absent): the input is logged first, and handed over after.
   */
  takesUncommitted?(input: Input): boolean;
  /**
   * The unit of an uncommitted input it took: committed (`logged`: where the input sits; the state follows the log to
   * there) or refused (undefined: the customer's state is forgotten; the input's next pass makes it again from the log).
   */
  committed?(input: Input, logged: LoggedInput | undefined): void;
  /** Its state is a cache of its customers' streams, in the engine's replica mode (adapters/engine/replica.ts). */
  readonly replica?: ReplicaMode;
}

/** What recovery hands a processor's replica mode, through the engine, before its inputs run again. */
export interface ReplicaMode {
  /** The customer's state follows the log up to `version` (its decisions are appended against it). */
  followed(customerId: string, version: number): void;
  /** A logged decision: its input gets it back instead of a new one. */
  recallLogged(e: LoggedEvent): void;
}

/** What was logged before a restart and must be run again: inputs, and the ids of outputs already logged. */
export interface Recovery {
  inputs: Input[];
  logged: Set<string>;
  /** Outputs logged just before the restart, published again: a crash may have come between the two (at-least-once, same ids). */
  republish?: Output[];
  /** The replica mode's part (adapters/engine/replica.ts): the version each customer's state follows, and the logged decisions of inputs run again. */
  followed?: Map<string, number>;
  recalled?: LoggedEvent[];
}

export interface Registration {
  processor: Processor;
  /** The role it plays (its spans say `step <name>`). */
  name?: string;
  /** Heard once outputs are logged and published; `ms` since their input was logged here. */
  onLogged?(outputs: Output[], input: Input, ms: number): void;
  /** At start, before live inputs: what to run through the processor again (outputs already logged are not repeated). */
  recover?(): Promise<Recovery | undefined>;
}

export type IngestResult =
  | { status: 'accepted'; logged: LoggedEvent; event: StoreEvent; outputs: Promise<Output[]> }
  | { status: 'duplicate'; messageId: string }
  | { status: 'rejected'; code: RejectCode; reason: string };

/**
 * Stable id of an input: same topic and same payload → same id. A QoS 1 redelivery, a publisher's
 * retry and an identical message within the de-duplication window are the same input. (The broker's
 * packet id is not part of it: it differs per subscriber and per delivery.)
 */
export function inputId(topic: string, payload: string): string {
  return createHash('sha1').update(topic).update('\u0000').update(payload).digest('base64url').slice(0, 22);
}

/** An output as the event log takes it (`trace`: the span it is appended in, for the group commit to link to). */
export function outputRecord(o: Output, trace?: TraceLink): NewEvent {
  const metadata = { source: 'output', ...(o.publish ? { topic: o.publish.topic } : {}), ...o.metadata };
  return { streamId: o.streamId, type: o.type, data: o.data, messageId: o.messageId, expectedVersion: o.expectedVersion, metadata, trace };
}

/** Stable id of an output: its input's id and what it is. */
export function outputId(causeId: string, type: string, n = 0): string {
  return `${causeId}:${type}${n ? `:${n}` : ''}`;
}

/** The id of the input an output came from (what `outputId` put before the first `:`); none for an id without one. */
export function causeOf(outputId: string): string | undefined {
  const colon = outputId.indexOf(':');
  return colon < 0 ? undefined : outputId.slice(0, colon);
}

/** The id a logged input goes by: its stable id, or its position when it has none. */
export function loggedInputId(logged: Pick<LoggedEvent, 'position' | 'messageId'>): string {
  return logged.messageId ?? `position-${logged.position}`;
}
