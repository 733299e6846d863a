/**
 * Hosts the focus detectors, one per customer in the store, and turns store events into detector
 * events. Shared by the live detector role and by replay. Outputs (focus, browsing) are emitted
 * synchronously while an input is handled, and returned by input().
 */
import { focusDetectorMachine, type DetectorEmitted } from '../machines/focus-detector.ts';
import { ActorRegistry } from './actor-registry.ts';
import type { StoreEvent } from '../schemas/events.ts';

/** Event time advances in steps of this many seconds before forgotten customers are checked. */
export const DETECTOR_TICK_EVERY_S = 60;

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
  private eventTime = 0;
  private lastTick = 0;
  /** Customer → ts of their last event, least recently active first (re-inserted on activity). */
  private lastSeen = new Map<string, number>();

  constructor(private o: DetectorHostOptions) {
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
      onDone: (id) => { this.lastSeen.delete(id); o.onEnded?.(); },
      onError: (id, err) => { this.lastSeen.delete(id); o.onEnded?.(); o.onError?.(id, err); },
    });
  }

  /** Route one logged input (entry, move, exit); returns the focus and browsing events it caused. */
  input(event: StoreEvent, inputId: string): DetectorEmitted[] {
    this.advance(event.ts);
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
      const seen = this.lastSeen.get(event.id);
      this.lastSeen.delete(event.id);
      this.lastSeen.set(event.id, Math.max(seen ?? 0, event.ts));
    }
    const out = this.emitted;
    this.emitted = [];
    return out;
  }

  private advance(ts: number) {
    if (ts <= this.eventTime) return;
    this.eventTime = ts;
    if (this.eventTime - this.lastTick < DETECTOR_TICK_EVERY_S) return;
    this.lastTick = this.eventTime;
    // only customers idle long enough hear the tick: the least recently active come first
    const due: string[] = [];
    for (const [id, seen] of this.lastSeen) {
      if (this.eventTime - seen < this.o.idleTimeoutS) break;
      due.push(id);
    }
    for (const id of due) {
      this.lastSeen.delete(id);
      this.shoppers.get(id)?.send({ type: 'tick', ts: this.eventTime });
    }
  }
}

/** A detector's output as the store event it announces (published and logged in the flat format). */
export function detectedEvent(e: DetectorEmitted): StoreEvent {
  return e.type === 'focus'
    ? { kind: 'focus', id: e.customerId, ts: e.ts, dep: e.dep, x: e.x, y: e.y }
    : { kind: 'browsing', id: e.customerId, ts: e.ts, x: e.x, y: e.y };
}
