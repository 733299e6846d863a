/**
 * `npm run bench:replicas`: the recommender as 1, 2 and 3 replicas (separate processes, one GROUP_ID: an MQTT shared
 * subscription) on the machine's Mosquitto and PostgreSQL (MQTT_URL, DATABASE_URL), each count in a schema of its
 * own. Per count: sustained focus→prediction throughput (closed loop), p50/p99 at a fixed rate, CPU per focus in each
 * replica, and what replicas cost each other: sessions rebuilt from the log (a customer first seen mid-visit) and
 * decisions refused by the log (another replica got ahead). The load is scripts/bench-load.ts, as for bench:recommender.
 *   npm run bench:replicas -- [--count 20000] [--rate 500] [--seconds 10] [--replicas 1,2,3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import type { LoadResult } from './bench-load.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { connectDatabase, migrate, sql } from '../adapters/edges/database.ts';
import { ensureStoreData } from '../adapters/edges/store-data.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { countSince } from '../adapters/dashboard/log-counts.ts';
import { configFrom } from '../schemas/env.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { JSON_OPTION, printBenchJson, type BenchRow } from './bench-report.ts';

const { int, num, values, fail } = cli({
  usage: 'npm run bench:replicas -- [--count N] [--rate R] [--seconds S] [--replicas 1,2,3] [--json]',
  summary: "The recommender as 1, 2 and 3 replicas in one GROUP_ID on the machine's Mosquitto and PostgreSQL (MQTT_URL, DATABASE_URL).",
  options: {
    count: { type: 'string', arg: 'N', help: 'focus events of the sustained run (default 20000)' },
    rate: { type: 'string', arg: 'R', help: 'focus events/s of the latency run (default 500)' },
    seconds: { type: 'string', arg: 'S', help: 'length of the latency run (default 10)' },
    replicas: { type: 'string', arg: 'LIST', help: 'replica counts to run (default 1,2,3)' },
    ...JSON_OPTION,
  },
});
const COUNT = int('count', 20_000, { min: 1 }),
  RATE = num('rate', 500, { min: 1 }),
  SECONDS = num('seconds', 10, { min: 1 });
const COUNTS = (values.replicas ?? '1,2,3').split(',').map(Number);
if (!COUNTS.every((n) => Number.isInteger(n) && n >= 1 && n <= 8)) fail('--replicas: a list of counts from 1 to 8, e.g. 1,2,3');
const DATABASE_URL = process.env.DATABASE_URL;
const MQTT_URL = process.env.MQTT_URL;
if (!DATABASE_URL || !MQTT_URL) {
  console.log(
    'bench:replicas needs a shared PostgreSQL and an MQTT broker with shared subscriptions: set DATABASE_URL and MQTT_URL (the embedded broker has none)',
  );
  if (values.json) printBenchJson({ bench: 'replicas', setting: 'skipped: DATABASE_URL and MQTT_URL not set', rows: [] });
  process.exit(0);
}
// not a multiple of 2 or 3: the broker's round robin sends a customer's consecutive events to different replicas (the
// case replicas on MQTT must handle; a count dividing it would keep each customer on one replica by chance)
const CUSTOMERS = 4999;
const FIRST_TS = 1748736000; // 2025-06-01, inside the generated coupons' window
const log = createLogger({ level: 'warn' });
const TICK = 100; // clock ticks per second in /proc/<pid>/stat

function load(args: object): Promise<LoadResult> {
  return new Promise((ok, bad) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bench-load.ts'), JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? ok(JSON.parse(out.trim().split('\n').pop() ?? '')) : bad(new Error(`load process exited ${code}`))));
  });
}

/** CPU seconds a process has used (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

const rows: string[] = [];
const figures: BenchRow[] = [];
let single: number | undefined;
for (const n of COUNTS) {
  const schema = `bench_replicas_${process.pid}_${n}`;
  const prefix = `${schema}/`;
  const env = { DATABASE_URL, MQTT_URL, MQTT_PROTOCOL_VERSION: '5', DATABASE_SCHEMA: schema, MQTT_TOPIC_PREFIX: prefix, GROUP_ID: schema };
  const config = configFrom({ ...env, ROLES: 'recommender', PREDICTION_THRESHOLD: '0', LOG_LEVEL: 'warn' });
  const database = await connectDatabase(DATABASE_URL, schema, log);
  await migrate(database.db, log);
  await ensureStoreData(database, config, log, { customers: CUSTOMERS });
  // read only (the replicas write it): the entries logged so far
  const eventLog = new PostgresEventLog(database.db, { log });
  const replicas: { child: ChildProcess; port: number }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        env: {
          PATH: process.env.PATH ?? '',
          ...env,
          MQTT_CLIENT_ID: `${schema}-r${i}`,
          PORT: String(port),
          ROLES: 'recommender',
          PREDICTION_THRESHOLD: '0',
          LOG_LEVEL: 'warn',
          AUTO_SEED: 'false',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      replicas.push({ child, port });
    }
    for (const r of replicas) {
      const deadline = Date.now() + 90_000;
      while ((await fetch(`http://127.0.0.1:${r.port}/readyz`).catch(() => null))?.status !== 200) {
        if (Date.now() > deadline) throw new Error('a replica did not get ready in 90 s');
        await new Promise((ok) => setTimeout(ok, 200));
      }
    }
    const topics = config.topics;
    const base = {
      broker: MQTT_URL,
      protocolVersion: 5,
      topics: { enter: topics.enter, focus: topics.focus, prediction: topics.prediction },
      customers: CUSTOMERS,
    };
    await load({ ...base, count: 0, rate: 0, entries: true, firstTs: FIRST_TS });
    // every entry in the log before focus events are timed (or as many as the broker delivered: the machine's
    // Mosquitto keeps its default max_queued_messages of 1,000 per client and drops what a burst puts beyond it)
    let entries = 0;
    for (let stable = 0; stable < 15 && entries < CUSTOMERS; ) {
      await new Promise((ok) => setTimeout(ok, 200));
      const k = await countSince(eventLog, 'entry', 0, Number.MAX_SAFE_INTEGER);
      stable = k === entries ? stable + 1 : 0;
      entries = k;
    }
    if (entries < CUSTOMERS)
      console.log(`${n} replica(s): ${CUSTOMERS - entries} of ${CUSTOMERS} entries never reached storeflow (dropped by the broker's queue limit)`);
    const cpu0 = replicas.map((r) => cpuSeconds(must(r.child.pid, 'a replica pid')));
    const burst = await load({ ...base, count: COUNT, rate: 0, window: 1000, entries: false, firstTs: FIRST_TS });
    const cpu = replicas.map((r, i) => cpuSeconds(must(r.child.pid, 'a replica pid')) - cpu0[i]);
    const steady = await load({ ...base, count: RATE * SECONDS, rate: RATE, entries: false, firstTs: FIRST_TS + Math.ceil(COUNT / CUSTOMERS) + 10 });
    const rebuilt = await Promise.all(replicas.map((r) => metric(r.port, 'storeflow_sessions_rebuilt_total')));
    const refused = await Promise.all(replicas.map((r) => metric(r.port, 'storeflow_outputs_refused_total')));
    const focuses = COUNT + RATE * SECONDS;
    const first: number = single ?? burst.rate;
    single = first;
    const cpuPerFocus = cpu.map((s) => Math.round((s * 1e6) / COUNT));
    const row = `${n} | ${Math.round(burst.rate)}/s | ${(burst.rate / first).toFixed(2)} | ${steady.p50.toFixed(1)} / ${steady.p99.toFixed(1)} ms | ${cpuPerFocus.join(' + ')} = ${cpuPerFocus.reduce((a, b) => a + b, 0)} µs | ${rebuilt.reduce((a, b) => a + b, 0)} (${((100 * rebuilt.reduce((a, b) => a + b, 0)) / focuses).toFixed(1)} %) | ${refused.reduce((a, b) => a + b, 0)}`;
    rows.push(row);
    figures.push({
      figure: `recommender replicas (MQTT shared subscription): ${n}, sustained`,
      value: Math.round(burst.rate),
      unit: '/s',
      ...(n === COUNTS[0] ? {} : { baseline: { what: `${COUNTS[0]} replica(s)`, value: Math.round(first) }, ratio: burst.rate / first }),
      note: `p99 ${steady.p99.toFixed(1)} ms at ${RATE}/s; ${rebuilt.reduce((a, b) => a + b, 0)} sessions rebuilt`,
    });
    console.log(
      `${n} replica(s): sustained ${Math.round(burst.rate)} focus→prediction/s (${burst.received}/${burst.sent}); at ${RATE}/s p50 ${steady.p50.toFixed(1)} ms, p99 ${steady.p99.toFixed(1)} ms (${steady.received}/${steady.sent}); CPU per focus per replica ${cpuPerFocus.join(', ')} µs; sessions rebuilt ${rebuilt.join(', ')}; decisions refused ${refused.join(', ')}`,
    );
  } finally {
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => new Promise((ok) => (r.child.exitCode !== null ? ok(null) : r.child.once('exit', ok)))));
    await database.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(schema)} CASCADE`);
    await database.close();
  }
}
console.log(
  `\nreplicas | sustained | vs 1 replica | p50 / p99 at ${RATE}/s | CPU per focus (each replica, sum) | sessions rebuilt (% of focuses) | decisions refused\n${rows.join('\n')}`,
);
if (values.json)
  printBenchJson({
    bench: 'replicas',
    setting: `${COUNT.toLocaleString('en-US')} focus events closed loop, ${RATE}/s for ${SECONDS} s; replicas ${COUNTS.join(', ')}`,
    rows: figures,
  });
