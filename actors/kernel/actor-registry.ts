/**
 * Hosts many actors of one machine, keyed by id (a customer in the store, a shopper on a visit):
 * created on first use, removed when they complete or fail. A registry instead of a root machine
 * with thousands of children, which would copy its children on every transition (DESIGN.md).
 */
import { createActor, type Actor, type AnyStateMachine, type InspectionEvent, type SnapshotFrom, type InputFrom, type EventFromLogic } from 'xstate';
import type { ActorOptions } from 'xstate';

export interface RegistryOptions<M extends AnyStateMachine> {
  machine: M;
  input: (id: string) => InputFrom<M>;
  /** Actor-system clock (SimulatedClock in replay and tests). */
  clock?: ActorOptions<M>['clock'];
  inspect?: (event: InspectionEvent) => void;
  onError?: (id: string, err: unknown) => void;
  /** Called when an actor reaches a final state, before it is removed. */
  onDone?: (id: string, snapshot: SnapshotFrom<M>) => void;
  /** Called once for each new actor, before it starts (attach listeners for emitted events here). */
  onCreate?: (id: string, actor: Actor<M>) => void;
  /** Called after every snapshot change (observers such as inspection endpoints). */
  onSnapshot?: (id: string, snapshot: SnapshotFrom<M>) => void;
}

export class ActorRegistry<M extends AnyStateMachine> {
  private actors = new Map<string, Actor<M>>();
  constructor(private o: RegistryOptions<M>) {}

  get size(): number {
    return this.actors.size;
  }

  get(id: string): Actor<M> | undefined {
    return this.actors.get(id);
  }

  has(id: string): boolean {
    return this.actors.has(id);
  }

  ids(): string[] {
    return [...this.actors.keys()];
  }

  /** The actor for `id`, created (or restored from `snapshot`) and started if it does not exist. */
  ensure(id: string, snapshot?: SnapshotFrom<M>): Actor<M> {
    let actor = this.actors.get(id);
    if (actor) return actor;
    actor = createActor(this.o.machine, {
      input: this.o.input(id),
      ...(snapshot ? { snapshot } : {}),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      ...(this.o.inspect ? { inspect: this.o.inspect } : {}),
    }) as Actor<M>;
    this.actors.set(id, actor);
    const a = actor;
    this.o.onCreate?.(id, a);
    a.subscribe({
      next: (snap) => {
        this.o.onSnapshot?.(id, snap as SnapshotFrom<M>);
        if ((snap as { status: string }).status === 'done') {
          this.o.onDone?.(id, snap as SnapshotFrom<M>);
          if (this.actors.get(id) === a) this.actors.delete(id);
        }
      },
      error: (err) => {
        if (this.actors.get(id) === a) this.actors.delete(id);
        this.o.onError?.(id, err);
      },
    });
    a.start();
    return a;
  }

  /** Send to the actor for `id`, creating it first. */
  send(id: string, event: EventFromLogic<M>): Actor<M> {
    const actor = this.ensure(id);
    actor.send(event);
    return actor;
  }

  remove(id: string): void {
    const a = this.actors.get(id);
    if (!a) return;
    this.actors.delete(id);
    a.stop();
  }

  stopAll(): void {
    for (const id of [...this.actors.keys()]) this.remove(id);
  }
}
