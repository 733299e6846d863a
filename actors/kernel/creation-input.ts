/**
 * An actor's ports (functions: a customer lookup, a scorer) travel in its creation input (createActor's
 * `input`), never in its context: context is data, and is what a snapshot keeps; the input is given again
 * when an actor is created or restored. XState hands a machine's actions and its invokes' `input` mappings
 * `self`, the Actor, whose `options.input` is that creation input.
 */
import type { Actor, AnyActorLogic, AnyActorRef } from 'xstate';

/** The input `self` was created with (empty when there was none, as in a pure transition). */
export function creationInput<T extends object>(self: AnyActorRef): Partial<T> {
  return ((self as Actor<AnyActorLogic>).options?.input ?? {}) as Partial<T>;
}
