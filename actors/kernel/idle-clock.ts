/**
 * Event time for a host of per-customer actors, and who has been quiet long enough to be told.
 * Customers are kept least recently active first (re-inserted on activity), so finding those idle
 * for the timeout stops at the first one that is not: no broadcast to every actor.
 *
 * Event time is the latest time that at least two customers have reached: one customer whose clock
 * is far ahead (a device set to 2100, a hostile message) cannot make everybody else look idle. A
 * customer ahead of event time is passed over, never told, until event time catches up.
 */
export class IdleClock {
  private eventTime = 0;
  private lastTick = 0;
  private lastSeen = new Map<string, number>();
  /** The customer furthest ahead, and the latest time any other customer has reached. */
  private lead = { id: '', ts: 0 };
  private runnerUp = 0;

  constructor(
    private idleTimeoutS: number,
    private tickEveryS = 60,
  ) {}

  /**
   * Customer `id` has an event at `ts`. When that moves event time on, at most once per `tickEveryS` of
   * it, returns the customers idle for the timeout (they are forgotten here; their actors decide whether to end).
   */
  advance(id: string, ts: number): { ts: number; due: string[] } | undefined {
    if (id === this.lead.id) this.lead.ts = Math.max(this.lead.ts, ts);
    else if (ts > this.lead.ts) {
      this.runnerUp = this.lead.ts;
      this.lead = { id, ts };
    } else if (ts > this.runnerUp) this.runnerUp = ts;
    if (this.runnerUp <= this.eventTime) return undefined;
    this.eventTime = this.runnerUp;
    if (this.eventTime - this.lastTick < this.tickEveryS) return undefined;
    this.lastTick = this.eventTime;
    const due: string[] = [];
    for (const [id, seen] of this.lastSeen) {
      if (seen > this.eventTime) continue; // ahead of everybody else: not idle by anyone's clock
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
