/**
 * One host for per-customer actors, generic over the machine it hosts (the adapter passes it in):
 * a registry (customer id → actor, removed when it completes), an optional idle clock on event time,
 * and the ticks that tell the quiet ones. Its instances: the recommender's sessions and the detector's
 * shoppers, created by routed inputs and ticked on event time; and the simulator's shoppers, which no
 * input creates (an arrival on the simulation's own clock spawns them), which end by themselves (no
 * idle clock) and whose events go onto the timeline when they happen (all of them `onLater`).
 * What the actors emit while an input is handled is returned by input(); what they emit later (an
 * asynchronous invoked actor finishing, a shopper's timer) goes to `onLater`.
 */
import type { ActorOptions, AnyStateMachine, EventFromLogic, InputFrom, InspectionEvent, SnapshotFrom, Actor } from 'xstate';
import { ActorRegistry } from './actor-registry.ts';
import { IdleClock } from './idle-clock.ts';

/**
 * What an input means for one customer's actor: the events it hears, in order (none: the customer was
 * active, their actor has nothing to hear), and whether they may create the actor.
 */
export interface Routed<E> {
  events: readonly E[];
  create: boolean;
}

export interface CustomerHostOptions<M extends AnyStateMachine, In, Out> {
  machine: M;
  input: (customerId: string) => InputFrom<M>;
  /** The customer an input is about, its event time, and the event for that customer's actor (none: ignored). Without it, input() is not used: actors are spawned. */
  route?(input: In): { customerId: string; ts: number; routed?: Routed<EventFromLogic<M>> };
  /** The event that tells a quiet actor event time has moved on; without it, no idle clock. */
  tick?: (ts: number) => EventFromLogic<M>;
  idleTimeoutS?: number;
  /** Which emitted events are outputs (others are ignored here; subscribe through onCreate). */
  emits: string[];
  clock?: ActorOptions<M>['clock'];
  inspect?: (e: InspectionEvent) => void;
  /** An output emitted outside input() (an asynchronous invoked actor finished, a timer fired), and whose actor emitted it. */
  onLater?(out: Out, customerId: string): void;
  onCreate?(customerId: string, actor: Actor<M>): void;
  onDone?(customerId: string, snapshot: SnapshotFrom<M>): void;
  onError?(customerId: string, err: unknown): void;
  /** The idle clock's tick at `ts` ended the customer's actor (a partial export carries these ends: docs/replay-provenance.md). */
  onIdleEnd?(customerId: string, ts: number): void;
}

export class CustomerHost<M extends AnyStateMachine, In, Out> {
  readonly actors: ActorRegistry<M>;
  private idle: IdleClock | undefined;
  /** Outputs of the input being handled; undefined outside input(). */
  private collecting: Out[] | undefined;
  /** Customers whose actor is made only when first needed (a restart's sessions: later()), and how. */
  private deferred = new Map<string, () => void>();

  constructor(private o: CustomerHostOptions<M, In, Out>) {
    this.idle = o.tick && o.idleTimeoutS !== undefined ? new IdleClock(o.idleTimeoutS) : undefined;
    this.actors = new ActorRegistry({
      machine: o.machine,
      input: o.input,
      clock: o.clock,
      inspect: o.inspect,
      onCreate: (id, actor) => {
        for (const type of o.emits) actor.on(type, (e) => this.collect(e as Out, id));
        o.onCreate?.(id, actor);
      },
      onDone: (id, snapshot) => {
        this.idle?.forget(id);
        o.onDone?.(id, snapshot);
      },
      onError: (id, err) => {
        this.idle?.forget(id);
        o.onError?.(id, err);
      },
    });
  }

  private collect(out: Out, customerId: string) {
    if (this.collecting) this.collecting.push(out);
    else this.o.onLater?.(out, customerId);
  }

  /** Route one input to its customer's actor; returns what the actors emitted meanwhile. */
  input(input: In): Out[] {
    const route = this.o.route;
    if (!route) throw new Error('this host routes no input: its actors are spawned');
    const outer = this.collecting;
    const out: Out[] = [];
    this.collecting = out;
    try {
      const { customerId, ts, routed } = route(input);
      if (this.deferred.size > 0) this.wake(customerId);
      this.advance(customerId, ts);
      if (routed && ((routed.create && routed.events.length > 0) || this.actors.has(customerId))) {
        this.idle?.seen(customerId, ts);
        for (const event of routed.events) this.actors.send(customerId, event);
      }
    } finally {
      this.collecting = outer;
    }
    if (outer) outer.push(...out);
    return out;
  }

  /**
   * Creates and starts the customer's actor, without an input (the simulation's arrivals); the one there
   * is when it exists. It joins the idle clock, if any, with its first routed input.
   */
  spawn(customerId: string): Actor<M> {
    return this.actors.ensure(customerId);
  }

  /**
   * From now on an actor ends idle only when told so by idleEnd(): the replay of a partial log, which lacks the other
   * customers' inputs that moved event time on, follows the idle ends the log carries instead of its own clock.
   */
  idleEndsFromLog(): void {
    this.idle = undefined;
  }

  /** The log says the customer's actor ended idle at `ts`: it hears the tick that ended it (none there: nothing). */
  idleEnd(customerId: string, ts: number): void {
    const tick = this.o.tick;
    if (tick) this.actors.get(customerId)?.send(tick(ts));
  }

  /**
   * The customer's actor made again from a snapshot of its state (a restart, a rebuild), in place of any there is; it
   * was last active at event time `ts`, which moves event time on as an input would.
   */
  restore(customerId: string, snapshot: SnapshotFrom<M>, ts: number): Actor<M> {
    this.deferred.delete(customerId);
    if (this.actors.has(customerId)) this.actors.remove(customerId);
    const actor = this.actors.ensure(customerId, snapshot);
    this.advance(customerId, ts);
    this.idle?.seen(customerId, ts);
    return actor;
  }

  /**
   * The customer's actor is made by `make` (restore() and the logged inputs that follow) only when first needed: an
   * input for them, the idle clock's tick (an open session still ends on its idle timeout), wake(). Meanwhile they count
   * as last active at event time `ts`.
   */
  later(customerId: string, ts: number, make: () => void): void {
    this.deferred.set(customerId, make);
    this.advance(customerId, ts);
    this.idle?.seen(customerId, ts);
  }

  /**
   * Makes the customer's deferred actor now (true: there was one). What it emits while made is no output of the input
   * at hand: the inputs that make it are logged with their outputs.
   */
  wake(customerId: string): boolean {
    const make = this.deferred.get(customerId);
    if (!make) return false;
    this.deferred.delete(customerId);
    const outer = this.collecting;
    this.collecting = undefined;
    try {
      make();
    } finally {
      this.collecting = outer;
    }
    return true;
  }

  /** The customers whose actor is still to be made. */
  get waiting(): IterableIterator<string> {
    return this.deferred.keys();
  }

  /** Forgets every deferred actor (a stop). */
  forgetDeferred(): void {
    this.deferred.clear();
  }

  /** Stops and forgets a customer's actor (its state is to be rebuilt); true when there was one. */
  drop(customerId: string): boolean {
    this.deferred.delete(customerId);
    if (!this.actors.has(customerId)) return false;
    this.actors.remove(customerId);
    this.idle?.forget(customerId);
    return true;
  }

  private advance(customerId: string, ts: number) {
    const tick = this.idle?.advance(customerId, ts);
    const make = this.o.tick;
    if (!tick || !make) return;
    // only those idle long enough hear the tick
    for (const id of tick.due) {
      // a deferred actor is made to hear it
      const actor = this.actors.get(id) ?? (this.wake(id) ? this.actors.get(id) : undefined);
      if (!actor) continue;
      actor.send(make(tick.ts));
      if (this.o.onIdleEnd && !this.actors.has(id)) this.o.onIdleEnd(id, tick.ts);
    }
  }
}
