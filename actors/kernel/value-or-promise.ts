/** Actor logic that is done at once when its work is synchronous (see fromValueOrPromise). */
import type { AnyActorScope, PromiseActorLogic, PromiseSnapshot } from 'xstate';

/**
 * Actor logic with fromPromise's contract (same snapshot, done/error events, so a machine's
 * `fromPromise` slot accepts it) that is done from the start when its creator returns a plain value:
 * the creator runs when the actor is created, and the actor starts `done` with the value as its
 * output (XState then reports it to the parent at start), so no promise, microtask hop, event or
 * AbortController per invocation. A returned promise is awaited once the actor starts.
 */
export function fromValueOrPromise<TOutput, TInput>(creator: (args: { input: TInput }) => TOutput | Promise<TOutput>): PromiseActorLogic<TOutput, TInput> {
  const RESOLVE = 'xstate.promise.resolve',
    REJECT = 'xstate.promise.reject';
  // results still to come, by the snapshot waiting for them (a promise has no place in a snapshot)
  const awaiting = new WeakMap<object, Promise<TOutput>>();
  const logic = {
    config: creator,
    transition: (state: PromiseSnapshot<TOutput, TInput>, event: { type: string; data?: unknown }) => {
      if (state.status !== 'active') return state;
      switch (event.type) {
        case RESOLVE:
          return { ...state, status: 'done', output: event.data as TOutput, input: undefined };
        case REJECT:
          return { ...state, status: 'error', error: event.data, input: undefined };
        case 'xstate.stop':
          return { ...state, status: 'stopped', input: undefined };
        default:
          return state;
      }
    },
    start: (state: PromiseSnapshot<TOutput, TInput>, { self }: AnyActorScope) => {
      const promise = awaiting.get(state);
      if (!promise || state.status !== 'active') return;
      awaiting.delete(state);
      const settle = (type: string, data: unknown) => {
        if (self.getSnapshot().status === 'active') self.send({ type, data });
      };
      promise.then(
        (v) => settle(RESOLVE, v),
        (err) => settle(REJECT, err),
      );
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
