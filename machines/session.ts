/**
 * A customer's visit, as the recommender sees it (seeds 002/003). One actor per customer in the store.
 * Entry loads the customer's context (or finds it known at once: the customer is in memory); a focus
 * is scored once the context is there (a focus that arrives first waits; a focus with no entry loads
 * the context itself), within the step when the scorer answers at once, else in `scoring` while it
 * works; a coupon is offered at most once per visit; exit, or SESSION_IDLE_TIMEOUT of event time
 * without events, ends the visit.
 * Time is the events' own `ts`, so replays repeat exactly.
 */
import { setup, assign, emit, enqueueActions, and, type AnyActorRef } from 'xstate';
import type { CustomerInfo } from '../actors/data/store-data.ts';
import type { Department } from '../schemas/departments.ts';
import { must } from '../actors/kernel/must.ts';
import type { FocusInput, ScoreResult } from '../actors/recommender/coupon-decision.ts';
import { loadCustomer, scoreCoupons, type SessionPort } from '../actors/recommender/session-actors.ts';
import { creationInput } from '../actors/kernel/creation-input.ts';

export type { FocusInput, ScoreResult, SessionPort };

/**
 * Raised when the code of a guard or an action changes what a session's state means: snapshots of sessions name it
 * with the hash of machines/json/session.json, and one of another version is ignored (docs/snapshots.md).
 */
export const SESSION_CODE_VERSION = 1;

export type SessionEvent =
  | { type: 'entry'; ts: number; inputId: string }
  /** `recalled`: the log holds this focus's decision already (recovery, a rebuild): it is given back within the step. */
  | { type: 'focus'; ts: number; dep: Department; inputId: string; recalled?: true }
  | { type: 'exit'; ts: number; inputId: string }
  /** Event time has advanced to `ts` (sent to every session; ends forgotten ones). */
  | { type: 'tick'; ts: number };

export type SessionEmitted =
  | { type: 'decision'; customerId: string; focus: FocusInput; result: ScoreResult }
  | { type: 'unknownCustomer'; customerId: string }
  | { type: 'contextFailed'; customerId: string; error: string };

export interface SessionContext {
  customerId: string;
  /** undefined: not loaded yet; null: not in customer_info. */
  customer: CustomerInfo | null | undefined;
  offered: number[];
  pending: FocusInput[];
  current: FocusInput | undefined;
  lastTs: number;
  exitRequested: boolean;
  idleTimeoutS: number;
  /** The scorer answers within the step (the in-process model): a focus is decided in its own transition. */
  scorerAtOnce: boolean;
  /** The visit so far: state entered and the event time, newest last (bounded). */
  path: { state: string; ts: number }[];
}

export interface SessionInput {
  customerId: string;
  idleTimeoutS: number;
  ts?: number;
  /** The customer's customer_info row when the adapter has it at once (null: not there); absent: it is loaded. */
  customer?: CustomerInfo | null;
  /** See SessionContext.scorerAtOnce (absent: false). */
  scorerAtOnce?: boolean;
  /** Where the customer's row is read and a focus decided (a port: functions, so not in context; creation-input.ts). */
  port?: SessionPort;
}

/** Back to ready after a decision: the offered coupon (if any) and the path. */
function finished(context: SessionContext, result: ScoreResult): Partial<SessionContext> {
  return { offered: 'couponId' in result ? [...context.offered, result.couponId] : context.offered, path: step(context.path, 'ready', context.lastTs) };
}
const decision = (context: SessionContext, result: ScoreResult) => ({
  type: 'decision' as const,
  customerId: context.customerId,
  focus: must(context.current, 'the focus decided'),
  result,
});

/** The session's port, from its creation input. */
const portOf = (self: AnyActorRef) => creationInput<SessionInput>(self).port;

const PATH_LIMIT = 50;
/** The path with one more step (one new array; the oldest dropped past PATH_LIMIT). */
function step(path: SessionContext['path'], state: string, ts: number): SessionContext['path'] {
  const next = path.length >= PATH_LIMIT ? path.slice(path.length - PATH_LIMIT + 1) : path.slice();
  next.push({ state, ts });
  return next;
}
const eventTs = (e: SessionEvent | { type: string }, fallback: number) => ('ts' in e && typeof e.ts === 'number' ? e.ts : fallback);

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    emitted: {} as SessionEmitted,
    output: {} as { customerId: string; offered: number[]; reason: 'exit' | 'idle' },
  },
  // their port comes in their input (actors/recommender/session-actors.ts)
  actors: { loadCustomer, scoreCoupons },
  actions: {
    touch: assign({ lastTs: ({ context, event }) => Math.max(context.lastTs, eventTs(event, context.lastTs)) }),
    queueFocus: assign({
      pending: ({ context, event }) =>
        event.type === 'focus' ? [...context.pending, { inputId: event.inputId, ts: event.ts, dep: event.dep }] : context.pending,
    }),
    requestExit: assign({ exitRequested: true }),
    /** The next waiting focus becomes the current one; the path records `scoring`. One assign: this runs per focus. */
    startScoring: assign(({ context }) => ({
      current: context.pending[0],
      pending: context.pending.slice(1),
      path: step(context.path, 'scoring', context.lastTs),
    })),
    /** A focus while ready is taken to be scored: current focus, event time and path (`scoring`) in one assign. */
    takeFocus: assign(({ context, event }) => {
      if (event.type !== 'focus') return {};
      const lastTs = Math.max(context.lastTs, event.ts);
      return { lastTs, current: { inputId: event.inputId, ts: event.ts, dep: event.dep }, path: step(context.path, 'scoring', lastTs) };
    }),
    recordPath: assign({ path: ({ context }, params: { state: string }) => step(context.path, params.state, context.lastTs) }),
    /** Back to ready after a decision: the offered coupon (if any) and the path in one assign. */
    finishScoring: assign(({ context }, result: ScoreResult) => finished(context, result)),
    storeCustomer: assign({ customer: (_, customer: CustomerInfo | null) => customer }),
    emitDecision: emit(({ context }, result: ScoreResult) => decision(context, result)),
    /** An unknown customer's focuses get no prediction, and say why. */
    declinePending: enqueueActions(({ context, enqueue }) => {
      for (const focus of context.pending) enqueue.emit({ type: 'decision', customerId: context.customerId, focus, result: { reason: 'unknown_customer' } });
      enqueue.assign({ pending: [] });
    }),
    /**
     * Decides the current focus within the step (the scorer answers at once, or the decision is recalled), then
     * what `scoring`'s end does: finishScoring and emitDecision with the result. No invoked actor: this runs per focus.
     */
    decideAtOnce: enqueueActions(({ context, self, enqueue }) => {
      const port = must(portOf(self), 'the session port');
      const decided = port.decide({ customer: must(context.customer, 'the customer'), focus: must(context.current, 'the focus'), offered: context.offered });
      // a scorer that said it answers at once and did not: its answer is not waited for
      const result: ScoreResult = decided instanceof Promise ? { reason: 'scorer_failed' } : decided;
      enqueue.assign(finished(context, result));
      enqueue.emit(decision(context, result));
    }),
    warnUnknownCustomer: emit(({ context }) => ({ type: 'unknownCustomer' as const, customerId: context.customerId })),
    reportContextFailure: emit(({ context }, error: string) => ({ type: 'contextFailed' as const, customerId: context.customerId, error })),
  },
  guards: {
    /** The customer's row was not at hand when the session opened: it is read. */
    contextToLoad: ({ context }) => context.customer === undefined,
    /** The focus can be decided within the step (decideAtOnce): the in-process model, or a recalled decision. */
    scoresAtOnce: ({ context, event }) => event.type === 'focus' && (context.scorerAtOnce || event.recalled === true),
    hasPending: ({ context }) => context.pending.length > 0,
    customerUnknown: ({ context }) => context.customer === null,
    /** Focuses wait for a customer that is not in customer_info: they are declined. */
    pendingForUnknownCustomer: and(['hasPending', 'customerUnknown']),
    /** customer_info has no row for this customer (loadCustomer resolved null). */
    customerNotFound: (_, params: { customer: CustomerInfo | null }) => params.customer === null,
    exitRequested: ({ context }) => context.exitRequested,
    idleTooLong: ({ context, event }) => event.type === 'tick' && event.ts - context.lastTs >= context.idleTimeoutS,
  },
}).createMachine({
  id: 'session',
  description: 'A customer visit: context, focuses scored into at most one coupon offer each, never the same coupon twice',
  context: ({ input }) => ({
    customerId: input.customerId,
    customer: input.customer,
    offered: [],
    pending: [],
    current: undefined,
    lastTs: input.ts ?? 0,
    exitRequested: false,
    idleTimeoutS: input.idleTimeoutS,
    scorerAtOnce: input.scorerAtOnce ?? false,
    path: [],
  }),
  initial: 'opening',
  states: {
    opening: {
      description: "Just created: the customer's row at hand (known or not in customer_info), or to be read",
      always: [
        { guard: 'contextToLoad', target: 'loadingContext' },
        { guard: 'customerUnknown', target: 'ready', actions: ['warnUnknownCustomer', { type: 'recordPath', params: { state: 'ready' } }] },
        { target: 'ready', actions: { type: 'recordPath', params: { state: 'ready' } } },
      ],
    },
    loadingContext: {
      description: 'Reading customer_info; focuses that arrive meanwhile wait',
      entry: { type: 'recordPath', params: { state: 'loadingContext' } },
      invoke: {
        src: 'loadCustomer',
        input: ({ context, self }) => ({ customerId: context.customerId, port: portOf(self) }),
        onDone: [
          {
            guard: { type: 'customerNotFound', params: ({ event }) => ({ customer: event.output }) },
            target: 'ready',
            actions: [{ type: 'storeCustomer', params: null }, 'warnUnknownCustomer', { type: 'recordPath', params: { state: 'ready' } }],
          },
          {
            target: 'ready',
            actions: [
              { type: 'storeCustomer', params: ({ event }) => event.output },
              { type: 'recordPath', params: { state: 'ready' } },
            ],
          },
        ],
        onError: {
          target: 'ready',
          actions: [
            { type: 'storeCustomer', params: null },
            { type: 'reportContextFailure', params: ({ event }) => String((event.error as Error)?.message ?? event.error) },
            { type: 'recordPath', params: { state: 'ready' } },
          ],
        },
      },
      on: {
        entry: { actions: 'touch' },
        focus: { actions: ['touch', 'queueFocus'] },
        exit: { actions: ['touch', 'requestExit'] },
      },
    },
    ready: {
      description: 'Context loaded; waiting for a focus',
      always: [
        { guard: 'pendingForUnknownCustomer', actions: 'declinePending' },
        { guard: 'hasPending', target: 'scoring', actions: 'startScoring' },
        { guard: 'exitRequested', target: 'ended' },
      ],
      on: {
        entry: { actions: 'touch' },
        focus: [
          { guard: 'customerUnknown', actions: ['touch', 'queueFocus'] },
          { guard: 'scoresAtOnce', actions: ['takeFocus', 'decideAtOnce'] },
          { target: 'scoring', actions: 'takeFocus' },
        ],
        exit: { target: 'ended', actions: ['touch', 'requestExit'] },
        tick: { guard: 'idleTooLong', target: 'ended' },
      },
    },
    scoring: {
      description: "Scoring the focused department's coupons for this customer while the scorer works (a remote one)",
      invoke: {
        src: 'scoreCoupons',
        input: ({ context, self }) => ({
          customer: must(context.customer, 'the customer scored'),
          focus: must(context.current, 'the focus scored'),
          offered: context.offered,
          port: portOf(self),
        }),
        onDone: {
          target: 'ready',
          actions: [
            { type: 'finishScoring', params: ({ event }) => event.output },
            { type: 'emitDecision', params: ({ event }) => event.output },
          ],
        },
        onError: {
          target: 'ready',
          actions: [
            { type: 'finishScoring', params: { reason: 'scorer_failed' } },
            { type: 'emitDecision', params: { reason: 'scorer_failed' } },
          ],
        },
      },
      on: {
        entry: { actions: 'touch' },
        focus: { actions: ['touch', 'queueFocus'] },
        exit: { actions: ['touch', 'requestExit'] },
      },
    },
    ended: {
      description: 'The customer left (exit) or was forgotten (idle timeout)',
      type: 'final',
      entry: { type: 'recordPath', params: { state: 'ended' } },
    },
  },
  output: ({ context }) => ({ customerId: context.customerId, offered: context.offered, reason: context.exitRequested ? 'exit' : 'idle' }),
});
