/**
 * The engine's replica mode, written once for every role whose state is a cache of its customers' streams that other
 * writers (replicas sharing the log) append to as well: the inputs of a customer queued in order behind a rebuild;
 * decisions already in the log recalled instead of made again (recovery and rebuilds alike); each decision appended
 * against the stream version the state followed (a replica that got ahead makes the log refuse it); and a customer
 * this process has not followed, or whose decision the log refused, made again from its stream before it decides.
 *
 * A rebuild reads the stream through the event-log port from `rebuildStart` (the one place that says where reading
 * starts), recalls the decisions it holds, and delivers the visit's logged inputs through the same `apply` a live or
 * recovered input takes; their outputs are in the log already and are not returned.
 */
import type { EventLog, LoggedEvent } from '../../actors/kernel/event-log.ts';
import type { EventKind } from '../../schemas/events.ts';
import { loggedInputId, type Input, type LoggedInput, type Output, type ReplicaMode } from '../process/processor-contract.ts';
import { inputOf } from './inputs.ts';
import type { MachineVersion } from './machine-version.ts';
import { restoreFrom } from './restore.ts';
import type { SnapshotStore, StateSnapshot } from '../../actors/kernel/snapshot-store.ts';

type Maybe<T> = T | Promise<T>;
export type RebuildReason = 'unfollowed' | 'conflict' | 'duplicate';

/** What a role's state does for the engine; the engine does the rest (queues, recall, versions, rebuilds). */
export interface ReplicatedState<R> {
  readonly consumes: readonly EventKind[];
  /** One input through the role's state: the outputs it caused (now, or once an asynchronous decision is in). */
  step(input: Input): Maybe<Output[]>;
  /** Ids of the outputs that see an input through (a focus's decision); none: the input decides nothing. */
  outcomes(input: Input): string[];
  /** What a logged output recalls of the decision it records, to give its input back; undefined: no decision. */
  recollection(e: LoggedEvent): R | undefined;
  /** Forget the customer's state (it is made again from the stream). */
  forget(customerId: string): void;
  /** The machine version its snapshots name, and where they are kept (none: a rebuild reads the stream from `rebuildStart`). */
  readonly machine?: MachineVersion;
  readonly snapshotStore?: SnapshotStore;
  /**
   * A rebuild's start: of a stream's logged inputs before the one at hand (`before`, after the snapshot when there is
   * one: docs/snapshots.md), those to replay — the visit in progress; the state is made from the snapshot first where
   * it goes on through them.
   */
  resume(customerId: string, snapshot: StateSnapshot | undefined, before: LoggedEvent[]): LoggedEvent[];
}

/** The shared log, when other processes (replicas) may write the same customers' streams. */
export interface SharedLog {
  log: Pick<EventLog, 'readStream'>;
  /** Focus events a detector here logged as outputs are inputs too. */
  localFocus: boolean;
  onRebuilt?(why: RebuildReason): void;
}

/** How far back a stream is read for a rebuild of the input at `version` (a snapshot within it starts later: restore.ts). */
export function rebuildStart(_streamId: string, version: number): number {
  return Math.max(0, version - 500);
}

export class Replica<R> implements ReplicaMode {
  /** Decisions already in the log, by input id: given back instead of deciding again (recovery, rebuilds). */
  private recalled = new Map<string, R>();
  /** Per customer, the stream version up to which the state follows the log (its last input, or what a rebuild or recovery read). */
  private known = new Map<string, number>();
  /** Per customer, the rebuild under way and the inputs queued behind it, in order. */
  private queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly state: ReplicatedState<R>,
    private readonly shared: SharedLog | undefined,
  ) {}

  /** One input: at once for a customer the state follows with nothing queued, else behind what is queued (a rebuild first if unfollowed). */
  handle(input: Input): Maybe<Output[]> {
    const customerId = input.event.id;
    const queued = this.queues.get(customerId);
    if (!queued && !this.unfollowed(input)) return this.apply(input);
    return this.enqueue(customerId, queued, () => (this.unfollowed(input) ? this.rebuild(input, 'unfollowed') : this.apply(input)));
  }

  /**
   * Some of an input's outputs were not logged: another writer appended to the customer's stream first (`conflict`:
   * the state is made again from the log and decides again) or logged this decision already (`duplicate`: made again
   * to hold the logged one; nothing new to output).
   */
  reconcile(input: Input, why: 'conflict' | 'duplicate'): Promise<Output[]> {
    const customerId = input.event.id;
    return this.enqueue(customerId, this.queues.get(customerId), () => this.rebuild(input, why));
  }

  /**
   * Whether an input not yet logged can be taken before its commit (one unit with its outputs): nothing of the
   * customer's is queued, and the state follows their stream (or the input opens a visit), so its decisions carry the
   * version they were made against. Otherwise it is logged first (an unfollowed customer is rebuilt as it is today).
   */
  takesUncommitted({ event }: Input): boolean {
    return !this.queues.has(event.id) && (!this.shared || event.kind === 'entry' || this.known.has(event.id));
  }

  /** An uncommitted input's unit: committed (the state follows the log to the input), or refused (the state is forgotten). */
  committed({ event }: Input, logged: LoggedInput | undefined): void {
    if (logged) {
      if (this.shared) this.follow(event.id, logged.version);
      return;
    }
    this.known.delete(event.id);
    this.state.forget(event.id);
  }

  /** A decision already in the log: the input gets it back instead of a new one. */
  recall(inputId: string, recollection: R): void {
    this.recalled.set(inputId, recollection);
  }

  /** A logged output recalled for the input it records a decision of (`metadata.cause`); nothing when it records none. */
  recallLogged(e: LoggedEvent): void {
    const cause = e.metadata.cause;
    const recollection = typeof cause === 'string' ? this.state.recollection(e) : undefined;
    if (recollection !== undefined) this.recall(cause as string, recollection);
  }

  /** What is recalled for an input (undefined: nothing, decide). */
  recollectionOf(inputId: string): R | undefined {
    return this.recalled.get(inputId);
  }

  isRecalled(inputId: string): boolean {
    return this.recalled.has(inputId);
  }

  /** The input's decision is out: its recollection is spent. */
  decided(inputId: string): void {
    this.recalled.delete(inputId);
  }

  /** Recovery read this customer's stream up to `version`: the state it rebuilds follows the log that far. */
  followed(customerId: string, version: number): void {
    this.follow(customerId, version);
  }

  /** A customer this process has not followed may have lived on another replica: their state comes from the log first. */
  private unfollowed({ logged, event }: Input): boolean {
    return this.shared !== undefined && !this.known.has(event.id) && event.kind !== 'entry' && logged.version > 1;
  }

  /** `fn` after what is queued for the customer; the customer's later inputs queue behind it, in order. */
  private enqueue(customerId: string, queued: Promise<unknown> | undefined, fn: () => Maybe<Output[]>): Promise<Output[]> {
    const next = (queued ?? Promise.resolve()).then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(customerId, settled);
    settled.then(() => {
      if (this.queues.get(customerId) === settled) this.queues.delete(customerId);
    });
    return next;
  }

  /**
   * One input through the state, which follows the log up to `expected` (default: its last input). Where replicas
   * share the log, a decision is appended against that version: another writer's event since makes the log refuse it.
   */
  private apply(input: Input, expected?: number): Maybe<Output[]> {
    if (!this.shared) return this.state.step(input);
    const { logged, event } = input;
    // an uncommitted input (its unit's) follows the log once committed; a new visit's then has no version to hold to
    const against = expected ?? this.known.get(event.id) ?? (input.uncommitted ? undefined : logged.version - 1);
    if (!input.uncommitted) this.follow(event.id, Math.max(expected ?? 0, logged.version));
    const outputs = this.state.step(input);
    if (Array.isArray(outputs)) return appendedAgainst(outputs, against);
    return outputs.then((outs) => appendedAgainst(outs, against));
  }

  /** The state follows the log up to `version` (it never moves back: a rebuild replays older events). */
  private follow(customerId: string, version: number) {
    if (this.known.size >= 500_000) this.known.clear(); // forgetting only costs a rebuild
    this.known.set(customerId, Math.max(version, this.known.get(customerId) ?? 0));
  }

  /**
   * The customer's state made again from the stream: the visit's inputs before this one (their decisions recalled,
   * not made again), then, after a conflict or a duplicate, the inputs after it whose decisions are logged (so what
   * others offered counts as offered), then this input: decided anew against the stream's head, or (duplicate) given
   * back its logged decision, which is not output again.
   */
  private async rebuild(input: Input, why: RebuildReason): Promise<Output[]> {
    const shared = this.shared;
    if (!shared) throw new Error('a rebuild needs the shared log');
    const customerId = input.event.id;
    const streamId = `customer-${customerId}`;
    const v = input.logged.version;
    const machine = this.state.machine;
    const from = machine
      ? await restoreFrom(shared.log, this.state.snapshotStore, streamId, machine, { after: rebuildStart(streamId, v), before: v })
      : { events: await shared.log.readStream(streamId, rebuildStart(streamId, v)), snapshot: undefined };
    const stream = from.events;
    shared.onRebuilt?.(why);
    this.state.forget(customerId);
    const inputs: Input[] = [];
    const loggedInputs: LoggedEvent[] = [];
    const decisions: { cause: string; version: number; recollection: R }[] = [];
    for (const e of stream) {
      const asInput = inputOf(e, e, { kinds: this.state.consumes, localFocus: shared.localFocus });
      if (asInput) {
        inputs.push(asInput);
        loggedInputs.push(e);
        continue;
      }
      const cause = e.metadata.cause;
      const recollection = typeof cause === 'string' ? this.state.recollection(e) : undefined;
      if (recollection !== undefined) decisions.push({ cause: cause as string, version: e.version, recollection });
    }
    const thisId = loggedInputId(input.logged);
    const recalledHere: string[] = [];
    for (const d of decisions) {
      // recovery's recollections stay recovery's
      if ((d.cause === thisId && why === 'conflict') || this.recalled.has(d.cause)) continue;
      this.recall(d.cause, d.recollection);
      recalledHere.push(d.cause);
    }
    try {
      const before = loggedInputs.filter((e) => e.version < v);
      const visit = new Set(this.state.resume(customerId, from.snapshot, before));
      for (const i of inputs) if (visit.has(i.logged as LoggedEvent)) await this.quietly(i);
      // against the stream as of this input, the input included: a focus another writer logged (one that died before
      // deciding it) is no conflict of its own decision (against v - 1 it was, and a later focus decided meanwhile on the
      // refused decision's offer was logged first: a replay then decided both otherwise)
      if (why === 'unfollowed') return await this.apply(input, v);
      const head = stream.at(-1)?.version ?? v - 1;
      // what was decided after this input (by others, or by this process for a later input) is offered already
      const later = new Set(decisions.filter((d) => d.version > v).map((d) => d.cause));
      for (const i of inputs) if (i.logged.version > v && later.has(loggedInputId(i.logged))) await this.quietly(i);
      const outputs = await this.apply(input, head);
      return why === 'duplicate' ? [] : outputs;
    } finally {
      for (const cause of recalledHere) this.recalled.delete(cause);
    }
  }

  /**
   * A logged input delivered again, its outputs in the log already. One that decides something with no decision in
   * the log is someone's decision still to come (or a crashed replica's, which its recovery makes): not delivered.
   */
  private async quietly(input: Input): Promise<void> {
    if (this.state.outcomes(input).length > 0 && !this.recalled.has(loggedInputId(input.logged))) return;
    await this.apply(input);
  }
}

/** Outputs appended only if the stream holds nothing after `version` (a decision against the state's view). */
function appendedAgainst(outputs: Output[], version: number | undefined): Output[] {
  if (version === undefined) return outputs;
  for (const o of outputs) o.expectedVersion = version;
  return outputs;
}
