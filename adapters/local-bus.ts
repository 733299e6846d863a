/**
 * In-process handoff between roles of one process. A role's output (e.g. the detector's focus) is
 * logged once, then handed to local consumers directly; when the same message comes back from the
 * broker, `isEcho` recognises it so it is neither logged nor processed twice.
 */
import type { LoggedEvent } from '../actors/event-log.ts';

export type BusHandler = (event: LoggedEvent) => void;

export class LocalBus {
  private handlers = new Map<string, Set<BusHandler>>();
  private echoes = new Map<string, number>();
  constructor(private echoTtlMs = 60_000, private maxEchoes = 100_000) {}

  on(type: string, handler: BusHandler): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set!.delete(handler);
  }

  hasConsumer(type: string): boolean {
    return (this.handlers.get(type)?.size ?? 0) > 0;
  }

  /** Hand a logged output to local consumers of its type. */
  deliver(event: LoggedEvent): void {
    for (const h of this.handlers.get(event.type) ?? []) h(event);
  }

  /** Remember a publication of ours so its broker echo can be dropped. */
  expectEcho(topic: string, payload: string, now = Date.now()): void {
    const key = `${topic}\u0000${payload}`;
    this.echoes.set(key, now + this.echoTtlMs);
    if (this.echoes.size > this.maxEchoes) this.sweep(now);
  }

  /** True (once) when this message is the broker's copy of our own publication. */
  isEcho(topic: string, payload: string, now = Date.now()): boolean {
    const key = `${topic}\u0000${payload}`;
    const until = this.echoes.get(key);
    if (until === undefined) return false;
    this.echoes.delete(key);
    return until >= now;
  }

  private sweep(now: number) {
    for (const [k, until] of this.echoes) if (until < now || this.echoes.size > this.maxEchoes) this.echoes.delete(k);
  }
}
