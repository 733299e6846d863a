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
import { fromFlat, type StoreEvent } from '../../schemas/events.ts';
import type { EventLog, LoggedEvent } from '../../actors/kernel/event-log.ts';
import { loggedInputId, outputId, type Input, type Output, type Processor } from '../process/processor-contract.ts';
import { decisionOutput, decisionResult, publishedAgain, type LoggedPrediction } from './decision-record.ts';
import { visitOf } from '../../actors/recommender/visit.ts';
import { must } from '../../actors/kernel/must.ts';
import { DiscountBudget } from '../../actors/recommender/discount-budget.ts';
import { inputOf, SESSION_INPUTS } from '../engine/inputs.ts';

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
  shared?: { log: Pick<EventLog, 'readStream'>; localFocus: boolean; onRebuilt?(why: 'unfollowed' | 'conflict' | 'duplicate'): void };
}

interface Routable {
  event: StoreEvent;
  inputId: string;
}

export class RecommenderProcessor implements Processor {
  readonly consumes = SESSION_INPUTS;
  readonly host: CustomerHost<typeof sessionMachine, Routable, SessionEmitted>;
  /** Focuses whose decision is still to come (context loading, a remote scorer), by input id. */
  private waiting = new Map<string, (outputs: Output[]) => void>();
  /** Decisions already in the log, by focus input id: recovery gives them back instead of scoring again. */
  private recalled = new Map<string, ScoreResult>();
  /** Per customer, the stream version up to which this process's session follows the log (its last input, or what a rebuild or recovery read). */
  private known = new Map<string, number>();
  /** Per focus awaiting its decision, the stream version the decision is appended against (expected version). */
  private expectFor = new Map<string, number>();
  /** Per customer, the rebuild under way and the inputs queued behind it, in order. */
  private rebuilding = new Map<string, Promise<unknown>>();
  /** A new session's customer row still being read (not in memory), for its loadCustomer to take over. */
  private reading = new Map<string, Promise<CustomerInfo | null>>();
  /** Discount offered per day of event time by this process's decisions (recovery adds what the log holds). */
  readonly budget = new DiscountBudget();

  constructor(private o: RecommenderProcessorOptions) {
    // what the sessions ask of this process: a customer's row (taking over a read begun at creation), a focus decided
    const port: SessionPort = {
      customer: (customerId) => {
        const reading = this.reading.get(customerId);
        this.reading.delete(customerId);
        return reading ?? this.customerRow(customerId);
      },
      decide: (input) => {
        const failed = (err: unknown) => o.onScorerFailure?.(String(input.customer.customer_id), err);
        const recalled = this.recalled.get(input.focus.inputId);
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
      route: ({ event, inputId }) => ({ customerId: event.id, ts: event.ts, routed: route(event, inputId, this.recalled.has(inputId)) }),
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

  handle(input: Input): Output[] | Promise<Output[]> {
    const customerId = input.event.id;
    const queued = this.rebuilding.get(customerId);
    // the fast path: a session this process follows, nothing of its customer's under way
    if (!queued && !this.unfollowed(input)) return this.apply(input);
    return this.enqueue(customerId, queued, () => (this.unfollowed(input) ? this.rebuild(input, 'unfollowed') : this.apply(input)));
  }

  /**
   * Some of an input's outputs were not logged: another writer appended to the customer's stream first
   * (`conflict`: the session is rebuilt from the log and decides again) or logged this decision already
   * (`duplicate`: the session is rebuilt to hold the logged one; nothing new to publish).
   */
  reconcile(input: Input, why: 'conflict' | 'duplicate'): Promise<Output[]> {
    const customerId = input.event.id;
    return this.enqueue(customerId, this.rebuilding.get(customerId), () => this.rebuild(input, why));
  }

  /** A session this process has not followed may have lived on another replica: its visit comes from the log first. */
  private unfollowed({ logged, event }: Input): boolean {
    return this.o.shared !== undefined && !this.known.has(event.id) && event.kind !== 'entry' && logged.version > 1;
  }

  /** `fn` after what is queued for the customer; the customer's later inputs queue behind it, in order. */
  private enqueue(customerId: string, queued: Promise<unknown> | undefined, fn: () => Output[] | Promise<Output[]>): Promise<Output[]> {
    const next = (queued ?? Promise.resolve()).then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.rebuilding.set(customerId, settled);
    settled.then(() => {
      if (this.rebuilding.get(customerId) === settled) this.rebuilding.delete(customerId);
    });
    return next;
  }

  /** One input through its customer's session, which follows the log up to `expected` (default: its last input). */
  private apply({ logged, event }: Input, expected?: number): Output[] | Promise<Output[]> {
    const inputId = loggedInputId(logged);
    const previous = this.known.get(event.id);
    if (event.kind === 'focus') this.expectFor.set(inputId, expected ?? previous ?? logged.version - 1);
    this.follow(event.id, Math.max(expected ?? 0, logged.version));
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
    if (event.kind !== 'focus' || decided) return outputs;
    // decided later (the context still loading, a remote scorer): the outputs then
    return new Promise((ok) => this.waiting.set(inputId, (later) => ok([...outputs, ...later])));
  }

  /**
   * The customer's session made again from the stream: the visit's inputs before this one (their decisions
   * recalled, not scored again), then, after a conflict or a duplicate, the decisions logged after it (so what
   * others offered counts as offered), then this input: decided anew against the stream's head, or (duplicate)
   * given back its logged decision, which is not output again.
   */
  private async rebuild(input: Input, why: 'unfollowed' | 'conflict' | 'duplicate'): Promise<Output[]> {
    const shared = must(this.o.shared, 'the shared log');
    const customerId = input.event.id;
    const v = input.logged.version;
    const stream = await shared.log.readStream(`customer-${customerId}`, Math.max(0, v - 500));
    shared.onRebuilt?.(why);
    if (this.host.drop(customerId)) this.o.onEnded?.();
    const inputs = stream.filter((e) => this.isInput(e));
    const decisions = stream.filter((e) => (e.type === 'prediction' || e.type === 'no_prediction') && typeof e.metadata.cause === 'string');
    const recalledHere: string[] = [];
    for (const d of decisions) {
      const cause = d.metadata.cause as string;
      // recovery's recollections stay recovery's
      if ((cause === loggedInputId(input.logged) && why === 'conflict') || this.recalled.has(cause)) continue;
      this.recall(cause, decisionResult(d));
      recalledHere.push(cause);
    }
    // a focus with no decision in the log is someone's decision still to come (or a crashed replica's, which its
    // recovery makes): it is no offer yet
    const quietly = async (e: LoggedEvent) => {
      const event = fromFlat(e.type, e.data);
      if (event && !(event.kind === 'focus' && !this.recalled.has(loggedInputId(e)))) await this.apply({ logged: e, event });
    };
    try {
      for (const e of visitOf(
        inputs.filter((e) => e.version < v),
        this.o.settings().idleTimeoutS,
      ))
        await quietly(e);
      const head = stream.at(-1)?.version ?? v - 1;
      // against the stream as of this input, the input included: a focus another writer logged (one that died before
      // deciding it) is no conflict of its own decision (against v - 1 it was, and a later focus decided meanwhile on the
      // refused decision's offer was logged first: a replay then decided both otherwise)
      if (why === 'unfollowed') return await this.apply(input, v);
      // what was decided after this input (by others, or by this process for a later focus) is offered already
      const later = new Set(decisions.filter((d) => d.version > v).map((d) => d.metadata.cause as string));
      for (const e of inputs) if (e.version > v && e.type === 'focus' && later.has(loggedInputId(e))) await quietly(e);
      const outputs = await this.apply(input, head);
      return why === 'duplicate' ? [] : outputs;
    } finally {
      for (const cause of recalledHere) this.recalled.delete(cause);
    }
  }

  /** A stream entry a session consumes: an entry, focus or exit that came in (or a local detector's focus). */
  private isInput(e: LoggedEvent): boolean {
    return inputOf(e, e, { kinds: this.consumes, localFocus: this.o.shared?.localFocus ?? false }) !== undefined;
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

  /** The session follows the log up to `version` (it never moves back: a rebuild replays older events). */
  private follow(customerId: string, version: number) {
    if (this.known.size >= 500_000) this.known.clear(); // forgetting only costs a rebuild
    this.known.set(customerId, Math.max(version, this.known.get(customerId) ?? 0));
  }

  /** Recovery read this customer's stream up to `version`: the session it rebuilds follows the log that far. */
  followed(customerId: string, version: number): void {
    this.follow(customerId, version);
  }

  /** A decision already in the log (recovery): the focus gets it back instead of a new score. */
  recall(focusInputId: string, result: ScoreResult): void {
    this.recalled.set(focusInputId, result);
  }

  /** A logged prediction as it was published (rendered again from the catalogue), to publish it again. */
  published(e: LoggedPrediction): Output | undefined {
    return publishedAgain(e, { catalogue: this.o.catalogue(), format: this.o.format, topic: this.o.topic });
  }

  stop(): void {
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
    this.recalled.delete(e.focus.inputId);
    const inputId = e.focus.inputId;
    return [decisionOutput(e, { catalogue: this.o.catalogue(), format: this.o.format, topic: this.o.topic, expectedVersion: this.expectation(inputId) })];
  }

  /** The expected version of a focus's decision (only where replicas share the log). */
  private expectation(focusInputId: string): number | undefined {
    const v = this.expectFor.get(focusInputId);
    this.expectFor.delete(focusInputId);
    return this.o.shared ? v : undefined;
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
