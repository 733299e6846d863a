/**
 * The event streams the pages read, one per routing key and process: the manager's screen reads
 * `customer.#`, a shopper's phone `customer.<id>`, the events view whatever its filter selects. Each
 * is created on first use (guarded by the stream ticket when a token is set) and deleted on stop.
 * Phones and filters are many: past MAX_STREAMS the least recently used record is deleted (its open
 * sockets go on; a page that reconnects fetches its config again and gets a new stream).
 */
import type { StreamRecords } from '../gateway/index.ts';
import type { Logger } from '../process/logger.ts';

export const MAX_STREAMS = 200;

export interface PageStreamsOptions {
  records: Pick<StreamRecords, 'create' | 'delete'>;
  log: Logger;
  /** Called with each new stream's id before it is handed out (a token guards it with the ticket). */
  guard?: (streamId: string) => void;
  /** Called with each stream's id once it is deleted (its guard goes with it). */
  unguard?: (streamId: string) => void;
  max?: number;
}

export class PageStreams {
  // insertion order is use order: a hit moves its key to the end
  private streams = new Map<string, Promise<{ id: string }>>();

  constructor(private o: PageStreamsOptions) {}

  /** The stream of this routing key, created once (concurrent callers share the creation). */
  get(routingKey: string): Promise<{ id: string }> {
    const known = this.streams.get(routingKey);
    if (known) {
      this.streams.delete(routingKey);
      this.streams.set(routingKey, known);
      return known;
    }
    const made = this.o.records
      .create(routingKey)
      .then((r) => {
        this.o.guard?.(r.id);
        this.o.log.info({ stream: r.id, routingKey }, 'page stream created');
        return { id: r.id };
      })
      .catch((err) => {
        this.streams.delete(routingKey);
        throw err;
      });
    this.streams.set(routingKey, made);
    this.evict();
    return made;
  }

  private evict(): void {
    const max = this.o.max ?? MAX_STREAMS;
    for (const [key, stream] of this.streams) {
      if (this.streams.size <= max) return;
      this.streams.delete(key);
      void stream
        .then(async (s) => {
          await this.o.records.delete(s.id);
          this.o.unguard?.(s.id);
        })
        .catch((err) => this.o.log.warn({ err, routingKey: key }, 'could not delete a page stream'));
    }
  }

  /** The records go with the process that made them; pages fetch their config again on reconnect. */
  async forget(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const s of await Promise.allSettled(all))
      if (s.status === 'fulfilled') {
        await this.o.records.delete(s.value.id);
        this.o.unguard?.(s.value.id);
      }
  }
}
