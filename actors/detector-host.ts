/**
 * Hosts the focus detectors, one per customer in the store, and turns store events into detector
 * events. Shared by the live detector role and by replay. Outputs (focus, browsing) are emitted
 * synchronously while an input is handled, and returned by input().
 */
import { focusDetectorMachine, type DetectorEmitted } from '../machines/focus-detector.ts';
import { ActorRegistry } from './actor-registry.ts';
import { IdleClock } from './idle-clock.ts';
import type { StoreEvent } from '../schemas/events.ts';


export interface DetectorHostOptions {
  focusMinMoves: number;
  browsingMinMoves: number;
  idleTimeoutS: number;
  inspect?: (e: any) => void;
  onCreated?(): void;
  onEnded?(): void;
  onError?(customerId: string, err: unknown): void;
}

export class DetectorHost {
  readonly shoppers: ActorRegistry<typeof focusDetectorMachine>;
  private emitted: DetectorEmitted[] = [];
  private idle: IdleClock;

  constructor(private o: DetectorHostOptions) {
    this.idle = new IdleClock(o.idleTimeoutS);
    this.shoppers = new ActorRegistry({
      machine: focusDetectorMachine,
      inspect: o.inspect,
      // a new customer's clock starts at their own first event, not at other customers' latest one
      input: (customerId) => ({ customerId, focusMinMoves: o.focusMinMoves, browsingMinMoves: o.browsingMinMoves, idleTimeoutS: o.idleTimeoutS }),
      onCreate: (_id, actor) => {
        actor.on('focus', (e) => void this.emitted.push(e));
        actor.on('browsing', (e) => void this.emitted.push(e));
        o.onCreated?.();
      },
      onDone: (id) => { this.idle.forget(id); o.onEnded?.(); },
      onError: (id, err) => { this.idle.forget(id); o.onEnded?.(); o.onError?.(id, err); },
    });
  }

  /** Route one logged input (entry, move, exit); returns the focus and browsing events it caused. */
  input(event: StoreEvent, inputId: string): DetectorEmitted[] {
    this.advance(event.id, event.ts);
    switch (event.kind) {
      case 'entry':
        this.shoppers.send(event.id, { type: 'entry', ts: event.ts });
        break;
      case 'move':
        this.shoppers.send(event.id, { type: 'move', ts: event.ts, x: event.x, y: event.y, inputId });
        break;
      case 'exit':
        // an exit of someone never seen creates nothing
        if (this.shoppers.has(event.id)) this.shoppers.send(event.id, { type: 'exit', ts: event.ts });
        break;
      default:
        return [];
    }
    if (this.shoppers.has(event.id)) {
      this.idle.seen(event.id, event.ts);
    }
    const out = this.emitted;
    this.emitted = [];
    return out;
  }

  private advance(id: string, ts: number) {
    const tick = this.idle.advance(id, ts);
    // only those idle long enough hear the tick
    for (const id of tick?.due ?? []) this.shoppers.get(id)?.send({ type: 'tick', ts: tick!.ts });
  }

}

/** A detector's output as the store event it announces (published and logged in the flat format). */
export function detectedEvent(e: DetectorEmitted): StoreEvent {
  return e.type === 'focus'
    ? { kind: 'focus', id: e.customerId, ts: e.ts, dep: e.dep, x: e.x, y: e.y }
    : { kind: 'browsing', id: e.customerId, ts: e.ts, x: e.x, y: e.y };
}
