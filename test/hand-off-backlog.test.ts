/**
 * A detected focus handed on locally (MQTT 5 no-local), with moves arriving faster than they are decided: every input
 * is logged as it arrives and run in log order after, and a focus's turn waits for the focus and its decision to be
 * logged, so the log's moves run ahead of its focuses by what the broker has in flight.
 * - On a Mosquitto of the test's own over MQTT 5 (skipped, with the reason, where Mosquitto is not installed): three
 *   shoppers' three-hour walks sent back to back; SIGKILL as soon as every move is logged (the focuses still behind
 *   them); restart: every focus of the walks is logged once, in its dwell, each with its decision, no coupon offered
 *   twice, and a replay of the whole log makes the same outputs.
 * - What such a kill leaves, written out (a focus logged, its decision not; later moves logged, not run): the restart
 *   decides that focus before the one its detector makes from those moves, in the walk's order, as a replay does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pgModule from '@databases/pg';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { DetectorProcessor } from '../adapters/detector/processor.ts';
import { inputId, outputRecord } from '../adapters/process/processor-contract.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { findMosquitto, Mosquitto } from '../scripts/soak-services.ts';
import { centreOf } from '../actors/data/store-plan.ts';
import type { Department } from '../schemas/departments.ts';
import { toFlat, type StoreEvent } from '../schemas/events.ts';
import { DATABASE_URL, uniqueName, waitFor, sleep, dropSchema, startTestApp } from './helpers.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

const mosquittoBin = findMosquitto();
const TS = 1748736000; // 2025-06-01: the generated coupons are valid
const DEPS: Department[] = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
const SHOPPERS = ['1', '2', '3'];
const MOVES = 180;
/** Move i (a minute apart) is in department DEPS[floor(i / 5) mod 5]: five moves a dwell, a focus at its third. */
const depOf = (i: number) => DEPS[Math.floor(i / 5) % DEPS.length];
/** Each shopper's focuses: the third move of each dwell (moves 1–4 the first dwell, then 5k … 5k + 4). */
const FOCUSES = SHOPPERS.flatMap((id) =>
  Array.from({ length: MOVES }, (_, n) => n + 1)
    .filter((i) => i === 3 || (i >= 5 && i % 5 === 2))
    .map((i) => `${id}:${i}:${depOf(i)}`),
).sort();

test('moves logged ahead of their focuses, SIGKILL, restart: every focus logged once and decided', async () => {
  if (!mosquittoBin) return console.log('hand-off backlog: mosquitto is not installed (Debian: apt-get install mosquitto): test skipped');
  assert.is(FOCUSES.length, 108);
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-hand-off-'));
  const broker = new Mosquitto(mosquittoBin, await freePort(), dir);
  await broker.start();
  const name = uniqueName();
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL,
    MQTT_URL: broker.url,
    // MQTT 5: the pipeline subscribes with no-local and hands the detector's focus to the recommender itself
    MQTT_PROTOCOL_VERSION: '5',
    DATABASE_SCHEMA: name,
    MQTT_TOPIC_PREFIX: `${name}/`,
    MQTT_CLIENT_ID: name,
    PORT: String(port),
    ROLES: 'detector,recommender',
    FOCUS_MIN_MOVES: '3',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
    AUTO_SEED: 'true',
  };
  const start = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  let child = start();
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `${name}-shoppers`, connectTimeout: 5000 });
  const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
  const send = (topic: string, body: object) => client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  const count = async (where: ReturnType<typeof sql>) => (await db.query(sql`SELECT count(*)::int AS n FROM events WHERE ${where}`))[0].n as number;
  const focusCount = () => count(sql`type = 'focus' AND metadata->>'source' = 'output'`);
  const t = { enter: `${name}/customer/enter`, move: `${name}/customer/move` };
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000, 'storeflow ready');
    // /readyz answers before the pipeline subscribes: a probe entry, sent until it is logged, says it has
    await waitFor(
      async () => {
        await send(t.enter, { id: '9', ts: TS });
        return (await count(sql`type = 'entry' AND stream_id = 'customer-9'`)) > 0;
      },
      30_000,
      'storeflow consuming its topics',
    );
    for (const id of SHOPPERS) await send(t.enter, { id, ts: TS });
    for (let i = 1; i <= MOVES; i++) for (const id of SHOPPERS) await send(t.move, { id, ts: TS + 60 * i, ...centreOf(depOf(i)) });
    await waitFor(async () => (await count(sql`type = 'move'`)) === SHOPPERS.length * MOVES, 60_000, 'every move logged');
    const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
    child.kill('SIGKILL');
    assert.is(await exited, 'SIGKILL');
    // (2 to 39 of the 108 focuses were logged at that moment in the runs of 2026-12-07: the case under test)
    const atKill = await focusCount();

    child = start();
    const decided = () => count(sql`type IN ('prediction', 'no_prediction')`);
    // (a focus lost would time this out: the whole list below then says which)
    await waitFor(async () => (await focusCount()) >= FOCUSES.length && (await decided()) >= FOCUSES.length, 60_000).catch(() => undefined);
    await sleep(500);
    const focuses = await db.query(sql`SELECT data, message_id FROM events WHERE type = 'focus' AND metadata->>'source' = 'output' ORDER BY position`);
    assert.equal(
      focuses.map((f) => `${f.data.id}:${(f.data.ts - TS) / 60}:${f.data.dep}`).sort(),
      FOCUSES,
      `one focus per dwell, at its third move (${atKill} of them logged when killed)`,
    );
    assert.is(new Set(focuses.map((f) => f.message_id)).size, FOCUSES.length, 'no focus made twice');
    const decisions = await db.query(sql`SELECT metadata->>'cause' AS cause FROM events WHERE type IN ('prediction', 'no_prediction') ORDER BY position`);
    assert.equal(decisions.map((d) => d.cause).sort(), focuses.map((f) => f.message_id).sort(), 'one decision per focus');
    const predictions = await db.query(sql`SELECT data FROM events WHERE type = 'prediction' ORDER BY position`);
    const offers = new Map<string, number[]>();
    for (const p of predictions) offers.set(p.data.customer_id, [...(offers.get(p.data.customer_id) ?? []), p.data.coupon.id]);
    for (const [customer, coupons] of offers) assert.is(new Set(coupons).size, coupons.length, `customer ${customer} was offered a coupon twice`);
    const replayed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], { env: { ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8' });
    assert.is(replayed.status, 0, replayed.stdout + replayed.stderr);
    assert.match(replayed.stdout, /identical \d+, different 0, missing 0, extra 0/);
  } finally {
    child.kill('SIGKILL');
    await client.endAsync();
    await db.dispose();
    await dropSchema(name);
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a focus logged before a crash, undecided, is decided at the restart before the focuses its detector makes', async () => {
  // handed on locally: TESTING_NO_MQTT keeps a process's publications in it, as MQTT 5 no-local does
  const app = await startTestApp({
    ROLES: 'detector,recommender',
    AUTO_SEED: 'true',
    PREDICTION_THRESHOLD: '0',
    FOCUS_MIN_MOVES: '3',
    TESTING_NO_MQTT: 'true',
  });
  let again: Awaited<ReturnType<typeof startTestApp>> | undefined;
  try {
    // what a run killed while behind its inputs leaves: moves 1–3 in Men run, their focus logged, its decision not;
    // moves 4–5 in Women and 6–8 in Men logged, never run
    const t = app.config.topics;
    const dead = new PostgresEventLog(app.database.db, { log: silentLogger });
    const detector = new DetectorProcessor({ settings: { ...app.config.detector, idleTimeoutS: app.config.recommender.idleTimeoutS }, topics: t });
    const input = async (e: StoreEvent, run: boolean) => {
      const topic = e.kind === 'entry' ? t.enter : t.move;
      const data = toFlat(e);
      const [logged] = await dead.append([
        { streamId: `customer-${e.id}`, type: e.kind, data, messageId: inputId(topic, JSON.stringify(data)), metadata: { source: 'mqtt', topic } },
      ]);
      if (run) await dead.append(detector.handle({ logged, event: e }).map((o) => outputRecord(o)));
    };
    const move = (i: number, dep: Department): StoreEvent => ({ kind: 'move', id: '5', ts: TS + 60 * i, ...centreOf(dep) });
    await input({ kind: 'entry', id: '5', ts: TS }, true);
    for (const i of [1, 2, 3]) await input(move(i, 'Men'), true);
    for (const [i, dep] of [
      [4, 'Women'],
      [5, 'Women'],
      [6, 'Men'],
      [7, 'Men'],
      [8, 'Men'],
    ] as const)
      await input(move(i, dep), false);
    await dead.close();
    await app.stop();
    again = await startTestApp({ ...app.env });
    const log = again.eventLog;
    await waitFor(async () => (await log.read({ types: ['prediction', 'no_prediction'] })).length >= 2, 10_000).catch(() => undefined);
    await sleep(500);
    const focuses = (await log.read({ types: ['focus'], source: 'output' })).map((e) => e.messageId);
    const moveId = (i: number, dep: Department) => inputId(t.move, JSON.stringify(toFlat(move(i, dep))));
    assert.equal(focuses, [`${moveId(3, 'Men')}:focus`, `${moveId(8, 'Men')}:focus`], 'the focus of move 3, logged before; of move 8, made at the restart');
    // decided in the walk's order, as a replay decides them: the first Men dwell gets its coupon first
    const decisions = await log.read({ types: ['prediction', 'no_prediction'] });
    assert.equal(
      decisions.map((d) => [d.type, d.metadata.cause]),
      focuses.map((f) => ['prediction', f]),
    );
    const replayed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], {
      env: { PATH: process.env.PATH ?? '', ...app.env },
      encoding: 'utf8',
    });
    assert.is(replayed.status, 0, replayed.stdout + replayed.stderr);
    assert.match(replayed.stdout, /identical 4, different 0, missing 0, extra 0/, replayed.stdout);
  } finally {
    await again?.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test.run();
