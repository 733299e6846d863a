/**
 * `npm run soak -- --minutes N --rate R`: the fault harness (issue 13). It starts its own Mosquitto and
 * PostgreSQL on private loopback ports, runs storeflow (ROLES=recommender) as a child process, plays
 * store visits at R focus events/s over MQTT (QoS 1), and on a schedule SIGKILLs storeflow, restarts the
 * broker and restarts the database. At the end it holds what was published and what arrived on the
 * prediction topic against storeflow's event log: lost, decided twice, coupons twice in a visit,
 * reordered, and the longest stalls. Exit 0 when all is well, 1 when not, 2 on misuse.
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg, { sql } from '@databases/pg';
import { Mosquitto, Postgres, Storeflow, findMosquitto, freePort, killAll, sleep, type Proc } from './soak-services.ts';
import { Ledger, Load, Wire } from './soak-load.ts';
import { judge, type Fault, type LoggedDecision, type LoggedInput, type Verdict } from './soak-verdict.ts';

const USAGE = 'usage: npm run soak -- [--minutes N] [--rate R] [--faults all|none|storeflow,broker,database] [--format envelope|flat] [--seed N] [--keep] [--json]';
const HELP = `${USAGE}

Drives storeflow's recommender on services the soak starts for itself (its own Mosquitto and PostgreSQL
on free loopback ports; never the machine's shared ones) while it injects faults, then checks the
event log and the prediction topic. Needs Mosquitto (/usr/sbin/mosquitto or mosquitto on PATH); without
it the soak is skipped (exit 0): the in-process broker cannot survive a SIGKILL of its own process.
MOSQUITTO=/path/to/mosquitto picks another binary.

  --minutes N   how long to publish (default 1; fractions allowed)
  --rate R      focus events per second (default 200); each visit is entry, 2-3 focuses, exit
  --faults F    all (default), none, or a comma list of storeflow, broker, database. Per kind
                max(1, ceil(N/3)) faults spread over the run: storeflow SIGKILL and restart;
                broker SIGTERM / SIGKILL (alternating), down 2 s, restart on the same port and
                persistence; database fast / immediate shutdown (alternating), down 5 s, restart
  --format F    the predictions' MESSAGE_FORMAT: envelope (default; seed 003, ~150 B) or flat (seed 002:
                the coupon with its products, ~100 KB for a department coupon, ~100 MB/s at 1,000/s)
  --seed N      seed of the visit generator (default 1)
  --keep        keep the run folder (data and logs); by default only a failed run's logs are kept
  --json        also print the result as one JSON line (last line of output)
  --help        this text

Exit 0 when nothing was lost, decided twice, offered twice in a visit, reordered or left undecided, and
no stall after a fault exceeded 10 s; 1 otherwise; 2 on misuse.`;

const usageError = (msg: string): never => {
  process.stderr.write(`soak: ${msg}\n${USAGE}\n`);
  process.exit(2);
};

let args;
try {
  args = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' }, rate: { type: 'string', default: '200' }, faults: { type: 'string', default: 'all' },
      format: { type: 'string', default: 'envelope' },
      seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false, strict: true,
  }).values;
} catch (err) {
  usageError((err as Error).message);
}
if (args!.help) {
  console.log(HELP);
  process.exit(0);
}
const a = args!;
const MINUTES = Number(a.minutes), RATE = Number(a.rate), SEED = Number(a.seed);
if (!(MINUTES > 0 && MINUTES <= 600)) usageError(`--minutes must be a number in (0, 600], got ${JSON.stringify(a.minutes)}`);
if (!(RATE > 0 && RATE <= 20000)) usageError(`--rate must be a number in (0, 20000], got ${JSON.stringify(a.rate)}`);
if (!Number.isSafeInteger(SEED)) usageError(`--seed must be an integer, got ${JSON.stringify(a.seed)}`);
if (a.format !== 'envelope' && a.format !== 'flat') usageError(`--format must be envelope or flat, got ${JSON.stringify(a.format)}`);
const FORMAT = a.format as 'envelope' | 'flat';
const KINDS = ['storeflow', 'broker', 'database'] as const;
type FaultKind = (typeof KINDS)[number];
const faultKinds: FaultKind[] = a.faults === 'all' ? [...KINDS] : a.faults === 'none' ? [] : a.faults!.split(',').map((s) => s.trim()) as FaultKind[];
for (const k of faultKinds) if (!KINDS.includes(k)) usageError(`--faults: unknown fault ${JSON.stringify(k)} (all, none, or a list of ${KINDS.join(', ')})`);
const JSON_OUT = a.json!;

const say = (line: string) => console.log(line);
const n = (x: number) => x.toLocaleString('en-US');
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const mosquittoBin = findMosquitto();
if (!mosquittoBin) {
  say(`soak skipped: it needs an external MQTT broker, and Mosquitto is not installed (${process.env.MOSQUITTO ? `MOSQUITTO=${process.env.MOSQUITTO} does not exist` : 'neither /usr/sbin/mosquitto nor mosquitto on PATH'}). `
    + 'The in-process broker (aedes) cannot survive a SIGKILL of its own process, so it cannot stand in. Install mosquitto (e.g. apt-get install mosquitto) to run the soak.');
  if (JSON_OUT) console.log(JSON.stringify({ skipped: true, reason: 'mosquitto not installed' }));
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
let broker: Mosquitto | undefined, database: Postgres | undefined, storeflow: Storeflow | undefined;
let load: Load | undefined, wire: Wire | undefined;
let pool: ReturnType<typeof createPool> | undefined;

// an idle connection dropped by a database restart is expected here: noted, not printed
const createPool = (url: string) => ((pg as any).default ?? pg)({
  connectionString: url, bigIntMode: 'number', poolSize: 2, onError: (err: Error) => note(`database connection error: ${err.message}`),
}) as import('@databases/pg').ConnectionPool;

class Interrupted extends Error {}
let interrupt!: (err: Error) => void;
const interrupted = new Promise<never>((_, fail) => (interrupt = fail));
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (++signals > 1) { killAll(); process.exit(130); }
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

// ------------------------------------------------------------------ storeflow, supervised as an operator would (restart on exit)

let unexpectedExits: { at: number; how: string }[] = [];
const expected = new WeakSet<Proc>();
function startStoreflow(): void {
  if (closing) return;
  const proc = storeflow!.start();
  void proc.exited.then((e) => {
    if (expected.has(proc) || closing) return;
    const how = e.signal ?? `code ${e.code}`;
    unexpectedExits.push({ at: now(), how });
    note(`storeflow pid ${proc.pid} exited by itself (${how})`);
    say(`+${s1(now())}: storeflow exited by itself (${how}); restarting it in 1 s`);
    setTimeout(startStoreflow, 1000);
  });
}

const readiness: { at: number; state: string }[] = [];
/** Messages the broker still held when the drain ended ($SYS), -1 if unknown. */
let brokerHeld = -1;

async function main(): Promise<number> {
  const [pgPort, mqttPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  // the seeds' default topics, named explicitly: the soak uses only storeflow's public surface
  // (its environment, topics, payloads and event log), none of its modules
  const topics = { enter: 'customer/enter', focus: 'customer/focus', exit: 'customer/exit', prediction: 'customer/prediction' };
  say(`soak: ${MINUTES} min at ${n(RATE)} focus events/s, faults: ${faultKinds.length ? faultKinds.join(', ') : 'none'}, predictions ${FORMAT}; own Mosquitto on 127.0.0.1:${mqttPort}, PostgreSQL on 127.0.0.1:${pgPort}, storeflow on 127.0.0.1:${httpPort}; folder ${runDir}`);

  database = new Postgres(pgPort, runDir);
  await database.init();
  await database.start();
  broker = new Mosquitto(mosquittoBin!, mqttPort, runDir);
  await broker.start();
  storeflow = new Storeflow(ROOT, httpPort, runDir, {
    DATABASE_URL: database.url, MQTT_URL: broker.url, MQTT_PROTOCOL_VERSION: '5', MQTT_CLIENT_ID: 'soak-storeflow',
    ROLES: 'recommender', COUPON_VALIDITY: 'ignore', PREDICTION_THRESHOLD: '0', LOG_LEVEL: 'warn',
    ENTER_TOPIC: topics.enter, FOCUS_TOPIC: topics.focus, EXIT_TOPIC: topics.exit, COUPON_PREDICTION_TOPIC: topics.prediction, MESSAGE_FORMAT: FORMAT,
  });
  startStoreflow();
  if (!(await storeflow.waitReady(180_000))) throw new Error(`storeflow ${storeflow.proc?.alive() ? 'did not become ready within 180 s' : 'exited before it was ready'}; its last lines:\n${storeflow.tail()}`);
  say(`+${s1(now())}: services up; storeflow ready (it seeded the empty database at first start)`);

  // the customers storeflow knows: what it seeded into the empty database
  pool = createPool(database.url);
  const customerIds: string[] = (await pool.query(sql`SELECT customer_id FROM customer_info ORDER BY customer_id`)).map((r: { customer_id: unknown }) => String(r.customer_id));
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

  // the fault schedule: interleaved kinds, spread evenly over 85% of the run
  const perKind = Math.max(1, Math.ceil(MINUTES / 3));
  const schedule: FaultKind[] = [];
  for (let r = 0; r < perKind; r++) schedule.push(...faultKinds);
  const runMs = MINUTES * 60_000;
  const faults: Fault[] = [];
  const counts: Record<FaultKind, number> = { storeflow: 0, broker: 0, database: 0 };

  await load.start(`soak-load-${process.pid}`);
  // every client has its session and subscriptions now: a broker killed later comes back with them
  broker.save();
  const publishStart = now();
  const poll = setInterval(() => {
    void storeflow!.readiness().then((state) => {
      if (readiness.at(-1)?.state !== state) { readiness.push({ at: now(), state }); note(`readyz ${state}`); }
    });
  }, 1000);
  let lastReport = publishStart;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu = new Map<number, number>();
  /** CPU share of a process over the last second, from /proc (Linux); '' where unreadable. */
  /** utime+stime ticks of a process, and of its children when `family` (PostgreSQL's backends), from /proc. */
  const ticksOf = (pid: number, family: boolean): number => {
    let total = 0;
    const read = (p: string) => {
      try {
        const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
        return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
      } catch { return undefined; }
    };
    total += read(String(pid))?.ticks ?? 0;
    if (family) for (const p of readdirSync('/proc')) if (/^\d+$/.test(p)) { const s = read(p); if (s?.ppid === pid) total += s.ticks; }
    return total;
  };
  /** CPU share of a process over the last second (ticks are 1/100 s on Linux); '' where unreadable. */
  const cpuShare = (pid: number | undefined, family = false) => {
    if (!pid || !existsSync(`/proc/${pid}`)) return '';
    const ticks = ticksOf(pid, family);
    const before = cpu.get(pid);
    cpu.set(pid, ticks);
    return before === undefined || ticks < before ? '' : `${ticks - before}%`;
  };
  // the log's progress, read incrementally by position (cheap), for soak.log: inputs logged and decisions per second
  const watchPool = createPool(database.url);
  let watchedTo = 0, watching = false;
  const logged = { inputs: 0, decisions: 0 };
  const watch = setInterval(() => {
    if (watching || closing) return;
    watching = true;
    void watchPool.query(sql`
      SELECT count(*) FILTER (WHERE metadata->>'source' = 'mqtt') AS inputs,
             count(*) FILTER (WHERE type IN ('prediction', 'no_prediction')) AS decisions,
             max(position) AS head
      FROM events WHERE position > ${watchedTo}`).then(([r]) => {
      logged.inputs += r.inputs;
      logged.decisions += r.decisions;
      if (r.head) watchedTo = r.head;
      note(`log: ${logged.inputs} inputs, ${logged.decisions} decisions (+${r.inputs}, +${r.decisions} in 5 s)`);
    }, (err) => note(`log: not readable (${(err as Error).message})`)).finally(() => { watching = false; });
  }, 5000);
  const progress = setInterval(() => {
    const t = now();
    note(`published ${ledger.ackedTotal}, awaiting ack ${ledger.n - ledger.ackedTotal - load!.waiting}, held while the broker is away ${load!.waiting}, predictions on the wire ${wire!.received}; `
      + `soak event-loop lag max ${Math.round(lag.max / 1e6)} ms; CPU storeflow ${cpuShare(storeflow!.proc?.pid)} mosquitto ${cpuShare(broker!.proc?.pid)} postgres ${cpuShare(database!.proc?.pid, true)} soak ${cpuShare(process.pid)}`);
    lag.reset();
    if (t - lastReport < 9_500) return;
    lastReport = t;
    say(`+${s1(t)}: published ${n(ledger.ackedTotal)} (${n(ledger.n - ledger.ackedTotal)} awaiting the broker's ack), predictions on the wire ${n(wire!.received)}, readyz ${readiness.at(-1)?.state ?? '?'}`);
  }, 1000);

  const injector = (async () => {
    let free = publishStart;
    for (let j = 0; j < schedule.length; j++) {
      const at = Math.max(publishStart + (runMs * 0.85 * (j + 0.5)) / schedule.length, free + 3000);
      while (now() < at) await sleep(Math.min(250, at - now()));
      if (closing) return;
      const kind = schedule[j];
      const k = counts[kind]++;
      const start = now();
      let how: string;
      if (kind === 'storeflow') {
        how = 'SIGKILL';
        const proc = storeflow!.proc!;
        expected.add(proc);
        proc.signal('SIGKILL');
        await proc.exited;
        startStoreflow();
      } else if (kind === 'broker') {
        const sig = k % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
        how = sig;
        await broker!.stop(sig);
        await sleep(Math.max(0, start + 2000 - now()));
        if (closing) return;
        await broker!.start();
      } else {
        const sig = k % 2 === 0 ? 'SIGINT' : 'SIGQUIT';
        how = sig === 'SIGINT' ? 'fast shutdown (SIGINT)' : 'immediate shutdown (SIGQUIT)';
        await database!.stop(sig);
        await sleep(Math.max(0, start + 5000 - now()));
        if (closing) return;
        await database!.start();
      }
      const back = now();
      faults.push({ kind, how, start, back });
      note(`fault ${kind} ${how} from +${s1(start)} to +${s1(back)}`);
      say(`+${s1(start)}: fault ${faults.length}/${schedule.length}: ${kind} ${how}; back at +${s1(back)}`);
      free = back;
    }
  })();

  while (now() < publishStart + runMs) await sleep(250);
  await injector;
  await load.stop();
  clearInterval(watch);
  await watchPool.dispose().catch(() => {});
  const publishEnd = Math.max(load.lastPublishAt, now());
  clearInterval(progress);
  if (!(await load.acknowledged(30_000))) say(`+${s1(now())}: ${n(ledger.n - ledger.ackedTotal)} publications still unacknowledged by the broker after 30 s`);
  say(`+${s1(now())}: publishing done (${n(ledger.ackedTotal)} inputs in ${n(load.visits)} visits); waiting for storeflow to drain`);

  // drain: until every published input is logged, every logged focus decided and every logged prediction
  // seen on the wire, or nothing moves for 20 s; at most 180 s
  pool = createPool(database.url);
  const drainStart = now();
  let lastHead = -1, lastMove = now(), lastWire = wire.received, lastWireMove = now();
  const focusesPublished = ledger.ackedCount[1];
  for (;;) {
    const [c] = await pool.query(sql`
      SELECT count(*) FILTER (WHERE metadata->>'source' = 'mqtt') AS inputs,
             count(*) FILTER (WHERE type IN ('prediction', 'no_prediction')) AS decisions,
             count(*) FILTER (WHERE type = 'prediction') AS predictions,
             coalesce(max(position), 0) AS head
      FROM events`).catch(() => [{ inputs: 0, decisions: 0, predictions: 0, head: lastHead }]);
    if (c.head !== lastHead) { lastHead = c.head; lastMove = now(); }
    if (wire.received !== lastWire) { lastWire = wire.received; lastWireMove = now(); }
    note(`drain: ${c.inputs} inputs, ${c.decisions} decisions, ${c.predictions} predictions logged; ${wire.focuses} focuses answered on the wire`);
    const caughtUp = c.inputs >= ledger.ackedTotal && c.decisions >= focusesPublished && wire.focuses >= c.predictions;
    if (caughtUp && now() - lastMove > 1000 && now() - lastWireMove > 1000) break;
    if (now() - lastMove > 30_000 && now() - lastWireMove > 30_000) { say(`+${s1(now())}: nothing moved for 30 s: ${n(c.inputs)} inputs, ${n(c.decisions)} decisions logged; ${n(wire.focuses)} of ${n(c.predictions)} logged predictions seen on the wire`); break; }
    if (now() - drainStart > 180_000) { say(`+${s1(now())}: drain bounded at 180 s`); break; }
    await sleep(500);
  }
  clearInterval(poll);
  const end = now();
  await sleep(1100); // one more $SYS update
  brokerHeld = wire.brokerHolds < 0 || storeBaseline < 0 ? -1 : Math.max(0, wire.brokerHolds - storeBaseline);
  say(`+${s1(end)}: drained in ${s1(end - drainStart)}; the broker holds ${brokerHeld < 0 ? '?' : n(brokerHeld)} messages, storeflow's /readyz: ${readiness.at(-1)?.state ?? '?'}; reading the event log`);

  const db = pool;
  async function* pages<T>(query: (after: number) => ReturnType<typeof sql>): AsyncIterable<T[]> {
    for (let after = 0; ;) {
      const rows = await db.query(query(after));
      if (rows.length === 0) return;
      after = rows[rows.length - 1].position;
      yield rows as T[];
    }
  }
  const verdict = await judge({
    ledger, wire, faults, publishStart, publishEnd, end,
    inputs: pages<LoggedInput>((after) => sql`
      SELECT position, type, data->>'id' AS id, (data->>'ts')::float8 AS ts, data->>'dep' AS dep
      FROM events WHERE position > ${after} AND metadata->>'source' = 'mqtt' ORDER BY position LIMIT 20000`),
    decisions: pages<LoggedDecision>((after) => sql`
      SELECT position, type, data->>'customer_id' AS id, (data->>'ts')::float8 AS ts, (data->'coupon'->>'id')::int AS coupon, data->>'reason' AS reason
      FROM events WHERE position > ${after} AND type IN ('prediction', 'no_prediction') ORDER BY position LIMIT 20000`),
  });
  return report(verdict, faults, counts, publishEnd - publishStart, wire.latencies, wire.bytes);
}

function logSummary(): string {
  try {
    const text = readFileSync(storeflow!.logFile, 'utf8');
    const count = (level: number) => (text.match(new RegExp(`"level":${level}\\b`, 'g')) ?? []).length;
    return `${n(count(40))} warnings, ${n(count(50))} errors, ${n(count(60))} fatal`;
  } catch {
    return 'no output';
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

function report(v: Verdict, faults: Fault[], counts: Record<FaultKind, number>, publishMs: number, latencies: number[], wireBytes: number): number {
  const lat = Float64Array.from(latencies).sort() as unknown as number[];
  const failures: string[] = [];
  if (v.lost) failures.push(`${n(v.lost)} lost`);
  if (v.decidedTwice) failures.push(`${n(v.decidedTwice)} decided twice`);
  if (v.couponsTwice) failures.push(`${n(v.couponsTwice)} coupons twice in a visit`);
  if (v.reordered) failures.push(`${n(v.reordered)} reordered`);
  if (v.undecided) failures.push(`${n(v.undecided)} logged focuses never decided`);
  const worst = v.longestStallAfterFault;
  if (worst && worst.ms > 10_000) failures.push(`a stall of ${s1(worst.ms)} after a fault (${worst.fault})`);
  const noPred = Object.entries(v.noPrediction).map(([r, c]) => `${r} ${n(c)}`).join(', ');
  const kinds = (r: Record<string, number>) => `entries ${n(r.entry)}, focuses ${n(r.focus)}, exits ${n(r.exit)}`;
  say('');
  say(`faults             ${faults.length ? KINDS.map((k) => `${k} ×${counts[k]}`).join(', ') : 'none'}; storeflow exited by itself ${unexpectedExits.length}×${unexpectedExits.length ? ` (${unexpectedExits.map((e) => `${e.how} at +${s1(e.at)}`).join(', ')})` : ''}`);
  say(`inputs published   ${n(v.published)} in ${s1(publishMs)} (${kinds(v.publishedByKind)})${v.unconfirmed ? `; ${n(v.unconfirmed)} never acknowledged by the broker (${n(v.unconfirmedLogged)} of them logged)` : ''}`);
  say(`inputs logged      ${n(v.logged)}${v.loggedTwice ? `, ${n(v.loggedTwice)} of them twice` : ''}${v.unexpected ? `; ${n(v.unexpected)} rows matching nothing published` : ''}${v.mismatched ? `; ${n(v.mismatched)} with the wrong kind or department` : ''}`);
  say(`decided            ${n(v.decided)} of ${n(v.focusesLogged)} logged focuses (${n(v.predictions)} predictions${noPred ? `, no prediction: ${noPred}` : ''})${v.undecided ? `; ${n(v.undecided)} never decided` : ''}`);
  for (const e of v.undecidedExamples) say(`                     e.g. ${e}`);
  say(`on the wire        ${n(v.wirePredictions)} focuses answered (${n(Math.round(wireBytes / 1e6))} MB; ${n(v.wireCopies)} repeated copies${v.wireUnknown ? `, ${n(v.wireUnknown)} unreadable or unmatched` : ''}); ${n(v.loggedNotOnWire)} logged predictions never seen on the wire`);
  for (const e of v.notOnWireExamples) say(`                     e.g. ${e}`);
  say(`latency            focus published → prediction on the wire: p50 ${Math.round(percentile(lat, 0.5))} ms, p99 ${Math.round(percentile(lat, 0.99))} ms, max ${s1(lat.length ? lat[lat.length - 1] : 0)}`);
  say(`lost               ${n(v.lost)}${v.lost ? ` (${kinds(v.lostByKind)}; not logged when the run ended${brokerHeld > 0 ? `, while the broker still held ${n(brokerHeld)} messages` : ''})` : ''}`);
  for (const e of v.lostExamples) say(`                     e.g. ${e}`);
  say(`decided twice      ${n(v.decidedTwice)} (log ${n(v.decidedTwiceLog)}, wire ${n(v.decidedTwiceWire)})`);
  say(`coupons twice      ${n(v.couponsTwice)} in a visit (log ${n(v.couponsTwiceLog)}, wire ${n(v.couponsTwiceWire)})`);
  say(`reordered          ${n(v.reordered)}${v.reordered ? ` (${n(v.reorderedCustomers)} customers)` : ''}`);
  for (const e of v.reorderedExamples) say(`                     e.g. ${e}`);
  say(`longest stall      ${s1(v.longestStall.ms)} while publishing (from +${s1(v.longestStall.from)}${v.longestStall.fault ? `, during ${v.longestStall.fault}` : ''})`);
  if (worst) say(`  after a fault    ${s1(worst.ms)} (${worst.fault}); per fault: ${v.stallsAfterFaults.map((x) => s1(x.ms)).join(', ')}`);
  const spells = (state: string) => readiness.filter((r) => r.state === state).length;
  const shown = readiness.slice(0, 12).map((r) => `+${s1(r.at)} ${r.state}`).join(', ') + (readiness.length > 12 ? `, … (${readiness.length - 12} more)` : '');
  say(`readyz             ${spells('not ready')} spells not ready (503), ${spells('no answer')} without an answer within 2 s: ${shown || 'never polled'}`);
  say(`storeflow log      ${logSummary()}`);
  say(failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS');
  if (JSON_OUT) {
    console.log(JSON.stringify({
      pass: failures.length === 0, minutes: MINUTES, rate: RATE, format: FORMAT, faults: counts, storeflowExitedByItself: unexpectedExits.length,
      published: v.published, logged: v.logged, decided: v.decided, focusesLogged: v.focusesLogged, undecided: v.undecided,
      lost: v.lost, decidedTwice: v.decidedTwice, couponsTwice: v.couponsTwice, reordered: v.reordered,
      wirePredictions: v.wirePredictions, loggedNotOnWire: v.loggedNotOnWire, unconfirmed: v.unconfirmed, brokerHeldAtEnd: brokerHeld,
      longestStallMs: Math.round(v.longestStall.ms), longestStallAfterFaultMs: worst ? Math.round(worst.ms) : null,
      latencyP50Ms: Math.round(percentile(lat, 0.5)), latencyP99Ms: Math.round(percentile(lat, 0.99)), latencyMaxMs: Math.round(lat.length ? lat[lat.length - 1] : 0),
      failures,
    }));
  }
  return failures.length ? 1 : 0;
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
  const keep = a.keep || code !== 0;
  if (!keep) rmSync(runDir, { recursive: true, force: true });
  else if (!a.keep) for (const d of ['pg', 'data', 'home']) rmSync(join(runDir, d), { recursive: true, force: true });
  if (keep && existsSync(runDir)) say(`logs kept in ${runDir}`);
}
process.exit(code);
