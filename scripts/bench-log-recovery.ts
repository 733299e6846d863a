/**
 * `npm run bench:log`'s recovery case (`--visits N`) (docs/snapshots.md): a log filled with SQL (not through the app) with `visits`
 * open visits of 20 focuses each, every session snapshotted at its 18th focus, then the recommender started on it
 * (no broker) three times: the time until it is ready to decide (the role's own figure: open visits found, snapshots read,
 * sessions restored or deferred to their first need, the inputs of those restored run again) with the process's CPU time
 * meanwhile, and the time until every deferred session is made too (between inputs, after ready); from the snapshots
 * and, as the baseline measured in the same run, with the snapshots of another machine version (ignored: every visit
 * made from its events, none deferred).
 */
import { createActor } from 'xstate';
import { Writable } from 'node:stream';
import { parseConfig } from '../schemas/env.ts';
import { createLogger, type Logger } from '../adapters/process/logger.ts';
import { startStoreflow } from '../adapters/process/app.ts';
import { connectDatabase, migrate, sql, type Database } from '../adapters/edges/database.ts';
import { sessionMachine } from '../machines/session.ts';
import { SESSION_MACHINE } from '../adapters/recommender/session-snapshot.ts';
import type { CustomerInfo } from '../actors/data/store-data.ts';
import type { BenchRow } from './bench-report.ts';

const FOCUSES = 20;
/** The focus each session was snapshotted at (its decision follows it). */
const SNAPSHOT_AT = 18;
const TS = 1_748_736_000;

/** A session at rest as a snapshot keeps it: ready, ten coupons offered, a full path. */
function restingSession(): unknown {
  const customer: CustomerInfo = {
    customer_id: 1,
    gender: 'F',
    age: 40,
    mean_buy_price: 50,
    total_coupons_used: 3,
    mean_discount_received: 10,
    unique_products_bought: 20,
    unique_products_bought_with_coupons: 4,
    total_items_bought: 30,
  };
  const actor = createActor(sessionMachine, { input: { customerId: '1', idleTimeoutS: 7200, customer, scorerAtOnce: true } }).start();
  const state = actor.getPersistedSnapshot() as unknown as { context: Record<string, unknown> };
  actor.stop();
  const path = Array.from({ length: 50 }, (_, i) => ({ state: i % 2 ? 'ready' : 'scoring', ts: TS + 60 * i }));
  return { ...state, context: { ...state.context, offered: Array.from({ length: 10 }, (_, i) => 100 + i), lastTs: TS + 60 * SNAPSHOT_AT, path } };
}

/** The customers, and the log: per customer an entry, FOCUSES focuses each followed by its decision, a snapshot after the SNAPSHOT_AT-th. */
async function fill(d: Database, visits: number): Promise<void> {
  // the customers, in customer_info as a store has them (the recommender holds them in memory)
  await d.db.query(sql`
    INSERT INTO customer_info SELECT c, 'F', 40, 50, 3, 10, 20, 4, 30 FROM generate_series(1, ${visits}::int) c`);
  await d.db.query(sql`
    INSERT INTO events (stream_id, version, type, data, metadata, message_id)
    SELECT 'customer-' || c, 1, 'entry', jsonb_build_object('id', c::text, 'ts', ${TS}::bigint), '{"source":"mqtt"}', 'e-' || c
    FROM generate_series(1, ${visits}::int) c`);
  // a focus at version 2k, its decision at 2k + 1
  await d.db.query(sql`
    INSERT INTO events (stream_id, version, type, data, metadata, message_id)
    SELECT 'customer-' || c, 2 * k + x,
           CASE x WHEN 0 THEN 'focus' ELSE 'no_prediction' END,
           CASE x WHEN 0 THEN jsonb_build_object('id', c::text, 'ts', ${TS}::bigint + 60 * k, 'dep', 'Men')
                  ELSE jsonb_build_object('customer_id', c::text, 'ts', ${TS}::bigint + 60 * k, 'reason', 'below_threshold') END,
           CASE x WHEN 0 THEN '{"source":"mqtt"}'::jsonb ELSE jsonb_build_object('source', 'output', 'cause', 'f-' || c || '-' || k) END,
           CASE x WHEN 0 THEN 'f-' || c || '-' || k ELSE 'f-' || c || '-' || k || ':no_prediction' END
    FROM generate_series(1, ${visits}::int) c, generate_series(1, ${FOCUSES}::int) k, generate_series(0, 1) x
    ORDER BY c, k, x`);
  await d.db.query(sql`
    INSERT INTO snapshots (stream_id, machine, machine_version, version, state)
    SELECT 'customer-' || c, ${SESSION_MACHINE.machine}::text, ${SESSION_MACHINE.version}::text, ${2 * SNAPSHOT_AT}::int,
           jsonb_set(${JSON.stringify(restingSession())}::text::jsonb, '{context,customerId}', to_jsonb(c::text))
    FROM generate_series(1, ${visits}::int) c`);
  await d.db.query(sql`ANALYZE`);
}

interface Recovered {
  /** Ready to decide: the open visits read, the sessions made or deferred, the inputs of those made run again. */
  ms: number;
  /** The process's CPU time meanwhile (what `ms` is on a machine to itself). */
  cpuMs: number;
  /** Every session made, the deferred ones too (made between inputs after ready). */
  allMs: number;
  sessions: number;
  fromSnapshots: number;
  deferred: number;
  inputs: number;
}

/** The recommender started on the log, no broker: what its recovery said. */
async function recoverOnce(url: string, schema: string, log: Logger): Promise<Recovered> {
  const lines: string[] = [];
  const capture = createLogger({
    level: 'info',
    json: true,
    stdout: false,
    stream: new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
  const env = { DATABASE_URL: url, DATABASE_SCHEMA: schema, ROLES: 'recommender', TESTING_NO_MQTT: 'true', PORT: '0', LOG_LEVEL: 'info', AUTO_SEED: 'false' };
  const r = parseConfig(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  const app = await startStoreflow(r.config, capture, { port: 0, webDir: false });
  type Line = { msg: string; processor?: string; ms?: number; cpuMs?: number } & Partial<Recovered>;
  const said = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
  const sessions = said().find((l) => l.msg === 'live sessions recovered from the event log');
  // the deferred sessions are made after ready, between inputs: their end is waited for (and said beside ready)
  const until = performance.now() + 300_000;
  while (sessions?.deferred && !said().some((l) => l.msg === 'deferred sessions made') && performance.now() < until)
    await new Promise((ok) => setTimeout(ok, 20));
  await app.stop();
  // ready: the open visits read, the sessions made or deferred, the inputs of those made run again through the engine
  const done = said().find((l) => l.msg === 'recovered: open visits read, restored and run again' && l.processor === 'recommender');
  const made = said().find((l) => l.msg === 'deferred sessions made');
  if (!sessions || !done) {
    log.warn({ lines: lines.slice(-5) }, 'no recovery line');
    throw new Error('the recommender recovered nothing');
  }
  const ms = done.ms ?? 0;
  // the sessions' own timer starts before the pipeline's line is said: every session made is the later of the two
  const allMs = made ? Math.max(ms, made.ms ?? 0) : ms;
  return {
    ms,
    cpuMs: done.cpuMs ?? 0,
    allMs,
    sessions: sessions.sessions ?? 0,
    fromSnapshots: sessions.fromSnapshots ?? 0,
    deferred: sessions.deferred ?? 0,
    inputs: sessions.inputs ?? 0,
  };
}

export interface RecoveryBench {
  visits: number;
  fillS: number;
  fromSnapshots: Recovered[];
  fromEvents: Recovered[];
}

/** `rounds` recoveries from the snapshots and as many from the events, alternating, on a log of `visits` open visits. */
export async function benchRecovery(url: string, schema: string, visits: number, rounds: number, log: Logger): Promise<RecoveryBench> {
  const d = await connectDatabase(url, schema, log, 2);
  const fromSnapshots: Recovered[] = [];
  const fromEvents: Recovered[] = [];
  let fillS = 0;
  try {
    await migrate(d.db, log);
    const t0 = performance.now();
    await fill(d, visits);
    fillS = (performance.now() - t0) / 1000;
    for (let r = 0; r < rounds; r++) {
      fromSnapshots.push(await recoverOnce(url, schema, log));
      // another machine version's snapshots: ignored, every visit made from its events
      await d.db.query(sql`UPDATE snapshots SET machine_version = 'another.0'`);
      fromEvents.push(await recoverOnce(url, schema, log));
      await d.db.query(sql`UPDATE snapshots SET machine_version = ${SESSION_MACHINE.version}::text`);
    }
  } finally {
    await d.close();
  }
  return { visits, fillS, fromSnapshots, fromEvents };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The case, run and said (a line, and its row of `--json`: medians, the target < 2 s); its schema joins `schemas` (dropped after). */
export async function recoveryCase(url: string, schema: string, visits: number, rounds: number, log: Logger, schemas: string[]): Promise<BenchRow> {
  schemas.push(schema);
  const r = await benchRecovery(url, schema, visits, rounds, log);
  const [snap, events] = [median(r.fromSnapshots.map((x) => x.ms)), median(r.fromEvents.map((x) => x.ms))];
  const [snapCpu, eventsCpu] = [median(r.fromSnapshots.map((x) => x.cpuMs)), median(r.fromEvents.map((x) => x.cpuMs))];
  const snapAll = median(r.fromSnapshots.map((x) => x.allMs));
  const [s0, e0] = [r.fromSnapshots[0], r.fromEvents[0]];
  console.log(
    `recovery: ${fmt(r.visits)} open visits (filled with SQL in ${r.fillS.toFixed(1)} s): from snapshots ready in ${fmt(snap)} ms (CPU ${fmt(snapCpu)} ms; ` +
      `${fmt(s0.sessions)} sessions, ${fmt(s0.fromSnapshots)} from snapshots, ${fmt(s0.deferred)} of them made after ready, every one made by ${fmt(snapAll)} ms; ` +
      `${fmt(s0.inputs)} inputs run again before ready), from events ${fmt(events)} ms (CPU ${fmt(eventsCpu)} ms; ${fmt(e0.inputs)} inputs run again): ` +
      `ratio ${(snap / events).toFixed(2)}; target < 2,000 ms ${snap < 2000 ? 'met' : 'NOT met'} ` +
      `(rounds, ready / every session made / from events: ${r.fromSnapshots.map((x) => fmt(x.ms)).join(', ')} / ${r.fromSnapshots.map((x) => fmt(x.allMs)).join(', ')} / ${r.fromEvents.map((x) => fmt(x.ms)).join(', ')})`,
  );
  return {
    figure: `log: ${fmt(r.visits)} open visits recovered from snapshots (the recommender's start, ready to decide: read, restored or deferred, run again)`,
    value: Math.round(snap),
    unit: 'ms',
    baseline: { what: 'the same visits made from their events (snapshots of another machine version)', value: Math.round(events) },
    ratio: Math.round((snap / events) * 100) / 100,
    target: '< 2,000 ms',
    met: snap < 2000 && s0.fromSnapshots === r.visits,
    note: `CPU ${fmt(snapCpu)} ms (from events ${fmt(eventsCpu)} ms); ${fmt(s0.deferred)} sessions made after ready, every one by ${fmt(snapAll)} ms`,
  };
}
