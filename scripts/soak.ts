/**
 * `npm run soak -- --minutes N --rate R`: the fault harness (issue 13). It starts its own Mosquitto and
 * PostgreSQL on private loopback ports, runs storeflow (ROLES=recommender) as a child process, plays
 * store visits at R focus events/s over MQTT (QoS 1), and on a schedule SIGKILLs storeflow, restarts the
 * broker and restarts the database. At the end it holds what was published and what arrived on the
 * prediction topic against storeflow's event log: lost, decided twice, coupons twice in a visit,
 * reordered, and the longest stalls. Exit 0 when all is well, 1 when not, 2 on misuse.
 *
 * Its parts: soak-args (options), soak-processes and soak-services (the processes and the services in them),
 * soak-supervisor (storeflow restarted), soak-ledger, soak-load, soak-wire and soak-mqtt (the clients),
 * soak-faults, soak-progress and soak-cpu (what it says while running), soak-eventlog and soak-drain (the log),
 * soak-verdict and soak-report.
 */
import { mkdtempSync, rmSync, chmodSync, existsSync, appendFileSync } from 'node:fs';
import { must } from '../actors/kernel/must.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { Mosquitto, Postgres, Storeflow, findMosquitto } from './soak-services.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { killAll, sleep } from './soak-processes.ts';
import { parseSoakArgs } from './soak-args.ts';
import { n, s1, say } from './soak-format.ts';
import { Ledger } from './soak-ledger.ts';
import { Load } from './soak-load.ts';
import { Wire } from './soak-wire.ts';
import { Supervisor } from './soak-supervisor.ts';
import { injectFaults } from './soak-faults.ts';
import { pollReadiness, reportProgress, type Readiness } from './soak-progress.ts';
import { createPool, readLog, watchLog } from './soak-eventlog.ts';
import { drain } from './soak-drain.ts';
import { judge } from './soak-verdict.ts';
import { report } from './soak-report.ts';

const opt = parseSoakArgs();
const { minutes: MINUTES, rate: RATE, seed: SEED, format: FORMAT, faultKinds } = opt;

const mosquittoBin = findMosquitto();
if (!mosquittoBin) {
  say(
    `soak skipped: it needs an external MQTT broker, and Mosquitto is not installed (${process.env.MOSQUITTO ? `MOSQUITTO=${process.env.MOSQUITTO} does not exist` : 'neither /usr/sbin/mosquitto nor mosquitto on PATH'}). ` +
      'The in-process broker (aedes) cannot survive a SIGKILL of its own process, so it cannot stand in. Install mosquitto (e.g. apt-get install mosquitto) to run the soak.',
  );
  if (opt.json) console.log(JSON.stringify({ skipped: true, reason: 'mosquitto not installed' }));
  process.exit(0);
}

// ------------------------------------------------------------------ lifetime: every process we start stops with us

const ROOT = join(import.meta.dirname, '..');
const T0 = performance.now();
const now = () => performance.now() - T0;
const runDir = mkdtempSync(join(tmpdir(), 'storeflow-soak-'));
chmodSync(runDir, 0o755);
/** The soak's own log: client connections, faults, readiness, progress (beside the services' logs). */
const note = (line: string) => appendFileSync(join(runDir, 'soak.log'), `+${(now() / 1000).toFixed(3)} s ${line}\n`);
let closing = false;
const isClosing = () => closing;
let broker: Mosquitto | undefined, database: Postgres | undefined, storeflow: Storeflow | undefined, supervisor: Supervisor | undefined;
let load: Load | undefined, wire: Wire | undefined;
let pool: ReturnType<typeof createPool> | undefined;

class Interrupted extends Error {}
let interrupt!: (err: Error) => void;
const interrupted = new Promise<never>((_, fail) => (interrupt = fail));
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (++signals > 1) {
      killAll();
      process.exit(130);
    }
    say(`\n${sig}: stopping every process the soak started`);
    interrupt(new Interrupted(sig));
  });
}
process.on('exit', killAll);
const HARD_LIMIT_MS = MINUTES * 60_000 + 15 * 60_000;
const hardLimit = setTimeout(() => interrupt(new Error(`the soak exceeded its time bound (${Math.round(HARD_LIMIT_MS / 60_000)} min)`)), HARD_LIMIT_MS);
hardLimit.unref();

async function closeAll(): Promise<void> {
  closing = true;
  await Promise.all([load?.close(), wire?.close(), pool?.dispose().catch(() => {})]);
  await storeflow?.proc?.stop('SIGTERM', 20_000);
  await broker?.stop('SIGTERM');
  await database?.stop('SIGINT', 30_000);
  killAll(); // anything a fault was starting meanwhile
}

const readiness: Readiness = [];

async function main(): Promise<number> {
  const [pgPort, mqttPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  // the seeds' default topics, named explicitly: the soak uses only storeflow's public surface
  // (its environment, topics, payloads and event log), none of its modules
  const topics = { enter: 'customer/enter', focus: 'customer/focus', exit: 'customer/exit', prediction: 'customer/prediction' };
  say(
    `soak: ${MINUTES} min at ${n(RATE)} focus events/s, faults: ${faultKinds.length ? faultKinds.join(', ') : 'none'}, predictions ${FORMAT}; own Mosquitto on 127.0.0.1:${mqttPort}, PostgreSQL on 127.0.0.1:${pgPort}, storeflow on 127.0.0.1:${httpPort}; folder ${runDir}`,
  );

  database = new Postgres(pgPort, runDir);
  await database.init();
  await database.start();
  broker = new Mosquitto(must(mosquittoBin, 'mosquitto'), mqttPort, runDir);
  await broker.start();
  storeflow = new Storeflow(ROOT, httpPort, runDir, {
    DATABASE_URL: database.url,
    MQTT_URL: broker.url,
    MQTT_PROTOCOL_VERSION: '5',
    MQTT_CLIENT_ID: 'soak-storeflow',
    ROLES: 'recommender',
    COUPON_VALIDITY: 'ignore',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
    ENTER_TOPIC: topics.enter,
    FOCUS_TOPIC: topics.focus,
    EXIT_TOPIC: topics.exit,
    COUPON_PREDICTION_TOPIC: topics.prediction,
    MESSAGE_FORMAT: FORMAT,
  });
  supervisor = new Supervisor({ storeflow, closing: isClosing, now, note });
  supervisor.start();
  if (!(await storeflow.waitReady(180_000)))
    throw new Error(
      `storeflow ${storeflow.proc?.alive() ? 'did not become ready within 180 s' : 'exited before it was ready'}; its last lines:\n${storeflow.tail()}`,
    );
  say(`+${s1(now())}: services up; storeflow ready (it seeded the empty database at first start)`);

  // the customers storeflow knows: what it seeded into the empty database
  pool = createPool(database.url, note);
  const customerIds: string[] = (await pool.query(sql`SELECT customer_id FROM customer_info ORDER BY customer_id`)).map((r: { customer_id: unknown }) =>
    String(r.customer_id),
  );
  await pool.dispose();
  pool = undefined;
  if (customerIds.length === 0) throw new Error('customer_info is empty: storeflow did not seed the database');

  const ledger = new Ledger(customerIds);
  wire = new Wire(broker.url, topics.prediction, ledger, now, note);
  await wire.start(`soak-wire-${process.pid}`);
  // what the broker's store holds before any load ($SYS topics themselves): the end is measured against it
  for (let i = 0; i < 30 && wire.brokerHolds < 0; i++) await sleep(100);
  const storeBaseline = wire.brokerHolds;
  load = new Load({ url: broker.url, topics, ledger, rate: RATE, now, firstTsMs: Date.now(), seed: SEED, note });
  say(`load: ${n(customerIds.length)} known customers; a visit's steps ${load.stepS.toFixed(2)} s apart, event time at ${load.speed.toFixed(1)}× wall time`);

  await load.start(`soak-load-${process.pid}`);
  // every client has its session and subscriptions now: a broker killed later comes back with them
  broker.save();
  const publishStart = now();
  const poll = pollReadiness(storeflow, readiness, now, note);
  // the log's progress, read incrementally by position (cheap), for soak.log: inputs logged and decisions per second
  const watch = watchLog(database.url, note, isClosing);
  const progress = reportProgress({ ledger, load, wire, storeflow, broker, database, readiness, publishStart, now, note });
  const injection = injectFaults({ kinds: faultKinds, minutes: MINUTES, publishStart, storeflow: supervisor, broker, database, now, closing: isClosing, note });

  while (now() < publishStart + MINUTES * 60_000) await sleep(250);
  await injection.done;
  await load.stop();
  await watch.stop();
  const publishEnd = Math.max(load.lastPublishAt, now());
  clearInterval(progress);
  if (!(await load.acknowledged(30_000))) say(`+${s1(now())}: ${n(ledger.n - ledger.ackedTotal)} publications still unacknowledged by the broker after 30 s`);
  say(`+${s1(now())}: publishing done (${n(ledger.ackedTotal)} inputs in ${n(load.visits)} visits); waiting for storeflow to drain`);

  pool = createPool(database.url, note);
  const drainStart = now();
  await drain({ db: pool, ledger, wire, now, note });
  clearInterval(poll);
  const end = now();
  await sleep(1100); // one more $SYS update
  const brokerHeld = wire.brokerHolds < 0 || storeBaseline < 0 ? -1 : Math.max(0, wire.brokerHolds - storeBaseline);
  say(
    `+${s1(end)}: drained in ${s1(end - drainStart)}; the broker holds ${brokerHeld < 0 ? '?' : n(brokerHeld)} messages, storeflow's /readyz: ${readiness.at(-1)?.state ?? '?'}; reading the event log`,
  );

  const { faults, counts } = injection;
  const verdict = await judge({ ledger, wire, faults, publishStart, publishEnd, end, ...readLog(pool) });
  return report(
    verdict,
    {
      faults,
      counts,
      publishMs: publishEnd - publishStart,
      latencies: wire.latencies,
      wireBytes: wire.bytes,
      unexpectedExits: supervisor.unexpectedExits,
      brokerHeld,
      readiness,
      logFile: storeflow.logFile,
    },
    opt,
  );
}

let code = 1;
try {
  code = await Promise.race([main(), interrupted]);
} catch (err) {
  if (err instanceof Interrupted) code = 130;
  else {
    say(`soak failed: ${(err as Error).stack ?? err}`);
    code = 1;
  }
} finally {
  await Promise.race([closeAll(), sleep(60_000)]);
  killAll();
  const keep = opt.keep || code !== 0;
  if (!keep) rmSync(runDir, { recursive: true, force: true });
  else if (!opt.keep) for (const d of ['pg', 'data', 'home']) rmSync(join(runDir, d), { recursive: true, force: true });
  if (keep && existsSync(runDir)) say(`logs kept in ${runDir}`);
}
process.exit(code);
