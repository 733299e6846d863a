/**
 * Which inputs were seen (the de-duplication window): an input's stable id is remembered for the window once it is
 * logged, and a copy that arrives while the first is still being appended waits for that append. The window survives
 * a restart: recent input ids come back from the log.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import { inputIdsSince, quiet } from './recent-inputs.ts';

export class SeenInputs {
  /** Id → until when it counts as seen (ms). */
  private recent = new Map<string, number>();
  /** Inputs whose append is under way, by id, and who waits for it. */
  private waiting = new Map<string, (() => void)[]>();

  constructor(private readonly windowMs: number) {}

  /** The window from the log, at start. */
  async recall(log: EventLog): Promise<void> {
    // a process SIGKILLed a moment ago may still have a group commit running on the server: read the window
    // once it has committed, or the broker's redelivery of those inputs would be taken as new
    await quiet(log, 5000);
    for (const e of await inputIdsSince(log, Date.now() - this.windowMs)) this.recent.set(e.messageId, e.recordedAt + this.windowMs);
  }

  has(messageId: string): boolean {
    const until = this.recent.get(messageId);
    return until !== undefined && until > Date.now();
  }

  /** Resolves once no append of this id is under way; undefined (nothing to wait for) when none is. */
  appended(messageId: string): Promise<void> | undefined {
    if (!this.waiting.has(messageId)) return undefined;
    return (async () => {
      while (this.waiting.has(messageId)) await new Promise<void>((ok) => this.waiting.get(messageId)?.push(ok));
    })();
  }

  /** An append of this id begins; the function returned says it ended (logged or not; said again, it does nothing). */
  appending(messageId: string): () => void {
    const mine: (() => void)[] = [];
    this.waiting.set(messageId, mine);
    return () => {
      if (this.waiting.get(messageId) !== mine) return;
      const waiting = mine;
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
