/**
 * Which inputs this process saw (the de-duplication window): an input's stable id is remembered for the window once it
 * is logged here, and a copy that arrives while the first is still being appended waits for that append. Inputs logged
 * before this start (by this process before a restart, or by another replica) are not taken as seen: a copy goes to
 * the log, whose unique id says it is there already and whether it was seen through — if not it is decided here, and
 * if it was, what it published goes out again (whoever logged it may have died before sending it).
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import { quiet } from './recent-inputs.ts';

export class SeenInputs {
  /** Id → until when it counts as seen (ms). */
  private recent = new Map<string, number>();
  /** Inputs whose append is under way, by id, and who waits for it. */
  private waiting = new Map<string, (() => void)[]>();

  constructor(private readonly windowMs: number) {}

  /** At start: a process SIGKILLed a moment ago may still have a group commit running on the server; its end is waited for. */
  async recall(log: EventLog): Promise<void> {
    await quiet(log, 5000);
  }

  has(messageId: string): boolean {
    const until = this.recent.get(messageId);
    return until !== undefined && until > Date.now();
  }

  /** Resolves once no append of this id is under way. */
  async appended(messageId: string): Promise<void> {
    while (this.waiting.has(messageId)) await new Promise<void>((ok) => this.waiting.get(messageId)?.push(ok));
  }

  /** An append of this id begins; the function returned says it ended (logged or not). */
  appending(messageId: string): () => void {
    this.waiting.set(messageId, []);
    return () => {
      const waiting = this.waiting.get(messageId) ?? [];
      this.waiting.delete(messageId);
      for (const ok of waiting) ok();
    };
  }

  remember(messageId: string): void {
    const now = Date.now();
    this.recent.set(messageId, now + this.windowMs);
    if (this.recent.size > 200_000) for (const [k, until] of this.recent) if (until < now || this.recent.size > 150_000) this.recent.delete(k);
  }
}
