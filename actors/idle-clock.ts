/**
 * Event time for a host of per-customer actors, and who has been quiet long enough to be told.
 * Customers are kept least recently active first (re-inserted on activity), so finding those idle
 * for the timeout stops at the first one that is not: no broadcast to every actor.
 */
export class IdleClock {
  private eventTime = 0;
  private lastTick = 0;
  private lastSeen = new Map<string, number>();

  constructor(private idleTimeoutS: number, private tickEveryS = 60) {}

  /**
   * Event time moves on to `ts`. At most once per `tickEveryS` of it, returns the customers idle for
   * the timeout (they are forgotten here; their actors decide whether to end).
   */
  advance(ts: number): { ts: number; due: string[] } | undefined {
    if (ts <= this.eventTime) return undefined;
    this.eventTime = ts;
    if (this.eventTime - this.lastTick < this.tickEveryS) return undefined;
    this.lastTick = this.eventTime;
    const due: string[] = [];
    for (const [id, seen] of this.lastSeen) {
      if (this.eventTime - seen < this.idleTimeoutS) break;
      due.push(id);
    }
    for (const id of due) this.lastSeen.delete(id);
    return { ts: this.eventTime, due };
  }

  /** The customer was active at `ts`. */
  seen(id: string, ts: number): void {
    const before = this.lastSeen.get(id);
    this.lastSeen.delete(id);
    this.lastSeen.set(id, Math.max(before ?? 0, ts));
  }

  forget(id: string): void {
    this.lastSeen.delete(id);
  }
}
