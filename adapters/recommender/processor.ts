/**
 * The recommender's processor: a session actor per customer in the store (entry → load context →
 * focus → score coupons → decision), hosted by the generic customer host. An entry, focus or exit
 * in; the decision a focus came to out (a `prediction` to log and publish, or a logged
 * `no_prediction` with the reason). Live runs, recovery and replay use this one module; only the
 * data it reads differs (the database's catalogue and customers, or a replay's).
 */
import type { InspectionEvent } from 'xstate';
import { sessionMachine, type SessionEmitted, type SessionEvent, type SessionPort } from '../../machines/session.ts';
import { CustomerHost, type Routed } from '../../actors/kernel/customer-host.ts';
import type { ScoringSettings } from '../../actors/recommender/score-focus.ts';
import type { ScoreResult } from '../../actors/recommender/coupon-decision.ts';
import { decideFocus } from '../../actors/recommender/decide-focus.ts';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { StoreEvent } from '../../schemas/events.ts';
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import { loggedInputId, outputId, type Input, type LoggedInput, type Output, type Processor } from '../process/processor-contract.ts';
import { decisionOutput, decisionResult, publishedAgain, type LoggedPrediction } from './decision-record.ts';
import { DiscountBudget } from '../../actors/recommender/discount-budget.ts';
import { SESSION_INPUTS } from '../engine/inputs.ts';
import { Replica, type ReplicatedState, type SharedLog } from '../engine/replica.ts';
import type { SnapshotCadence } from '../engine/snapshot-cadence.ts';
import type { SnapshotStore, StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import { restingState, SESSION_MACHINE, sessionOf, visitAfter } from './session-snapshot.ts';

export interface RecommenderSettings extends ScoringSettings {
  idleTimeoutS: number;
}

export interface RecommenderProcessorOptions {
  catalogue(): CouponCatalogue;
  /** A customer's context (null: not in customer_info); synchronous when it is in memory. */
  customer(id: number): CustomerInfo | null | Promise<CustomerInfo | null>;
  scorer(): CouponScorer;
  /** Scoring settings in force (replay changes them where the log says they changed). */
  settings(): RecommenderSettings;
  topic: string;
  format: 'flat' | 'envelope';
  inspect?: (e: InspectionEvent) => void;
  onScorerFailure?(customerId: string, err: unknown): void;
  onUnknownCustomer?(customerId: string): void;
  onContextFailed?(customerId: string, error: string): void;
  onCreated?(): void;
  onEnded?(): void;
  onError?(customerId: string, err: unknown): void;
  /** A session ended idle at event time `ts` (replay and export note these). */
  onIdleEnd?(customerId: string, ts: number): void;
  /** The shared log, when other processes (replicas) may write the same customers' streams: a session this process has not
   * followed is rebuilt from its stream before it decides, a decision another writer got ahead of is made again from the log.
   * `localFocus`: focus events a detector here logged as outputs are inputs too. */
  shared?: SharedLog;
  /** Sessions are snapshotted at this cadence (none: never; replay takes none). */
  snapshots?: SnapshotCadence;
}

interface Routable {
  event: StoreEvent;
  inputId: string;
}

export class RecommenderProcessor implements Processor, ReplicatedState<ScoreResult> {
  readonly consumes = SESSION_INPUTS;
  /** The version its sessions' snapshots name. */
  readonly machine = SESSION_MACHINE;
  readonly host: CustomerHost<typeof sessionMachine, Routable, SessionEmitted>;
  /** The engine's replica mode: queues, recollections, versions and rebuilds from the shared log (adapters/engine/replica.ts). */
  readonly replica: Replica<ScoreResult>;
  /** Focuses whose decision is still to come (context loading, a remote scorer), by input id. */
  private waiting = new Map<string, (outputs: Output[]) => void>();
  /** A session being made from a snapshot (its row is in it: none is read; left set by a throw, a session reads its own). */
  private restoring = false;
  /** A new session's customer row still being read (not in memory), for its loadCustomer to take over. */
  private reading = new Map<string, Promise<CustomerInfo | null>>();
  /** Discount offered per day of event time by this process's decisions (recovery adds what the log holds). */
  readonly budget = new DiscountBudget();

  constructor(private o: RecommenderProcessorOptions) {
    this.replica = new Replica(this, o.shared);
    // what the sessions ask of this process: a customer's row (taking over a read begun at creation), a focus decided
    const port: SessionPort = {
      customer: (customerId) => {
        const reading = this.reading.get(customerId);
        this.reading.delete(customerId);
        return reading ?? this.customerRow(customerId);
      },
      decide: (input) => {
        const failed = (err: unknown) => o.onScorerFailure?.(String(input.customer.customer_id), err);
        const recalled = this.replica.recollectionOf(input.focus.inputId);
        return decideFocus({ catalogue: o.catalogue(), scorer: o.scorer(), settings: o.settings(), budget: this.budget, recalled, failed }, input);
      },
    };
    this.host = new CustomerHost<typeof sessionMachine, Routable, SessionEmitted>({
      machine: sessionMachine,
      emits: ['decision', 'unknownCustomer', 'contextFailed'],
      inspect: o.inspect,
      // a new session's clock starts at its customer's own first event; its customer's row comes along when in memory
      input: (customerId) => {
        // the in-process model decides within the focus's own step (no invoked actor); a remote scorer is awaited in `scoring`
        const session = { customerId, idleTimeoutS: o.settings().idleTimeoutS, scorerAtOnce: o.scorer().synchronous === true, port };
        if (this.restoring) return session; // a snapshot holds the row
        let row: ReturnType<typeof this.customerRow>;
        try {
          row = this.customerRow(customerId);
        } catch {
          return session; // loadCustomer asks again, and its failure is the session's contextFailed
        }
        if (!(row instanceof Promise)) return { ...session, customer: row };
        this.reading.set(customerId, row);
        return session;
      },
      idleTimeoutS: o.settings().idleTimeoutS,
      tick: (ts) => ({ type: 'tick', ts }),
      route: ({ event, inputId }) => ({ customerId: event.id, ts: event.ts, routed: route(event, inputId, this.replica.isRecalled(inputId)) }),
      onLater: (e) => this.later(e),
      onIdleEnd: o.onIdleEnd,
      onCreate: () => o.onCreated?.(),
      onDone: () => o.onEnded?.(),
      onError: (id, err) => {
        o.onEnded?.();
        o.onError?.(id, err);
      },
    });
  }

  get sessions() {
    return this.host.actors;
  }

  /** The customer's customer_info row (null: none, or an id that is no customer number). */
  private customerRow(customerId: string): CustomerInfo | null | Promise<CustomerInfo | null> {
    const id = Number(customerId);
    return Number.isSafeInteger(id) ? this.o.customer(id) : null;
  }

  /** An input, through the engine's replica mode (a session this process has not followed is rebuilt first). */
  handle(input: Input): Output[] | Promise<Output[]> {
    return this.replica.handle(input);
  }

  /** An input taken before its commit (one unit with its decision) where its session follows the log (adapters/engine/replica.ts). */
  takesUncommitted(input: Input): boolean {
    return this.replica.takesUncommitted(input);
  }

  /** The unit of an input taken uncommitted: the session follows the log to it, or (refused) is forgotten. */
  committed(input: Input, logged: LoggedInput | undefined): void {
    this.replica.committed(input, logged);
  }

  /** Outputs the log refused: the engine's replica mode rebuilds the session from the log and decides again. */
  reconcile(input: Input, why: 'conflict' | 'duplicate'): Promise<Output[]> {
    return this.replica.reconcile(input, why);
  }

  /** One input through its customer's session: the decision it came to (now, or once the context or scorer answers). */
  step({ logged, event, uncommitted }: Input): Output[] | Promise<Output[]> {
    const inputId = loggedInputId(logged);
    const outputs: Output[] = [];
    let decided = false;
    for (const e of this.host.input({ event, inputId })) {
      const outs = this.outputsOf(e);
      if (e.type === 'decision' && e.focus.inputId !== inputId) this.settle(e.focus.inputId, outs);
      else {
        decided ||= e.type === 'decision';
        outputs.push(...outs);
      }
    }
    if (event.kind !== 'focus' || decided) {
      // every so many inputs, once at rest, held until its outputs are logged (docs/snapshots.md); an uncommitted input's
      // until its unit is, which says its version
      const stream = `customer-${event.id}`;
      if (this.o.snapshots?.due(stream))
        this.o.snapshots.take(stream, uncommitted ? undefined : logged.version, restingState(this.host.actors.get(event.id)), inputId, outputs.length);
      return outputs;
    }
    // decided later (the context still loading, a remote scorer): the outputs then
    return new Promise((ok) => this.waiting.set(inputId, (later) => ok([...outputs, ...later])));
  }

  /** A logged decision (a prediction or a no_prediction) as the scorer's result, to give its focus back. */
  recollection(e: LoggedEvent): ScoreResult | undefined {
    return e.type === 'prediction' || e.type === 'no_prediction' ? decisionResult(e) : undefined;
  }

  /** The customer's session ends here (it is made again from the stream). */
  forget(customerId: string): void {
    if (this.host.drop(customerId)) this.o.onEnded?.();
  }

  /** Where this process's session snapshots are kept (none: a rebuild reads the stream from its start). */
  get snapshotStore(): SnapshotStore | undefined {
    return this.o.snapshots?.store;
  }

  /**
   * A rebuild's start: the visit a session lives on among the inputs before the one at hand (from the last entry, after
   * the last exit or idle end), and the session made from the snapshot when it goes on through them (then only those
   * after it are replayed).
   */
  resume(customerId: string, snapshot: StateSnapshot | undefined, before: LoggedEvent[]): LoggedEvent[] {
    const { visit, goesOn } = visitAfter(snapshot, before, Number.POSITIVE_INFINITY, this.o.settings().idleTimeoutS);
    if (snapshot && goesOn) this.restore(customerId, snapshot);
    return visit;
  }

  /** The customer's session made from a snapshot (recovery, a rebuild), with the settings in force, following the stream from there. */
  restore(customerId: string, s: StateSnapshot): void {
    const { snapshot, lastTs } = sessionOf(s, { idleTimeoutS: this.o.settings().idleTimeoutS, scorerAtOnce: this.o.scorer().synchronous === true });
    this.restoring = true;
    this.host.restore(customerId, snapshot, lastTs);
    this.restoring = false;
    this.replica.followed(customerId, s.version);
  }

  /**
   * Recovery: the customer's session made from a snapshot and the logged inputs after it (their decisions in the log,
   * recalled) only when first needed — their next input, the idle clock's tick, wakeDeferred() — as restore() and
   * step() would make it at once; it was last active at event time `ts`.
   */
  restoreLater(customerId: string, s: StateSnapshot, inputs: readonly Input[], ts: number): void {
    this.host.later(customerId, ts, () => {
      this.restore(customerId, s);
      const idleTimeoutS = this.o.settings().idleTimeoutS;
      for (const input of inputs) {
        // a silence as long as the idle timeout before it ended the session (the tick a live run hears in it)
        const lastTs = this.host.actors.get(customerId)?.getSnapshot().context.lastTs;
        if (lastTs !== undefined && input.event.ts - lastTs >= idleTimeoutS) this.host.idleEnd(customerId, input.event.ts);
        this.step(input);
      }
    });
  }

  /**
   * The sessions recovery deferred, made now a hundred at a time between other work (a turn: ~15 ms of CPU; inputs
   * are taken meanwhile: one for a session still deferred makes it first). Resolves with how many were made once none
   * is left.
   */
  async wakeDeferred(perTurn = 100): Promise<number> {
    let made = 0;
    for (;;) {
      let n = 0;
      for (const id of this.host.waiting) {
        if (n++ >= perTurn) break;
        if (this.host.wake(id)) made++;
      }
      if (n === 0) return made;
      await new Promise((ok) => setImmediate(ok));
    }
  }

  /** A focus is seen through once its decision is logged (a prediction or a no_prediction). */
  outcomes({ logged, event }: Input): string[] {
    if (event.kind !== 'focus') return [];
    const id = loggedInputId(logged);
    return [outputId(id, 'prediction'), outputId(id, 'no_prediction')];
  }

  /** A focus decided already, delivered again: its logged prediction as published, to publish again (its writer may have died first). */
  async resend({ logged, event }: Input): Promise<Output[]> {
    if (event.kind !== 'focus' || !this.o.shared) return [];
    const id = loggedInputId(logged);
    const after = await this.o.shared.log.readStream(`customer-${event.id}`, logged.version);
    return after.filter((e) => e.type === 'prediction' && e.metadata.cause === id).flatMap((e) => this.published(e) ?? []);
  }

  /** A logged prediction as it was published (rendered again from the catalogue), to publish it again. */
  published(e: LoggedPrediction): Output | undefined {
    return publishedAgain(e, { catalogue: this.o.catalogue(), format: this.o.format, topic: this.o.topic });
  }

  stop(): void {
    this.host.forgetDeferred();
    this.host.actors.stopAll();
    for (const ok of this.waiting.values()) ok([]);
    this.waiting.clear();
  }

  private later(e: SessionEmitted) {
    const outs = this.outputsOf(e);
    if (e.type === 'decision') this.settle(e.focus.inputId, outs);
  }

  private settle(inputId: string, outputs: Output[]) {
    const ok = this.waiting.get(inputId);
    this.waiting.delete(inputId);
    ok?.(outputs);
  }

  private outputsOf(e: SessionEmitted): Output[] {
    if (e.type === 'unknownCustomer') {
      this.o.onUnknownCustomer?.(e.customerId);
      return [];
    }
    if (e.type === 'contextFailed') {
      this.o.onContextFailed?.(e.customerId, e.error);
      return [];
    }
    this.replica.decided(e.focus.inputId);
    return [decisionOutput(e, { catalogue: this.o.catalogue(), format: this.o.format, topic: this.o.topic })];
  }
}

/**
 * What a store event means to a customer's session; an exit of someone without a session creates nothing.
 * `recalled`: the log holds the focus's decision already.
 */
function route(event: StoreEvent, inputId: string, recalled: boolean): Routed<SessionEvent> | undefined {
  switch (event.kind) {
    case 'entry':
      return { events: [{ type: 'entry', ts: event.ts, inputId }], create: true };
    case 'focus': {
      const focus = { type: 'focus' as const, ts: event.ts, dep: event.dep, inputId };
      return { events: [recalled ? { ...focus, recalled: true as const } : focus], create: true };
    }
    case 'exit':
      return { events: [{ type: 'exit', ts: event.ts, inputId }], create: false };
    default:
      return undefined;
  }
}
