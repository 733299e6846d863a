/**
 * What one writer of the log appended itself, per stream: an expected version moves past those events (its own inputs
 * in flight are no news to it), so only another writer's events make an append a conflict. Recent versions only;
 * forgetting one makes a check fail safe (a refusal, then a rebuild), never pass wrongly.
 */
import type { NewEvent } from '../../actors/kernel/event-log.ts';

export class OwnVersions {
  private own = new Map<string, Set<number>>();

  /** The stream's version an event expects: the appender's, moved past what this writer appended since (null: none). */
  expected(e: NewEvent): number | null {
    if (e.expectedVersion === undefined) return null;
    const own = this.own.get(e.streamId);
    let v = e.expectedVersion;
    while (own?.has(v + 1)) v++;
    return v;
  }

  /** A version this writer appended. */
  wrote(streamId: string, version: number): void {
    let own = this.own.get(streamId);
    if (!own) {
      if (this.own.size >= 200_000) this.own.clear();
      own = new Set();
      this.own.set(streamId, own);
    }
    own.add(version);
    if (own.size > 128) for (const v of own) if (v <= version - 64) own.delete(v);
  }
}
