/**
 * `npm run bench:recommender`: sustained focus→prediction throughput and latency over the real broker (Mosquitto when
 * MQTT_URL is set, else the embedded one) with the event log on, against three broker echoes measured in the same run
 * through the same client library, QoS, broker and load client: a plain echo (the focus itself back, ~40 bytes), then
 * storeflow, then the size-matched echo, which answers the same focus events with payloads of exactly the size
 * storeflow's reply to each had, and none storeflow did not answer, then the durable echo, the ceiling of an
 * event-sourced service: the size-matched echo that first commits the focus and its reply to a PostgreSQL log of its
 * own in a group commit (bench-durable-echo.ts). The ratio against it is the headline (bench-recommender-report.ts).
 * A separate load process (scripts/bench-load.ts) publishes and times the replies; departments rotate over consecutive
 * focus events. PREDICTION_THRESHOLD=0 so every focus yields a prediction; 20,000 customers so coupons never run out.
 * --workload storeflow (default): the generated store (SEED 42), COUPON_VALIDITY=check: ~3 valid coupons a department,
 *   replies of ~600 bytes. --workload original: the original's terms: COUPON_VALIDITY=ignore (all ~215 coupons of a
 *   department scored) and its ~40 % department coupons among the predictions (REFERENCE.md §9), approximated with
 *   the generator (coupons of 2010–2013, SEED 4: department coupons on 2 departments in 5). The share is printed.
 * Sustained: closed loop, at most --window focus events awaiting their reply. Latency: --rate focus events/s for
 * --seconds (15: the disk stalls a commit for ~60 ms every ~10 s under load; a 5 s window misses or triples that).
 * --transport kafka: the same over Apache Kafka (BOOTSTRAP_SERVERS, else a local broker), echo and load on
 * @platformatic/kafka. --kafka-client kafkajs,platformatic,…: storeflow's part once per client, in that order, and each
 * client's median (kafkajs is a dev dependency for this comparison only). --replicas 1,2 (Kafka): the storeflow part
 * once per replica count, in one consumer group on one PostgreSQL (the others as `npm start` processes).
 * --tracing off,0.01,1 --rounds 3: storeflow's part once per tracing setting, alternating each round
 * (bench-recommender-compare.ts). MQTT replicas have their own benchmark (npm run bench:replicas).
 *   npm run bench:recommender -- [--count 30000] [--rate 1000] [--seconds 15] [--window 1000] [--transport mqtt|kafka]
 *     [--replicas 1,2] [--kafka-client C,D] [--workload storeflow|original] [--tracing off,R] [--rounds N] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { startEmbeddedPostgres } from '../adapters/edges/embedded-postgres.ts';
import { startEmbeddedBroker } from '../adapters/edges/embedded-broker.ts';
import { startLocalKafka } from '../adapters/edges/local-kafka.ts';
import { connectDatabase, migrate, sql } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { tally } from '../adapters/process/log-tally.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { ensureStoreData } from '../adapters/edges/store-data.ts';
import { startStoreflow } from '../adapters/process/app.ts';
import { configFrom } from '../schemas/env.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { JSON_OPTION, printBenchJson } from './bench-report.ts';
import { durableLog } from './bench-durable-echo.ts';
import { reportRuns } from './bench-recommender-report.ts';
import { benchRuns } from './bench-recommender-runs.ts';
import { clientSummary, parseTracing, spanSink, tracingName, tracingRows } from './bench-recommender-compare.ts';

const { int, num, values, fail } = cli({
  usage:
    'npm run bench:recommender -- [--count N] [--rate R] [--seconds S] [--window W] [--transport mqtt|kafka] [--replicas 1,2] [--workload storeflow|original] [--json]',
  summary:
    'Sustained focus→prediction throughput and latency over the real broker (MQTT_URL, else the embedded one) with the event log on, against a plain broker echo and an echo answering with the sizes storeflow sent.',
  options: {
    count: { type: 'string', arg: 'N', help: 'focus events of the sustained run (default 30000)' },
    rate: { type: 'string', arg: 'R', help: 'focus events/s of the latency run (default 1000)' },
    seconds: { type: 'string', arg: 'S', help: 'length of the latency run (default 15)' },
    window: { type: 'string', arg: 'W', help: 'focus events awaiting their reply in the sustained run (default 1000; 500 with --workload original)' },
    transport: { type: 'string', arg: 'T', help: 'mqtt (default) or kafka (BOOTSTRAP_SERVERS, else a local broker)' },
    replicas: { type: 'string', arg: 'N,M', help: 'Kafka: replica counts to run storeflow with, one after another (default 1)' },
    'kafka-client': {
      type: 'string',
      arg: 'C,D',
      help: 'Kafka: the clients storeflow runs on, one run each in this order (platformatic, the default, or kafkajs); medians per client',
    },
    tracing: { type: 'string', arg: 'off,R,…', help: 'the storeflow part once per tracing setting: off, or a sampled share of traces (0 to 1)' },
    rounds: { type: 'string', arg: 'N', help: 'the storeflow runs N times, the settings alternating (default 1)' },
    workload: {
      type: 'string',
      arg: 'W',
      help: "storeflow (default: its own store, valid coupons only) or original (all of a department's coupons scored, the original data's ~40 % department coupons)",
    },
    ...JSON_OPTION,
  },
});
const COUNT = int('count', 30_000, { min: 1 }),
  RATE = num('rate', 1000, { min: 1 }),
  SECONDS = num('seconds', 15, { min: 1 }),
  // the original's ~60 KB replies: 1,000 outstanding overflow Mosquitto's queue for the load client (max_queued_messages
  // 1,000 beyond the 20 in flight, whose PUBACKs a 60 KB message delays) when the echo answers at full speed
  WINDOW = int('window', values.workload === 'original' ? 500 : 1000, { min: 1 });
const CUSTOMERS = 20_000;
const WORKLOAD = values.workload ?? 'storeflow';
if (WORKLOAD !== 'storeflow' && WORKLOAD !== 'original') fail(`--workload: storeflow or original, got ${JSON.stringify(WORKLOAD)}`);
const ORIGINAL = WORKLOAD === 'original';
const TRACING = parseTracing(values.tracing) ?? fail(`--tracing: off or ratios from 0 to 1, got ${JSON.stringify(values.tracing)}`);
const ROUNDS = int('rounds', 1, { min: 1, max: 9 });
const sink = TRACING.some((t) => t !== undefined) ? await spanSink() : undefined;
// storeflow's: 2025-06-01, inside the generated coupons' window; the original's: 2011-06-01, inside its 2010–2013
const FIRST_TS = ORIGINAL ? 1306886400 : 1748736000;
/** The store and the recommender's settings of the workload (see the header). */
const STORE = ORIGINAL ? { customers: CUSTOMERS, from: '2010-01-01', days: 1096 } : { customers: CUSTOMERS };
const WORKLOAD_ENV: Record<string, string> = ORIGINAL ? { COUPON_VALIDITY: 'ignore', SEED: '4' } : {};
/** The steady run's focus events continue the burst's rounds: each customer a department it has not focused on yet. */
const STEADY_ROUND = Math.ceil(COUNT / CUSTOMERS);
const log = createLogger({ level: 'warn' });
const TRANSPORT = values.transport ?? 'mqtt';
if (TRANSPORT !== 'mqtt' && TRANSPORT !== 'kafka') fail(`--transport: mqtt or kafka, got ${JSON.stringify(TRANSPORT)}`);
const KAFKA = TRANSPORT === 'kafka';
const REPLICAS = (values.replicas ?? '1').split(',').map(Number);
if (REPLICAS.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) fail(`--replicas: replica counts from 1 to 8, got ${JSON.stringify(values.replicas)}`);
if (!KAFKA && values.replicas) fail('--replicas: with --transport kafka (MQTT replicas: npm run bench:replicas)');
const CLIENTS = (values['kafka-client'] ?? 'platformatic').split(',');
if (CLIENTS.some((c) => c !== 'platformatic' && c !== 'kafkajs'))
  fail(`--kafka-client: platformatic or kafkajs, got ${JSON.stringify(values['kafka-client'])}`);
if (values['kafka-client'] && !KAFKA) fail('--kafka-client: with --transport kafka');
if (values['kafka-client'] && REPLICAS.length > 1) fail('--kafka-client: with one replica count');
/** kafkajs, a dev dependency: loaded only when asked for. */
const kafkajs = CLIENTS.includes('kafkajs') ? (await import('../adapters/edges/kafka-kafkajs.ts')).connectKafkajs : undefined;
/** Kafka: how long a fetch may wait at the broker (POLL_TIMEOUT; seed 003's default 100 ms), for the echo, the load and storeflow alike. */
const POLL_MS = Number(process.env.POLL_TIMEOUT ?? 100);

const pgDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'storeflow-bench-'));
const pg = pgDir ? await startEmbeddedPostgres({ dataDir: pgDir, log }) : undefined;
const broker = KAFKA || process.env.MQTT_URL ? undefined : await startEmbeddedBroker({ port: 0, host: '127.0.0.1', log });
const kafkaDir = KAFKA && !process.env.BOOTSTRAP_SERVERS ? mkdtempSync(join(tmpdir(), 'storeflow-bench-kafka-')) : undefined;
const localKafka = kafkaDir ? await startLocalKafka({ home: process.env.STOREFLOW_HOME || '.storeflow', dataDir: kafkaDir }) : undefined;
const bootstrap = KAFKA ? (process.env.BOOTSTRAP_SERVERS ?? must(localKafka, 'the local Kafka').bootstrapServers) : undefined;
const databaseUrl = process.env.DATABASE_URL ?? must(pg, 'the embedded PostgreSQL').url;
const brokerUrl = KAFKA ? `kafka://${bootstrap}` : (process.env.MQTT_URL ?? must(broker, 'the embedded broker').url);
const protocolVersion = broker ? 4 : Number(process.env.MQTT_PROTOCOL_VERSION ?? 5);
console.log(
  `bench:recommender (workload ${ORIGINAL ? "original: all of a department's coupons scored, generator seed 4 on 2010–2013" : 'storeflow: its own store, valid coupons'}) — broker ${KAFKA ? `Kafka ${localKafka ? `4.1.1 local (npm run kafka's), ${bootstrap}` : bootstrap} (storeflow on ${[...new Set(CLIENTS)].join(' and ')}; echoes and load on platformatic), POLL_TIMEOUT ${POLL_MS} ms` : broker ? 'embedded (aedes, in the service process)' : brokerUrl}, PostgreSQL ${pg ? 'embedded' : 'external'}; ${COUNT} focus events as fast as possible, then ${RATE}/s for ${SECONDS} s`,
);

const sep = KAFKA ? '.' : '/';
const { phase, echoPhase } = benchRuns({
  brokerUrl,
  bootstrap,
  KAFKA,
  POLL_MS,
  protocolVersion,
  CUSTOMERS,
  COUNT,
  RATE,
  SECONDS,
  WINDOW,
  FIRST_TS,
  STEADY_ROUND,
  log,
});

// 1. the plain echo: the focus itself back
const ceiling = await echoPhase('echo');

// 2. storeflow's recommender: log append, session actor, scoring, log append, publish; once per replica count
/** CPU seconds a process has used so far (Linux /proc: utime + stime, in clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function storeflow(replicas: number, client: string, nth: number, tracing?: number) {
  const schema = `bench_${process.pid}_${replicas}_${nth}`;
  const env = {
    DATABASE_URL: databaseUrl,
    ...(KAFKA
      ? { BOOTSTRAP_SERVERS: bootstrap, GROUP_ID: `bench-${process.pid}-${replicas}-${nth}`, MESSAGE_FORMAT: 'flat', POLL_TIMEOUT: String(POLL_MS) }
      : { MQTT_URL: brokerUrl }),
    MQTT_PROTOCOL_VERSION: String(protocolVersion),
    DATABASE_SCHEMA: schema,
    MQTT_TOPIC_PREFIX: `bench${process.pid}r${replicas}n${nth}${sep}`,
    ROLES: 'recommender',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
    ...sink?.env(tracing),
    ...WORKLOAD_ENV,
  };
  const config = configFrom({ ...env, MQTT_CLIENT_ID: `bench-${process.pid}`, PORT: '0' });
  const database = await connectDatabase(databaseUrl, schema, log);
  await migrate(database.db, log);
  await ensureStoreData(database, config, log, STORE);
  const app = await startStoreflow(config, log, { port: 0, webDir: false, ...(client === 'kafkajs' ? { connectKafka: kafkajs } : {}) });
  // the other replicas: storeflow processes in the same group, each with a port of its own
  const others: ChildProcess[] = [];
  for (let i = 1; i < replicas; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'start.ts')], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    others.push(child);
    const deadline = Date.now() + 90_000;
    while ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status !== 200) {
      if (Date.now() > deadline) throw new Error(`replica ${i + 1} not ready after 90 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // what the service itself adds, and how well appends are group-committed, in each part of the run (this process's replica)
  const inside = must(app.metrics.registry.getSingleMetric('storeflow_focus_to_prediction_seconds'), 'the focus-to-prediction metric');
  let mark = { ...app.eventLog.stats };
  const report = async (part: string) => {
    const st = app.eventLog.stats;
    const buckets = (await inside.get()).values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_bucket'));
    const total = buckets.at(-1)?.value ?? 0;
    const le = (q: number) => Number(buckets.find((v) => v.value >= q * total)?.labels.le) * 1000;
    console.log(
      `           ${part}: ${st.events - mark.events} log events in ${st.batches - mark.batches} commits (${((st.events - mark.events) / Math.max(1, st.batches - mark.batches)).toFixed(1)} per commit, ${((st.writeMs - mark.writeMs) / Math.max(1, st.batches - mark.batches)).toFixed(1)} ms each); focus logged → prediction published p50 ≤ ${le(0.5)} ms, p99 ≤ ${le(0.99)} ms`,
    );
    mark = { ...st };
    inside.reset();
  };
  let burstReport!: Promise<void>;
  // every customer has entered and has a session with its context loaded before the focus events start: in this
  // process when it is the only replica, else in the log (each replica holds the customers of its partitions)
  const sessions = (app.roles.get('recommender') as RecommenderHandle).sessions;
  /** Waits until every customer has entered (or, on MQTT, nothing moved for 3 s); resolves with the customers (ids) not entered. */
  const allEntered = async (): Promise<number[]> => {
    const deadline = Date.now() + 60_000;
    const ready = (id: string) => sessions.get(id)?.getSnapshot().value === 'ready';
    const entered = async () => (replicas === 1 ? sessions.ids().filter(ready).length : (await tally(new PostgresEventLog(database.db, { log }))).types.entry);
    let [last, since] = [-1, Date.now()];
    for (let n = await entered(); n < CUSTOMERS; n = await entered()) {
      if (n !== last) [last, since] = [n, Date.now()];
      // an MQTT broker that stopped delivering for 3 s has dropped the rest (Kafka loses none, but may pause to rebalance)
      if ((!KAFKA && n > 0 && Date.now() - since > 3000) || Date.now() > deadline) {
        // the other replicas' sessions are not in this process: their lost entries are not told apart
        if (replicas > 1 || KAFKA) throw new Error(`${CUSTOMERS - n} of ${CUSTOMERS} customers not entered after a minute`);
        return Array.from({ length: CUSTOMERS }, (_, i) => i + 1).filter((c) => !ready(String(c)));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (replicas > 1) await new Promise((r) => setTimeout(r, 2000)); // the contexts, loaded after the entries' append
    mark = { ...app.eventLog.stats };
    return [];
  };
  const name = `${replicas === 1 ? (CLIENTS.length > 1 ? client : 'storeflow') : `${replicas} replicas`}${sink ? `, ${tracingName(tracing)}` : ''}`;
  let cpu0 = 0;
  const othersCpu = () => others.reduce((sum, c) => sum + cpuOf(must(c.pid, 'a replica pid')), 0);
  const run = await phase(
    name,
    { enter: config.topics.enter, focus: config.topics.focus, prediction: config.topics.prediction },
    allEntered,
    () => {
      burstReport = report('sustained');
    },
    () => (cpu0 = othersCpu()),
    true,
  );
  const otherUs = ((othersCpu() - cpu0) * 1e6) / COUNT;
  if (replicas > 1) run.burst.cpuPerFocusUs += otherUs; // the whole group's CPU per focus (the other replicas: to 10 ms)
  await burstReport;
  await report(`at ${RATE}/s`);
  for (const c of others) c.kill('SIGTERM');
  await Promise.all(others.map((c) => (c.exitCode === null ? new Promise((ok) => c.once('exit', ok)) : undefined)));
  await app.stop();
  await database.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(schema)} CASCADE`);
  await database.close();
  return run;
}

const runs: { replicas: number; client: string; tracing?: number; run: Awaited<ReturnType<typeof phase>> }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // each round starts with the next tracing setting: none always runs first (or last) on a drifting machine
  const order = TRACING.map((_, i) => TRACING[(i + round) % TRACING.length]);
  for (const n of REPLICAS)
    for (const client of CLIENTS) for (const t of order) runs.push({ replicas: n, client, tracing: t, run: await storeflow(n, client, runs.length, t) });
}
sink?.stop();

// 3. the size-matched echo: the same focus events answered with the sizes storeflow's (first) run sent
const first = runs[0].run;
const sizes = new Map<string, number>([...Object.entries<number>(first.burst.sizes ?? {}), ...Object.entries<number>(first.steady.sizes ?? {})]);
const sized = await echoPhase('sized echo', sizes);

// 4. the durable echo: the same sizes, each focus and its reply first committed to a PostgreSQL log of its own
const durableStore = await durableLog(databaseUrl, `bench_durable_${process.pid}`);
const durable = await echoPhase('durable echo', sizes, durableStore);
console.log(
  `           ${durableStore.stats.rows} log rows in ${durableStore.stats.commits} commits (${(durableStore.stats.rows / Math.max(1, durableStore.stats.commits)).toFixed(1)} per commit)`,
);
await durableStore.close();

const where = `${KAFKA ? 'Kafka' : broker ? 'embedded broker' : 'Mosquitto'}, ${ORIGINAL ? "original's terms" : "storeflow's data"}`;
const rows = reportRuns({ runs, echoes: { plain: ceiling, sized, durable }, rate: RATE, where, replicas: REPLICAS });
if (CLIENTS.length > 1)
  clientSummary(
    CLIENTS,
    runs.map((r) => ({ client: r.client, rate: r.run.burst.rate })),
    sized.burst.rate,
  );
else if (runs.length > 1)
  console.log(
    `${runs.map((r) => `${r.replicas}: ${Math.round(r.run.burst.rate)}/s`).join(' · ')} (${(must(runs.at(-1), 'a run').run.burst.rate / runs[0].run.burst.rate).toFixed(2)}× from ${runs[0].replicas} to ${must(runs.at(-1), 'a run').replicas})`,
  );
const traced = sink
  ? tracingRows(
      TRACING,
      runs.map((r) => ({ tracing: r.tracing, rate: r.run.burst.rate })),
      where,
    )
  : [];
if (values.json)
  printBenchJson({
    bench: 'recommender',
    setting: `${COUNT.toLocaleString('en-US')} focus events closed loop (${WINDOW} outstanding), ${RATE}/s for ${SECONDS} s; ${where}`,
    rows: [...rows, ...traced],
  });
await broker?.stop();
await localKafka?.stop();
if (kafkaDir) rmSync(kafkaDir, { recursive: true, force: true });
await pg?.stop();
if (pgDir) rmSync(pgDir, { recursive: true, force: true });
