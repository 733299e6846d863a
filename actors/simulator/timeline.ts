/**
 * The simulator's timeline (seed 001): events scheduled at simulated times (by shoppers as they
 * step, by scenarios ahead of time), taken by a consumer that checks every CONSUME_FREQUENCY
 * seconds for due events, at most CONSUME_BATCH_SIZE per check.
 *
 * Stale events: an event is stale when it was already due at the previous check (the batch cap
 * left it behind, or a scenario scheduled it in the past). STALE_EVENTS=publish publishes it late,
 * oldest first (nothing is lost, the output lags); STALE_EVENTS=drop drops stale *moves* (a position
 * sample superseded by newer ones) but still publishes stale entries and exits, so every published
 * visit keeps its entry first and its exit last.
 */
import { must } from '../kernel/must.ts';

export type TimelineKind = 'entry' | 'move' | 'exit';
export type TimelineSource = 'simulator' | 'scenario';

export interface TimelineEvent {
  kind: TimelineKind;
  id: string;
  /** Scheduled time, ms (the published `ts` is this in whole seconds). */
  at: number;
  x: number;
  y: number;
  source: TimelineSource;
  seq: number;
}

export type StalePolicy = 'publish' | 'drop';

export interface TakeResult {
  events: TimelineEvent[];
  dropped: number;
}

/** The seed payload: entry/exit `{id, ts}`, move `{id, ts, x, y}`, ts in integer seconds. */
export function payloadOf(e: TimelineEvent): { id: string; ts: number; x?: number; y?: number } {
  const ts = Math.floor(e.at / 1000);
  return e.kind === 'move' ? { id: e.id, ts, x: e.x, y: e.y } : { id: e.id, ts };
}

export class Timeline {
  /** Events scheduled out of time order (scenarios ahead of time): a binary heap. */
  private heap: TimelineEvent[] = [];
  /** Events scheduled in time order (shoppers as the clock runs): a FIFO, no heap cost. */
  private fifo: TimelineEvent[] = [];
  private head = 0;
  private seq = 0;

  get size(): number {
    return this.heap.length + this.fifo.length - this.head;
  }

  /** Due time of the earliest event, or undefined. */
  earliest(): number | undefined {
    return this.peek()?.at;
  }

  /** Schedules the event (the object is kept and given its `seq`). */
  schedule(e: Omit<TimelineEvent, 'seq'>): TimelineEvent {
    const ev = e as TimelineEvent;
    ev.seq = this.seq++;
    const tail = this.fifo.length > this.head ? this.fifo[this.fifo.length - 1] : undefined;
    if (!tail || tail.at <= ev.at) {
      this.fifo.push(ev);
      return ev;
    }
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    return ev;
  }

  /**
   * Takes events due at or before `now`, oldest first, at most `batchSize` (Infinity = all).
   * Events due before `staleBefore` are stale: with `drop`, stale moves are dropped (not counted in the batch).
   */
  take(now: number, batchSize: number, stale: StalePolicy = 'publish', staleBefore = -Infinity): TakeResult {
    const events: TimelineEvent[] = [];
    let dropped = 0;
    for (let next = this.peek(); events.length < batchSize && next && next.at <= now; next = this.peek()) {
      const e = this.shift();
      if (stale === 'drop' && e.kind === 'move' && e.at < staleBefore) {
        dropped++;
        continue;
      }
      events.push(e);
    }
    return { events, dropped };
  }

  /** Removes every event due before `t` (CONSUME_FROM latest / ISO time); returns how many. */
  skipBefore(t: number): number {
    let n = 0;
    for (let next = this.peek(); next && next.at < t; next = this.peek()) {
      this.shift();
      n++;
    }
    return n;
  }

  /** The events due at or before `t`, oldest first, without taking them (a look: GET /state?timestamp=). */
  dueBy(t: number): TimelineEvent[] {
    const out = this.heap.filter((e) => e.at <= t);
    for (let i = this.head; i < this.fifo.length && this.fifo[i].at <= t; i++) out.push(this.fifo[i]);
    return out.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
  }

  /** Due events not yet taken (the backlog), and how late the oldest is. */
  backlog(now: number): { due: number; lagMs: number } {
    let due = 0;
    for (const e of this.heap) if (e.at <= now) due++;
    for (let i = this.head; i < this.fifo.length && this.fifo[i].at <= now; i++) due++;
    const first = this.peek();
    return { due, lagMs: first && first.at <= now ? now - first.at : 0 };
  }

  /**
   * Moves the events `which` selects by `ms` (a paused simulation resuming later: its shoppers'
   * moves planned ahead move with it); the order is rebuilt. Rare, so O(n log n) is fine.
   */
  postpone(ms: number, which: (e: TimelineEvent) => boolean): void {
    const all = [...this.heap, ...this.fifo.slice(this.head)];
    for (const e of all) if (which(e)) e.at += ms;
    this.heap = [];
    this.fifo = all.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
    this.head = 0;
  }

  clear(): void {
    this.heap = [];
    this.fifo = [];
    this.head = 0;
  }

  private peek(): TimelineEvent | undefined {
    const f = this.head < this.fifo.length ? this.fifo[this.head] : undefined;
    const h = this.heap[0];
    if (!f) return h;
    if (!h) return f;
    return less(h, f) ? h : f;
  }

  private shift(): TimelineEvent {
    const f = this.head < this.fifo.length ? this.fifo[this.head] : undefined;
    const h = this.heap[0];
    if (f && (!h || !less(h, f))) {
      this.head++;
      if (this.head > 4096 && this.head * 2 > this.fifo.length) {
        this.fifo = this.fifo.slice(this.head);
        this.head = 0;
      }
      return f;
    }
    return this.pop();
  }

  private pop(): TimelineEvent {
    const h = this.heap;
    const top = h[0];
    const last = must(h.pop(), 'the last timeline event');
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: TimelineEvent, b: TimelineEvent) {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
