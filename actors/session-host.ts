/**
 * Hosts the recommender's sessions, one per customer in the store, and turns store events into
 * session events. Shared by the live recommender and by replay, so both behave identically:
 * same event routing, same event-time ticks for the idle timeout.
 */
import { type Actor, type AnyActorScope, type PromiseActorLogic, type PromiseSnapshot } from 'xstate';
import { sessionMachine, type SessionEmitted } from '../machines/session.ts';
import { ActorRegistry } from './actor-registry.ts';
import { IdleClock } from './idle-clock.ts';
import type { StoreEvent } from '../schemas/events.ts';
import type { CouponCatalogue } from './coupon-catalogue.ts';
import { dateOf } from './coupon-catalogue.ts';
import { decide } from './coupon-decision.ts';
import type { CouponScorer, CustomerInfo } from './store-data.ts';
import type { ScoreResult, FocusInput } from '../machines/session.ts';

export type SessionMachine = typeof sessionMachine;
export type SessionActor = Actor<SessionMachine>;


export interface SessionHostOptions {
  machine: SessionMachine;
  idleTimeoutS: number;
  onEmitted(e: SessionEmitted): void;
  onCreated?(): void;
  onEnded?(): void;
  onError?(customerId: string, err: unknown): void;
  inspect?: (e: any) => void;
}

export class SessionHost {
  readonly sessions: ActorRegistry<SessionMachine>;
  private idle: IdleClock;

  constructor(o: SessionHostOptions) {
    this.idle = new IdleClock(o.idleTimeoutS);
    this.sessions = new ActorRegistry({
      machine: o.machine,
      // a new session's clock starts at its customer's own first event
      input: (customerId) => ({ customerId, idleTimeoutS: o.idleTimeoutS }),
      inspect: o.inspect,
      onCreate: (_id, actor) => {
        actor.on('*', (e) => o.onEmitted(e as SessionEmitted));
        o.onCreated?.();
      },
      onDone: (id) => { this.idle.forget(id); o.onEnded?.(); },
      onError: (id, err) => { this.idle.forget(id); o.onEnded?.(); o.onError?.(id, err); },
    });
  }

  /** Route one logged input (entry, focus, exit) to its customer's session. */
  input(event: StoreEvent, inputId: string): void {
    this.advance(event.id, event.ts);
    if (event.kind === 'entry' || event.kind === 'focus' || (event.kind === 'exit' && this.sessions.has(event.id))) {
      this.idle.seen(event.id, event.ts);
    }
    switch (event.kind) {
      case 'entry':
        this.sessions.send(event.id, { type: 'entry', ts: event.ts, inputId });
        return;
      case 'exit':
        if (this.sessions.has(event.id)) this.sessions.send(event.id, { type: 'exit', ts: event.ts, inputId });
        return;
      case 'focus':
        this.sessions.send(event.id, { type: 'focus', ts: event.ts, dep: event.dep, inputId });
        return;
      default:
        return;
    }
  }

  /** True while some session is loading its context or scoring. */
  busy(): boolean {
    for (const id of this.sessions.ids()) {
      const s = this.sessions.get(id)!.getSnapshot();
      if (s.value !== 'ready' || s.context.pending.length) return true;
    }
    return false;
  }

  private advance(id: string, ts: number) {
    const tick = this.idle.advance(id, ts);
    // only those idle long enough hear the tick
    for (const id of tick?.due ?? []) this.sessions.get(id)?.send({ type: 'tick', ts: tick!.ts });
  }

}

export interface ScoringSettings { maxCoupons: number; threshold: number; couponValidity: 'check' | 'ignore' }

/**
 * The department's valid coupons, scored, and the best one not yet offered. Throws (or rejects) if the
 * scorer fails. Synchronous with a synchronous scorer (the in-process model): no promise per focus.
 */
export function scoreFocus(catalogue: CouponCatalogue, scorer: CouponScorer, s: ScoringSettings, input: { customer: CustomerInfo; focus: FocusInput; offered: number[] }): ScoreResult | Promise<ScoreResult> {
  const candidates = catalogue.candidates(input.focus.dep, s.couponValidity === 'ignore' ? undefined : dateOf(input.focus.ts));
  if (candidates.entries.length === 0) return { reason: 'no_coupons' };
  const scores = scorer.score(input.customer, candidates.coupons);
  const pick = (scores: number[]): ScoreResult => {
    const d = decide(candidates.entries, scores, input.offered, s.maxCoupons, s.threshold);
    return d.offer ? { couponId: d.entry.coupon.coupon_id, score: d.score } : { reason: d.reason };
  };
  return scores instanceof Promise ? scores.then(pick) : pick(scores);
}

/**
 * Actor logic with fromPromise's contract (same snapshot, done/error events, so a machine's
 * `fromPromise` slot accepts it) that is done from the start when its creator returns a plain value:
 * the creator runs when the actor is created, and the actor starts `done` with the value as its
 * output (XState then reports it to the parent at start), so no promise, microtask hop, event or
 * AbortController per invocation. A returned promise is awaited once the actor starts.
 */
export function fromValueOrPromise<TOutput, TInput>(creator: (args: { input: TInput }) => TOutput | Promise<TOutput>): PromiseActorLogic<TOutput, TInput> {
  const RESOLVE = 'xstate.promise.resolve', REJECT = 'xstate.promise.reject';
  // results still to come, by the snapshot waiting for them (a promise has no place in a snapshot)
  const awaiting = new WeakMap<object, Promise<TOutput>>();
  const logic = {
    config: creator,
    transition: (state: PromiseSnapshot<TOutput, TInput>, event: { type: string; data?: unknown }) => {
      if (state.status !== 'active') return state;
      switch (event.type) {
        case RESOLVE: return { ...state, status: 'done', output: event.data as TOutput, input: undefined };
        case REJECT: return { ...state, status: 'error', error: event.data, input: undefined };
        case 'xstate.stop': return { ...state, status: 'stopped', input: undefined };
        default: return state;
      }
    },
    start: (state: PromiseSnapshot<TOutput, TInput>, { self }: AnyActorScope) => {
      const promise = awaiting.get(state);
      if (!promise || state.status !== 'active') return;
      awaiting.delete(state);
      const settle = (type: string, data: unknown) => { if (self.getSnapshot().status === 'active') self.send({ type, data }); };
      promise.then((v) => settle(RESOLVE, v), (err) => settle(REJECT, err));
    },
    getInitialSnapshot: (_: unknown, input: TInput) => {
      let result: TOutput | Promise<TOutput>;
      try {
        result = creator({ input });
      } catch (error) {
        return { status: 'error', output: undefined, error, input: undefined };
      }
      if (!(result instanceof Promise)) return { status: 'done', output: result, error: undefined, input: undefined };
      const snapshot = { status: 'active', output: undefined, error: undefined, input };
      awaiting.set(snapshot, result);
      return snapshot;
    },
    getPersistedSnapshot: (snapshot: PromiseSnapshot<TOutput, TInput>) => snapshot,
    restoreSnapshot: (snapshot: unknown) => snapshot,
  };
  return logic as unknown as PromiseActorLogic<TOutput, TInput>;
}
