/**
 * The log as every process sees it: events appended by any process on this database (replicas), delivered in
 * position order, each once. A LISTEN on `storeflow_events` (sql/006: a statement that appends notifies at commit)
 * wakes the tail, which reads what follows its last position up to a bound: the highest position taken when the round
 * began. A run without holes is handed on at once. A hole is a transaction still open or one rolled back: the tail
 * waits only for the transactions writing when it found the hole that had begun by the bound (postgres-log-settled.ts),
 * hands on each run their commits complete as they end, and once all have ended reads again and takes every position
 * up to the bound as final. So a late commit is never passed over, a rollback
 * costs no waiting, and events after a slow transaction wait only for it. A slow poll covers lost notifications and
 * reconnections.
 */
import pg from 'pg';
import type { EventLog, LoggedEvent, LogListener } from '../../actors/kernel/event-log.ts';
import { IDLE_IN_TRANSACTION_MS, type Queryable } from './database.ts';
import { openWriters, settledHead, stillOpen, takenHead } from './postgres-log-settled.ts';
import type { Logger } from '../process/logger.ts';
import type { Metrics } from '../process/metrics.ts';

export interface LogTailOptions {
  url: string;
  schema: string;
  eventLog: Pick<EventLog, 'read' | 'head'>;
  /** The same database, for what the positions' writers are doing (pg_locks, the position sequence). */
  db: Queryable;
  log: Logger;
  /** Where its lag goes (storeflow_log_tail_*). */
  metrics?: Metrics;
  /** Read even without a notification this often (a lost connection, a missed notification). */
  pollMs?: number;
  /** While a hole waits for an open transaction: look again this often. */
  holdPollMs?: number;
  pageSize?: number;
}

export class PostgresLogTail {
  private listeners = new Set<LogListener>();
  private cursor = 0;
  private client: pg.Client | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  /** A notification came since the current round began. */
  private notified = false;
  /** Waiting at a hole for open transactions: a timer reads next. */
  private holding = false;
  /** This round's end: the highest position taken when it began; `writers`, once a hole was found: those it waits for. */
  private bound: { to: number; at: string; since: number; writers?: string[]; final?: boolean } | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private failing = false;
  /** Events delivered, reads of the log, and looks at open transactions for a hole (with those that had to wait). */
  readonly stats = { delivered: 0, reads: 0, holeChecks: 0, holds: 0 };
  private m;

  constructor(private o: LogTailOptions) {
    this.m = o.metrics && {
      delay: o.metrics.histogram(
        'storeflow_log_tail_delay_seconds',
        "From an event's append (its recorded_at, the database's clock) to the log tail handing it to the gateway's streams",
        [],
        [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      ),
      lag: o.metrics.gauge(
        'storeflow_log_tail_lag_seconds',
        'How far the log tail is behind the log: how long ago the log had taken the positions the tail has read up to (0: caught up; grows while it waits for an open transaction)',
      ),
      delivered: o.metrics.counter('storeflow_log_tail_events_total', 'Events the log tail read and handed on'),
    };
  }

  /** The last position handed on: every committed event up to it has been delivered. */
  get position(): number {
    return this.cursor;
  }

  /** A position up to which the log is final (postgres-log-settled.ts). */
  settledHead(): Promise<number> {
    return settledHead(this.o.db);
  }

  /** From where the log is final now on. */
  async start(): Promise<void> {
    this.cursor = await this.settledHead();
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
    const client = new pg.Client({ connectionString: this.o.url, idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS });
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

  /** A notification (or the slow poll): something may have committed. */
  private wake() {
    this.notified = true;
    if (this.holding) return; // its timer reads next
    this.run();
  }

  private run() {
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
          this.run();
        }
      });
  }

  /** Rounds, each up to the highest position taken when it began, for as long as commits keep being notified. */
  private async drain() {
    const size = this.o.pageSize ?? 5000;
    let fullPage = false; // the last read filled its page: read on before looking at the writers again
    while (!this.stopped) {
      if (!this.bound) {
        this.notified = false;
        const { position: to, at } = await takenHead(this.o.db);
        if (this.cursor >= to) {
          this.m?.lag.set(0);
          if (this.notified) continue;
          return;
        }
        this.bound = { to, at, since: Date.now() };
      }
      const b = this.bound;
      if (b.writers && !b.final && !fullPage) {
        // holding at a hole: until the transactions writing when it was found have ended; as each ends, the run its
        // commit completed goes out at once
        const waiting = b.writers.length;
        b.writers = await stillOpen(this.o.db, b.writers);
        this.m?.lag.set((Date.now() - b.since) / 1000);
        if (b.writers.length === waiting) return this.hold();
        // all ended: this read shows every commit up to the bound; what is missing was rolled back
        if (b.writers.length === 0) b.final = true;
      }
      const rows = await this.o.eventLog.read({ fromPosition: this.cursor + 1, toPosition: b.to, limit: size });
      this.stats.reads++;
      let n = rows.length;
      if (!b.final) for (n = 0; n < rows.length && rows[n].position === this.cursor + 1 + n; ) n++;
      if (n) {
        this.cursor = rows[n - 1].position;
        this.deliver(rows.slice(0, n));
      }
      fullPage = n === size;
      if (fullPage) continue;
      if (b.final || this.cursor >= b.to) {
        this.cursor = b.to;
        this.bound = undefined;
        this.m?.lag.set((Date.now() - b.since) / 1000);
        if (this.notified) continue; // committed during this round: the next one
        return;
      }
      // a hole: a transaction still open (wait for it, and only for those writing now) or a rollback (no wait)
      if (b.writers === undefined) {
        this.stats.holeChecks++;
        b.writers = await openWriters(this.o.db, b.at);
        if (b.writers.length === 0) {
          b.final = true;
          continue;
        }
      }
      return this.hold();
    }
  }

  private hold() {
    this.stats.holds++;
    this.holding = true;
    this.later(() => {
      this.holding = false;
      this.run();
    }, this.o.holdPollMs ?? 5);
  }

  private deliver(batch: LoggedEvent[]) {
    this.stats.delivered += batch.length;
    if (this.m) {
      const now = Date.now();
      this.m.delivered.inc(batch.length);
      for (const e of batch) this.m.delay.observe(Math.max(0, now - e.recordedAt) / 1000);
    }
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.o.log.error({ err }, 'log tail listener failed');
      }
    }
  }
}
