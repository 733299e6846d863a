/**
 * `npm run fuzz -- --count N`: starts storeflow in a child process (every role, embedded PostgreSQL
 * and broker; the machine's services when DATABASE_URL / MQTT_URL are set, in a private schema and
 * topic prefix) and sends N generated hostile inputs (scripts/fuzz/inputs.ts, seeded: the same
 * seed sends the same inputs) to every input path: the MQTT input topics, the body of every POST
 * endpoint of the control plane (read from its OpenAPI at /docs/json), its GET paths and queries,
 * the gateway's internal API and its public WebSocket port, AMQP (when AMQP_URL is set) and CSV
 * directories through the loader (a private schema). Loopback only.
 *
 * Per path it prints: inputs sent, accepted, refused (4xx, close codes, rejections), 5xx (HTTP 5xx,
 * WebSocket 1011, or an error line in storeflow's log), hangs (no answer within --timeout-ms),
 * crashes (the child exited; it is restarted), and the child's RSS (/proc) before the path and
 * after it, once idle after a GC window (a full GC through the child's inspector on loopback).
 * Exit 1 on any crash, 5xx or hang, or a path after which that RSS is not back within 20 % of where
 * it started; 2 on bad arguments.
 *
 *   npm run fuzz -- --count 300             what CI runs
 *   npm run fuzz -- --count 10000 --seed 7  --only mqtt,csv   --timeout-ms 10000   --keep (keep the temp folder)
 *
 * Its parts are in scripts/fuzz/: args, setup (folder, ports, the child's environment), child (the
 * process, its log, RSS and GC), run (a path's tally), http and upgrade (the senders), the paths
 * (paths-http, paths-gateway, paths-mqtt, paths-amqp, paths-csv) and report (the table).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pgModule, { sql } from '@databases/pg';
import { createPrng } from '../actors/kernel/prng.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { connectDatabase, migrate, type Database } from '../adapters/edges/database.ts';
import { bad, parseArgs } from './fuzz/args.ts';
import { prepare } from './fuzz/setup.ts';
import { Child, rssAfterWindow, settledRss } from './fuzz/child.ts';
import { closeHttp, http } from './fuzz/http.ts';
import { makeEach, type FuzzPath, type PathContext, type Stats } from './fuzz/run.ts';
import { discoverRoutes, getPaths, postPath } from './fuzz/paths-http.ts';
import { createStreams, gatewayPaths } from './fuzz/paths-gateway.ts';
import { MqttSender, mqttPath, type Broker } from './fuzz/paths-mqtt.ts';
import { amqpPath } from './fuzz/paths-amqp.ts';
import { csvPath } from './fuzz/paths-csv.ts';
import { Report } from './fuzz/report.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

const opt = parseArgs(process.argv.slice(2));
const log = createLogger({ level: 'warn', json: true });
const NOW = Math.floor(Date.now() / 1000);
const env = await prepare();
const { work, home, logFile, external, tag, ports, config } = env;

// ---------------------------------------------------------------- the child, restarted when it crashes

const child = new Child({ env: env.childEnv, cwd: env.root, logFile, httpPort: ports.http });
let current: Stats | undefined;
let restarts = 0;
child.onExit = (code, signal) => {
  if (stopping) return;
  if (current) {
    current.crashes++;
    current.examples.push(`child exited (code ${code}, signal ${signal}); last lines:\n      ${child.tail.slice(-15).join('\n      ')}`);
  }
  if (++restarts > 5) {
    process.stderr.write('fuzz: storeflow crashed more than 5 times; giving up\n');
    void finish(1);
    return;
  }
  child.start().catch((err) => {
    process.stderr.write(`fuzz: could not restart storeflow: ${(err as Error).message}\n`);
    void finish(1);
  });
};

const broker: Broker = {
  url: env.brokerUrl,
  // the fuzzer speaks MQTT: with BOOTSTRAP_SERVERS its inputs still go to an MQTT broker's address
  mode: config.transport === 'none' ? 'none' : config.transport === 'kafka' ? 'external' : config.mqtt.mode,
  username: config.mqtt.username,
  password: config.mqtt.password,
  maxPayloadBytes: config.maxPayloadBytes,
  tag,
};
const sender = new MqttSender(broker);

// ---------------------------------------------------------------- main

let stopping = false;
let csvDb: Database | undefined;
const results: Stats[] = [];
const t0 = Date.now();

async function finish(code: number): Promise<never> {
  stopping = true;
  await sender.end();
  closeHttp();
  if (csvDb) {
    await csvDb.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(`${tag}_csv`)} CASCADE`).catch(() => {});
    await csvDb.close().catch(() => {});
  }
  await child.stop().catch(() => {});
  logFile.end();
  if (external.db) {
    const pool = createConnectionPool({ connectionString: external.db, bigIntMode: 'number', poolSize: 1 });
    await pool.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(tag)} CASCADE`).catch(() => {});
    await pool.dispose().catch(() => {});
  }
  // an embedded PostgreSQL left behind by a child that was killed
  const pidFile = join(home, 'pg', 'postmaster.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGINT');
      await sleep(1000);
    } catch {
      /* gone */
    }
  }
  if (!opt.keep) rmSync(work, { recursive: true, force: true });
  else process.stdout.write(`kept ${work}\n`);
  process.exit(code);
}
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));
// a bug in the fuzzer itself: say so, and never leave storeflow (and its PostgreSQL) running
const fuzzerBug = (err: unknown) => {
  process.stderr.write(`fuzz: internal error: ${(err as Error)?.stack ?? err}\n`);
  void finish(3);
};
process.on('uncaughtException', fuzzerBug);
process.on('unhandledRejection', fuzzerBug);

const services = `${external.db ? `PostgreSQL DATABASE_URL (schema ${tag})` : 'embedded PostgreSQL'}, ${broker.mode === 'external' ? `MQTT_URL (prefix ${tag}/)` : 'embedded broker'}${external.amqp ? ', AMQP_URL' : ''}`;
process.stdout.write(
  `storeflow fuzz: seed ${opt.seed}, ${opt.count} inputs per path, timeout ${opt.timeoutMs} ms; storeflow in a child process on ${services}, 127.0.0.1\n`,
);
try {
  await child.start();
} catch (err) {
  process.stderr.write(`fuzz: ${(err as Error).message}\n`);
  await finish(1);
}

const { posts, gets } = await discoverRoutes(ports.http);
const streamIds = await createStreams(ports.api, opt.timeoutMs);

const ctx: PathContext = {
  count: opt.count,
  concurrency: opt.concurrency,
  timeoutMs: opt.timeoutMs,
  now: NOW,
  each: makeEach(child, opt.pathSeconds, () => stopping),
};
const topics = config.topics;
const paths: FuzzPath[] = [
  mqttPath(ctx, sender, broker, 'customer/enter', topics.enter, { id: '1', ts: NOW }),
  mqttPath(ctx, sender, broker, 'customer/move', topics.move, { id: '1', ts: NOW, x: 500, y: 500 }),
  mqttPath(ctx, sender, broker, 'customer/exit', topics.exit, { id: '1', ts: NOW }),
  mqttPath(ctx, sender, broker, 'customer/focus', topics.focus, { id: '1', ts: NOW, dep: 'Men' }),
  mqttPath(ctx, sender, broker, 'command', topics.command, { command: 'STOP' }),
  ...posts.map((p) => postPath(ctx, ports.http, p, /produce_/.test(p) ? config.maxPayloadBytes : 1_048_576)),
  getPaths(ctx, ports.http, gets),
  ...gatewayPaths(ctx, ports, streamIds),
];
if (external.amqp) paths.push(amqpPath(ctx, external.amqp, tag));
const csvDir = join(work, 'csv');
mkdirSync(csvDir);
try {
  csvDb = await connectDatabase(env.databaseUrl, `${tag}_csv`, log, 2);
  await migrate(csvDb.db, log);
  paths.push(csvPath(ctx, csvDb, csvDir, { env: env.childEnv, databaseUrl: env.databaseUrl, schema: `${tag}_csv`, cwd: env.root }));
} catch (err) {
  process.stdout.write(`CSV path skipped: cannot reach PostgreSQL for a private schema (${(err as Error).message})\n`);
}

const selected = opt.only.length ? paths.filter((p) => opt.only.some((o) => p.name.includes(o))) : paths;
if (selected.length === 0) bad(`--only ${opt.only.join(',')} matches no path; paths: ${paths.map((p) => p.name).join(', ')}`);

const report = new Report(selected.map((p) => p.name));
report.header();

const stopLoads = async () => {
  for (const p of ['/stop', '/pump/stop', '/simulator/stop']) await http('POST', ports.http, p, undefined, {}, 5000);
};

for (const p of selected) {
  const stats: Stats = {
    name: p.name,
    sent: 0,
    ok: 0,
    refused: 0,
    fivexx: 0,
    hangs: 0,
    resets: 0,
    crashes: 0,
    rssBefore: NaN,
    rssAfter: NaN,
    seconds: 0,
    examples: [],
  };
  const started = Date.now();
  await child.ready.catch(() => {});
  // the previous path ended idle and collected; measured again only after a restart
  const previous = results[results.length - 1];
  stats.rssBefore = previous && !previous.crashes ? previous.rssAfter : await settledRss(child);
  results.push(stats);
  const errorsBefore = child.errorLines;
  current = stats;
  try {
    await p.run(stats, createPrng(`${opt.seed}/${p.name}`));
  } catch (err) {
    stats.skipped = (err as Error).message;
    stats.examples.push(`path failed: ${(err as Error).message}`);
  }
  await child.ready.catch(() => {});
  // still answering?
  const alive = await http('GET', ports.http, '/healthcheck', undefined, {}, opt.timeoutMs);
  if (alive.status !== 200 && child.alive) {
    stats.hangs++;
    stats.examples.push(`after the path, /healthcheck: ${alive.hang ? 'no answer' : alive.status || alive.error}`);
  }
  await stopLoads();
  await sleep(200); // the last inputs are logged
  current = undefined;
  const errors = child.errorLines - errorsBefore;
  if (errors > 0) {
    stats.fivexx += errors;
    stats.examples.push(`${errors} error line(s) in storeflow's log, the last:\n      ${child.errors.slice(-Math.min(errors, 3)).join('\n      ')}`);
  }
  stats.hangs += stats.resets; // a connection cut without an answer counts against the path
  stats.rssAfter = await rssAfterWindow(child, stats.rssBefore);
  stats.seconds = (Date.now() - started) / 1000;
  report.path(stats);
}

const failed = report.end(results, () => (Date.now() - t0) / 1000, opt);
await finish(failed ? 1 : 0);
