/**
 * A simulated clock for actor systems (xstate's Clock interface: setTimeout/clearTimeout), with its
 * timers in a binary heap ordered by (due time, creation order).
 *
 * Why not xstate's SimulatedClock: it sorts every pending timeout on each `set`/`increment`, which is
 * O(n log n) per step: with 10,000 shoppers each holding a timer that is ~10^5 comparisons per event.
 * Here a step costs O(log n), so one clock drives both the real-time simulator (advanced to
 * "now × SIM_SPEED" at each timeline check) and the virtual-time day (advanced timer by timer).
 * Timers fire with `now()` equal to their due time, so anything they stamp carries its scheduled time.
 */

import { must } from './must.ts';

interface Timer {
  at: number;
  seq: number;
  fn: (() => void) | null;
}

export class HeapClock {
  private heap: Timer[] = [];
  private seq = 0;
  private _now: number;
  private live = 0;

  constructor(startMs = 0) {
    this._now = startMs;
  }

  now(): number {
    return this._now;
  }

  /** Pending (not cancelled) timers. */
  get pending(): number {
    return this.live;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t: Timer = { at: this._now + Math.max(0, ms), seq: this.seq++, fn };
    this.push(t);
    this.live++;
    return t;
  }

  clearTimeout(t: Timer | undefined): void {
    if (t?.fn) {
      t.fn = null;
      this.live--;
    }
  }

  /** Due time of the next pending timer, or undefined. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.at;
  }

  /** Fires every timer due at or before `t`, in order, then sets the time to `t` (never backwards). */
  advanceTo(t: number): void {
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.at > t) break;
      this.pop();
      const fn = must(top.fn, 'a pending timer');
      top.fn = null;
      this.live--;
      if (top.at > this._now) this._now = top.at;
      fn();
    }
    if (t > this._now) this._now = t;
  }

  /** Fires the next pending timer (virtual time); false when none is left or it is after `limit`. */
  step(limit = Infinity): boolean {
    const at = this.nextAt();
    if (at === undefined || at > limit) return false;
    this.advanceTo(at);
    return true;
  }

  /** Moves the time and every pending timer by `ms` (a paused simulation resuming at a later time). */
  shift(ms: number): void {
    this._now += ms;
    for (const t of this.heap) t.at += ms;
  }

  private dropCancelled() {
    while (this.heap.length && this.heap[0].fn === null) this.pop();
  }

  private less(a: Timer, b: Timer) {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer) {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
