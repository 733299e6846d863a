/**
 * `npm run bench:log`: what reading the log in commit order (docs/log-readers.md) costs the writers and gives the
 * readers, on DATABASE_URL or an embedded PostgreSQL in a temporary folder. The baseline, measured in the same run,
 * is today's reading without the rule: a reader that reads what is there at each notification and passes every hole
 * at once (fast, but it skips a transaction that commits late).
 * - Appends: writers (each with its own pool and group commit, as replicas are) appending as fast as they can while
 *   a reader follows the log: the commit-ordered tail, against the baseline reader. For comparison, the rule not
 *   chosen: positions serialised by a transaction-scoped advisory lock held from the first position to the commit
 *   (with it the baseline reader is correct). Settings alternate, medians.
 * - Delay: 3 writers at a fixed rate each, a share of their group commits lost to a unique-key race first (one
 *   statement that takes positions and fails), and a reader: each event's delay from its append resolving to the
 *   reader handing it on, and whether every committed event came once, in position order.
 * - Recovery: open visits recovered from snapshots, against the same from their events (scripts/bench-log-recovery.ts).
 *   npm run bench:log -- [--rounds N] [--seconds S] [--tail-seconds S] [--rate R] [--rollback F] [--visits N] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { cli } from './cli.ts';
import { JSON_OPTION, printBenchJson, type BenchRow } from './bench-report.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { connectDatabase, migrate, sql, type ConnectionPool, type Database } from '../adapters/edges/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/edges/embedded-postgres.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { PostgresLogTail } from '../adapters/edges/postgres-log-tail.ts';
import type { LoggedEvent, NewEvent } from '../actors/kernel/event-log.ts';
import { recoveryCase } from './bench-log-recovery.ts';

const { values, int, num } = cli({
  usage: 'npm run bench:log -- [--rounds N] [--seconds S] [--tail-seconds S] [--rate R] [--rollback F] [--visits N] [--json]',
  summary: 'The event log read in commit order: what it costs appends and how far the tail runs behind a commit, against a reader that passes holes at once.',
  options: {
    rounds: { type: 'string', arg: 'N', help: 'append rounds per setting, the settings alternating; medians (default 3)' },
    seconds: { type: 'string', arg: 'S', help: 'length of one append round (default 2)' },
    'tail-seconds': { type: 'string', arg: 'S', help: 'length of each delay run (default 5)' },
    rate: { type: 'string', arg: 'R', help: 'events/s per writer in the delay runs (default 1000)' },
    rollback: { type: 'string', arg: 'F', help: 'share of group commits lost to a race first in the delay runs (default 0.1)' },
    visits: { type: 'string', arg: 'N', help: 'open visits recovered from snapshots in the recovery case (default 20000; 0: no recovery case)' },
    ...JSON_OPTION,
  },
  more: 'environment: DATABASE_URL (else an embedded PostgreSQL in a temporary folder)',
});
const ROUNDS = int('rounds', 3, { min: 1 }),
  SECONDS = num('seconds', 2, { min: 0.2 }),
  TAIL_SECONDS = num('tail-seconds', 5, { min: 0.5 }),
  RATE = num('rate', 1000, { min: 10 }),
  ROLLBACK = num('rollback', 0.1, { min: 0, max: 1 }),
  VISITS = int('visits', 20_000, { min: 0 });
const WRITERS = 3;
const IN_FLIGHT = 100; // appends each writer keeps waiting in the append-rate runs: what a busy replica's group commit holds

const log = createLogger({ level: 'warn' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

let n = 0;
/** A focus as the recommender logs it: its customer's stream, its own id. */
const focus = (writer: number): NewEvent => {
  const k = n++;
  return {
    streamId: `customer-${k % 5000}`,
    type: 'focus',
    data: { id: String(k % 5000), ts: 1_748_736_000 + k, dep: 'Men' },
    metadata: { source: 'bench' },
    messageId: `w${writer}-${k}`,
  };
};

/** A writer whose group commits, a `share` of the time, first lose a race: one INSERT that takes positions, then fails. */
class LosingWriter extends PostgresEventLog {
  lost = 0;
  constructor(
    private pool: ConnectionPool,
    private share: number,
  ) {
    super(pool, { log });
  }
  protected override async insert(events: NewEvent[]): Promise<LoggedEvent[]> {
    if (Math.random() < this.share) {
      const race = `race-${randomBytes(6).toString('hex')}`;
      // as many rows as the batch, then one more on the first row's (stream, version): a unique violation
      await this.pool
        .query(sql`INSERT INTO events (stream_id, version, type, data)
          SELECT ${race} || g, 1, 'focus', '{}'::jsonb FROM generate_series(1, ${events.length}) g UNION ALL SELECT ${race} || 1, 1, 'focus', '{}'::jsonb`)
        .then(
          () => Promise.reject(new Error('the race was not lost')),
          () => {},
        );
      this.lost++;
    }
    return super.insert(events);
  }
}

interface Reader {
  stop(): Promise<void>;
  holds: () => number;
  position: () => number;
}

/** Today's reading without the rule: at each notification, what follows the last position, every hole passed at once. */
async function baselineReader(d: Database, seen: (batch: LoggedEvent[]) => void): Promise<Reader> {
  const eventLog = new PostgresEventLog(d.db, { log });
  let cursor = await eventLog.head();
  let reading: Promise<void> | undefined;
  let again = false;
  const wake = () => {
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        const rows = await eventLog.read({ fromPosition: cursor + 1, limit: 5000 });
        if (rows.length) {
          cursor = rows[rows.length - 1].position;
          seen(rows);
        }
      } while (again);
    })().finally(() => (reading = undefined));
  };
  const client = new pg.Client({ connectionString: url });
  client.on('notification', () => wake());
  await client.connect();
  await client.query('LISTEN storeflow_events');
  return {
    holds: () => 0,
    position: () => cursor,
    async stop() {
      await client.end();
      await reading;
    },
  };
}

/** The commit-ordered tail. */
async function orderedReader(d: Database, seen: (batch: LoggedEvent[]) => void): Promise<Reader> {
  const tail = new PostgresLogTail({ url, schema: d.schema, eventLog: new PostgresEventLog(d.db, { log }), db: d.db, log });
  tail.subscribe(seen);
  await tail.start();
  return { holds: () => tail.stats.holds, position: () => tail.position, stop: () => tail.stop() };
}

const pgHome = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'storeflow-bench-log-'));
const embedded: EmbeddedPostgres | undefined = pgHome ? await startEmbeddedPostgres({ dataDir: join(pgHome, 'pg'), log }) : undefined;
const url = process.env.DATABASE_URL || (embedded?.url ?? '');
const tag = `bench_log_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];
const connect = (name: string, poolSize = 2): Promise<Database> => connectDatabase(url, `${tag}_${name}`, log, poolSize);

/**
 * A fresh log in its own schema; with `lock`, the rule not chosen: every INSERT first takes a transaction-scoped
 * advisory lock (a statement trigger, before any row takes a position), so positions are taken in commit order.
 */
async function freshLog(name: string, lock = false): Promise<void> {
  schemas.push(`${tag}_${name}`);
  const d = await connect(name, 1);
  try {
    await migrate(d.db, log);
    if (lock)
      await d.db.query(sql`
        CREATE FUNCTION bench_position_lock() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.positions')); RETURN NULL; END $$;
        CREATE TRIGGER bench_position_lock BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION bench_position_lock();`);
  } finally {
    await d.close();
  }
}

type ReaderKind = typeof baselineReader;

/** Events/s `writers` writers append together for SECONDS, each keeping IN_FLIGHT appends waiting, while `reader` follows. */
async function appendRate(name: string, writers: number, reader: ReaderKind): Promise<number> {
  const dbs = await Promise.all(Array.from({ length: writers + 1 }, () => connect(name)));
  const r = await reader(dbs[writers], () => {});
  try {
    const logs = dbs.slice(0, writers).map((d) => new PostgresEventLog(d.db, { log }));
    let count = 0;
    const until = performance.now() + SECONDS * 1000;
    const t0 = performance.now();
    await Promise.all(
      logs.flatMap((l, w) =>
        Array.from({ length: IN_FLIGHT }, async () => {
          while (performance.now() < until) {
            await l.append([focus(w)]);
            count++;
          }
        }),
      ),
    );
    return count / ((performance.now() - t0) / 1000);
  } finally {
    await r.stop();
    await Promise.all(dbs.map((d) => d.close()));
  }
}

interface DelayRun {
  delays: number[];
  committed: number;
  delivered: number;
  /** Delivered positions are exactly the log's, in order, each once. */
  exact: boolean;
  lost: number;
  commits: number;
  /** Mean time of a group commit (ms), as its writer saw it. */
  commitMs: number;
  holds: number;
}

/** WRITERS writers at RATE events/s each for TAIL_SECONDS, ROLLBACK of their group commits losing a race first; one reader. */
async function delayRun(name: string, reader: ReaderKind): Promise<DelayRun> {
  const dbs = await Promise.all(Array.from({ length: WRITERS + 1 }, () => connect(name)));
  const received = new Map<number, number>();
  const order: number[] = [];
  const r = await reader(dbs[WRITERS], (batch) => {
    const t = performance.now();
    for (const e of batch) {
      received.set(e.position, t);
      order.push(e.position);
    }
  });
  const writers = dbs.slice(0, WRITERS).map((d) => new LosingWriter(d.db, ROLLBACK));
  const resolved = new Map<number, number>();
  try {
    const t0 = performance.now();
    const appends: Promise<void>[] = [];
    await Promise.all(
      writers.map(async (w, i) => {
        let sent = 0;
        // every 10 ms, the appends the rate asks for by now: about one group commit per tick, as a paced replica makes
        while (performance.now() - t0 < TAIL_SECONDS * 1000) {
          const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
          for (; sent < due; sent++) appends.push(w.append([focus(i)]).then(([e]) => void resolved.set(e.position, performance.now())));
          await sleep(10);
        }
      }),
    );
    await Promise.all(appends);
    const last = Math.max(...resolved.keys());
    const until = performance.now() + 10_000;
    while (r.position() < last && performance.now() < until) await sleep(20);
    const logged = (await dbs[WRITERS].db.query(sql`SELECT position FROM events ORDER BY position`)).map((x) => Number(x.position));
    return {
      // of the events delivered (a reader that passes holes skips some: counted apart)
      delays: [...resolved]
        .filter(([p]) => received.has(p))
        .map(([p, t]) => Math.max(0, (received.get(p) ?? t) - t))
        .sort((a, b) => a - b),
      committed: resolved.size,
      delivered: order.length,
      exact: order.length === logged.length && order.every((p, i) => p === logged[i]),
      lost: writers.reduce((s, w) => s + w.lost, 0),
      commits: writers.reduce((s, w) => s + w.stats.batches, 0),
      commitMs:
        writers.reduce((s, w) => s + w.stats.writeMs, 0) /
        Math.max(
          1,
          writers.reduce((s, w) => s + w.stats.batches, 0),
        ),
      holds: r.holds(),
    };
  } finally {
    await r.stop();
    await Promise.all(dbs.map((d) => d.close()));
  }
}

const rows: BenchRow[] = [];
try {
  const SETTINGS = [
    { name: 'baseline', what: 'the baseline reader', reader: baselineReader, lock: false },
    { name: 'ordered', what: 'the commit-ordered tail', reader: orderedReader, lock: false },
    { name: 'lock', what: 'positions serialised by a lock (not chosen), the baseline reader', reader: baselineReader, lock: true },
  ] as const;
  for (const s of SETTINGS) await freshLog(s.name, s.lock);
  console.log(`appends: ${IN_FLIGHT} waiting appends per writer, ${SECONDS} s rounds, ${ROUNDS} rounds, PostgreSQL ${pgHome ? 'embedded' : 'external'}`);
  for (const writers of [1, WRITERS]) {
    const rates: Record<string, number[]> = { baseline: [], ordered: [], lock: [] };
    for (let r = 0; r < ROUNDS; r++)
      for (let k = 0; k < SETTINGS.length; k++) {
        const s = SETTINGS[(k + r) % SETTINGS.length]; // each round starts with the next setting
        const rate = await appendRate(s.name, writers, s.reader);
        rates[s.name].push(rate);
        console.log(`  ${writers} writer(s), ${s.what}: ${fmt(rate)} events/s`);
      }
    const [ordered, base, lock] = [median(rates.ordered), median(rates.baseline), median(rates.lock)];
    console.log(
      `${writers} writer(s): ${fmt(ordered)} events/s read in commit order, ${fmt(base)} with the baseline reader: ratio ${(ordered / base).toFixed(2)} (target ≥ 0.90); ` +
        `serialised by a lock ${fmt(lock)}: ratio ${(lock / base).toFixed(2)}`,
    );
    rows.push({
      figure: `log: appends, ${writers} writer${writers > 1 ? 's' : ''} (own pools), while the tail reads in commit order`,
      value: Math.round(ordered),
      unit: 'events/s',
      baseline: { what: 'the same, read without the rule', value: Math.round(base) },
      ratio: Math.round((ordered / base) * 100) / 100,
      target: '≥ 0.9 of the baseline',
      met: ordered / base >= 0.9,
      note: `positions serialised by a lock instead (not chosen): ${fmt(lock)} events/s, ${(lock / base).toFixed(2)}`,
    });
  }
  const runs: Record<string, DelayRun> = {};
  for (const s of SETTINGS.slice(0, 2)) {
    await freshLog(`delay_${s.name}`);
    const r = await delayRun(`delay_${s.name}`, s.reader);
    runs[s.name] = r;
    console.log(
      `${s.what}, ${WRITERS} writers × ${fmt(RATE)} events/s, ${r.lost} of ${r.commits} group commits lost a race first (a commit: ${r.commitMs.toFixed(1)} ms mean), ${r.holds} waits at a hole: ` +
        `delay p50 ${quantile(r.delays, 0.5).toFixed(1)} ms, p99 ${quantile(r.delays, 0.99).toFixed(1)} ms, max ${r.delays.at(-1)?.toFixed(1)} ms; ` +
        `${fmt(r.delivered)} delivered of ${fmt(r.committed)} committed, ${r.exact ? 'exactly the log, in order' : `NOT EXACTLY THE LOG (${fmt(r.committed - r.delivered)} missing)`}`,
    );
  }
  const [p99, base] = [quantile(runs.ordered.delays, 0.99), quantile(runs.baseline.delays, 0.99)];
  rows.push({
    figure: `log tail: delay behind a commit, p99, ${WRITERS} writers × ${fmt(RATE)} events/s, ${Math.round(ROLLBACK * 100)} % of group commits rolled back`,
    value: Math.round(p99 * 10) / 10,
    unit: 'ms',
    baseline: { what: 'a reader that passes every hole at once (of the events it delivered)', value: Math.round(base * 10) / 10 },
    added: Math.round((p99 - base) * 10) / 10,
    target: '< 50 ms, every committed event once, in order',
    met: p99 < 50 && runs.ordered.exact,
    note:
      `${fmt(runs.ordered.delivered)} of ${fmt(runs.ordered.committed)} delivered, ${runs.ordered.exact ? 'exactly the log, in order' : 'NOT exactly the log'}; ` +
      `the baseline reader missed ${fmt(runs.baseline.committed - runs.baseline.delivered)}; a group commit took ${runs.ordered.commitMs.toFixed(0)} ms`,
  });
  if (!runs.ordered.exact) process.exitCode = 1;
  if (VISITS > 0) rows.push(await recoveryCase(url, `${tag}_recovery`, VISITS, ROUNDS, log, schemas));
  if (values.json)
    printBenchJson({
      bench: 'log',
      setting: `appends ${ROUNDS} × ${SECONDS} s per setting, delay ${TAIL_SECONDS} s per reader, PostgreSQL ${pgHome ? 'embedded' : 'external'}`,
      rows,
    });
} finally {
  const d = await connectDatabase(url, 'public', log, 1);
  for (const s of schemas) await d.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(s)} CASCADE`).catch(() => {});
  await d.close();
  await embedded?.stop();
  if (pgHome) rmSync(pgHome, { recursive: true, force: true });
}
