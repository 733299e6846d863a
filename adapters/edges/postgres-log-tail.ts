/**
 * The log as every process sees it: events appended by any process on this database (replicas), delivered in
 * position order, each once. A LISTEN on `storeflow_events` (sql/006: a statement that appends notifies at commit)
 * wakes the tail, which reads what follows its last position. Positions are taken when a transaction inserts, not
 * when it commits, so a hole means a transaction still committing (wait for it) or one rolled back (its positions
 * never come): a hole is waited for up to `holeWaitMs`, then passed. A slow poll covers lost notifications and
 * reconnections.
 */
import pg from 'pg';
import type { EventLog, LoggedEvent, LogListener } from '../../actors/kernel/event-log.ts';
import type { Logger } from '../process/logger.ts';

export interface LogTailOptions {
  url: string;
  schema: string;
  eventLog: Pick<EventLog, 'read' | 'head'>;
  log: Logger;
  /** How long a hole in the positions is waited for before it is taken as a rolled-back append. */
  holeWaitMs?: number;
  /** Read even without a notification this often (a lost connection, a missed notification). */
  pollMs?: number;
  pageSize?: number;
}

export class PostgresLogTail {
  private listeners = new Set<LogListener>();
  private cursor = 0;
  private client: pg.Client | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private hole: { position: number; since: number } | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private failing = false;
  /** Events delivered, and holes passed without their events. */
  readonly stats = { delivered: 0, holesPassed: 0 };

  constructor(private o: LogTailOptions) {}

  /** From the log's head now on. */
  async start(): Promise<void> {
    this.cursor = await this.o.eventLog.head();
    await this.listen();
    const poll = setInterval(() => this.wake(), this.o.pollMs ?? 1000);
    poll.unref();
    this.timers.add(poll);
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.client?.end().catch(() => {});
    await this.reading;
  }

  private async listen() {
    const client = new pg.Client({ connectionString: this.o.url });
    client.on('notification', (n) => {
      if (n.payload === this.o.schema) this.wake();
    });
    client.on('error', (err) => {
      if (this.stopped) return;
      this.o.log.warn({ err: err.message }, 'log tail: the LISTEN connection failed; polling until it is back');
      this.client = undefined;
      client.end().catch(() => {});
      this.relisten(1000);
    });
    await client.connect();
    await client.query('LISTEN storeflow_events');
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.wake(); // what was appended while it was not listening
  }

  /** LISTEN again after `ms`, and again with a longer wait for as long as it fails (the poll delivers meanwhile). */
  private relisten(ms: number) {
    this.later(() => void this.listen().catch(() => this.relisten(Math.min(ms * 2, 10_000))), ms);
  }

  private later(fn: () => void, ms: number) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private wake() {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.drain()
      .then(() => {
        if (this.failing) this.o.log.info('log tail: reading the log again');
        this.failing = false;
      })
      .catch((err) => {
        // once per outage, not once per poll
        if (!this.failing) this.o.log.warn({ err: (err as Error).message }, 'log tail: reading the log failed; trying again every second');
        this.failing = true;
      })
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain() {
    const size = this.o.pageSize ?? 5000;
    while (!this.stopped) {
      const rows = await this.o.eventLog.read({ fromPosition: this.cursor + 1, limit: size });
      if (rows.length === 0) return;
      let n = 0;
      while (n < rows.length && rows[n].position === this.cursor + 1 + n) n++;
      if (n === 0) {
        // a hole before the first event found: a commit still under way, or positions a rollback left unused
        const wait = this.o.holeWaitMs ?? 2000;
        if (this.hole?.position !== this.cursor + 1) this.hole = { position: this.cursor + 1, since: Date.now() };
        if (Date.now() - this.hole.since < wait) {
          this.later(() => this.wake(), Math.min(50, wait));
          return;
        }
        this.stats.holesPassed++;
        this.o.log.debug({ from: this.cursor + 1, to: rows[0].position - 1 }, 'log tail: positions never committed, passed');
        this.cursor = rows[0].position - 1;
        continue;
      }
      this.hole = undefined;
      const batch = rows.slice(0, n);
      this.cursor = batch[batch.length - 1].position;
      this.deliver(batch);
      if (n === rows.length && rows.length < size) return;
    }
  }

  private deliver(batch: LoggedEvent[]) {
    this.stats.delivered += batch.length;
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.o.log.error({ err }, 'log tail listener failed');
      }
    }
  }
}
