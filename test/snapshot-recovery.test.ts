/**
 * Snapshots across a SIGKILL (issue 33, item 1): three shoppers walk for three hours of event time (a move a minute,
 * five in each department in turn: a focus per dwell, a decision per focus) through the detector and the recommender
 * of one process, recorded as if live (three hours of recorded time). Killed, restarted: each session and each walk
 * starts at its newest snapshot and reads only what follows, and goes on exactly — the first move after the restart
 * completes a dwell begun before it, no coupon is offered twice to a customer, and a replay of the whole log (no
 * crash) makes the same outputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { DATABASE_URL, MQTT_URL, uniqueName, connectClient, waitFor, sleep, dropSchema } from './helpers.ts';
import { centreOf } from '../actors/data/store-plan.ts';
import type { Department } from '../schemas/departments.ts';
import pgModule from '@databases/pg';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

const TS = 1748736000; // 2025-06-01: the generated coupons are valid
const DEPS: Department[] = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
const SHOPPERS = ['1', '2', '3'];
/** Move i (a minute apart) is in department DEPS[floor(i / 5) mod 5]: five moves a dwell, a focus at its third. */
const at = (i: number) => centreOf(DEPS[Math.floor(i / 5) % DEPS.length]);

test('a three-hour visit, SIGKILL, restart: sessions and walks start at their snapshots and go on exactly', async () => {
  const name = uniqueName();
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL,
    MQTT_URL,
    MQTT_PROTOCOL_VERSION: process.env.MQTT_PROTOCOL_VERSION ?? '4',
    DATABASE_SCHEMA: name,
    MQTT_TOPIC_PREFIX: `${name}/`,
    MQTT_CLIENT_ID: name,
    PORT: String(port),
    ROLES: 'detector,recommender',
    FOCUS_MIN_MOVES: '3',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'info',
    AUTO_SEED: 'true',
  };
  const lines: string[] = [];
  const start = (): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    return child;
  };
  const ready = () => waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000, 'storeflow ready');
  const t = { enter: `${name}/customer/enter`, move: `${name}/customer/move` };
  let child = start();
  const client = await connectClient();
  const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
  const send = (topic: string, body: object) => client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  const count = async (where: ReturnType<typeof sql>) => (await db.query(sql`SELECT count(*)::int AS n FROM events WHERE ${where}`))[0].n as number;
  // /readyz answers before the pipeline subscribes: a probe entry, sent until it is logged, says it has
  const subscribed = async (ts: number) => {
    await ready();
    await waitFor(
      async () => {
        await send(t.enter, { id: '9', ts });
        return (await count(sql`type = 'entry' AND stream_id = 'customer-9' AND (data->>'ts')::numeric = ${ts}`)) > 0;
      },
      30_000,
      'storeflow consuming its topics',
    );
  };
  /**
   * Every move logged, and every focus of the walks logged and decided. The count of moves alone says nothing: inputs
   * are logged as they arrive and run in log order after, and where a detected focus is handed on locally (MQTT 5
   * no-local) each focus's turn waits for it and its decision to be logged, so the moves in the log run ahead of the
   * focuses by what the broker has in flight (on Mosquitto: all 540 logged while 10–39 of the 108 focuses were).
   */
  const settled = async (moves: number, focuses: number, what: string) => {
    const now = async () => ({
      moves: await count(sql`type = 'move'`),
      focuses: await count(sql`type = 'focus' AND metadata->>'source' = 'output'`),
      decisions: await count(sql`type IN ('prediction', 'no_prediction')`),
    });
    const want = { moves, focuses, decisions: focuses };
    // (a focus lost would time this out: the comparison then says what is missing)
    await waitFor(async () => JSON.stringify(await now()) === JSON.stringify(want), 60_000).catch(() => undefined);
    assert.equal(await now(), want, what);
  };
  try {
    await subscribed(TS);
    for (const id of SHOPPERS) await send(t.enter, { id, ts: TS });
    for (let i = 1; i <= 180; i++) for (const id of SHOPPERS) await send(t.move, { id, ts: TS + 60 * i, ...at(i) });
    await settled(540, 108, 'three hours of walking logged and decided: a focus per dwell of three moves or more');
    // the snapshots of the last inputs due one are written within a flush (250 ms) of their turn, which can come just
    // before the walks settle: a session and a walk per shopper, unchanged for two flushes
    let rows = '';
    let since = Date.now();
    await waitFor(
      async () => {
        const now = await db.query(
          sql`SELECT stream_id, machine, version FROM snapshots WHERE stream_id IN ('customer-1', 'customer-2', 'customer-3') ORDER BY 1, 2`,
        );
        if (JSON.stringify(now) !== rows) [rows, since] = [JSON.stringify(now), Date.now()];
        return now.length === 6 && Date.now() - since >= 500;
      },
      10_000,
      'a session and a detector snapshot per shopper, as of their last inputs due one',
    );
    const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
    child.kill('SIGKILL');
    assert.is(await exited, 'SIGKILL');
    // as if recorded live: three hours of recorded time, the last event now
    await db.query(sql`
      UPDATE events SET recorded_at = now() - make_interval(secs => ((SELECT max((data->>'ts')::numeric) FROM events WHERE jsonb_typeof(data->'ts') = 'number') - (data->>'ts')::numeric)::float8)
      WHERE jsonb_typeof(data->'ts') = 'number'`);
    lines.length = 0;
    child = start();
    await subscribed(TS + 60 * 180);
    // move 180 began a dwell in Women before the crash: 182 completes it; then three more dwells in departments
    // visited often before (their coupons offered already)
    for (let i = 181; i <= 200; i++) for (const id of SHOPPERS) await send(t.move, { id, ts: TS + 60 * i, ...at(i) });
    await settled(600, 120, 'the walks after the restart logged and decided');
    await sleep(500);

    const focuses = await db.query(sql`SELECT data, message_id FROM events WHERE type = 'focus' AND metadata->>'source' = 'output' ORDER BY position`);
    const after = focuses.slice(108).map((f) => `${f.data.id}:${(f.data.ts - TS) / 60}:${f.data.dep}`);
    assert.equal(
      [...after].sort(),
      SHOPPERS.flatMap((id) => [`${id}:182:Women`, `${id}:187:Boys`, `${id}:192:Girls`, `${id}:197:Sport`]).sort(),
      'one focus per dwell, the first completed by the third move of a dwell begun before the crash',
    );
    assert.is(new Set(focuses.map((f) => f.message_id)).size, focuses.length, 'no focus made twice');
    const predictions = await db.query(sql`SELECT data FROM events WHERE type = 'prediction' ORDER BY position`);
    const offers = new Map<string, number[]>();
    for (const p of predictions) offers.set(p.data.customer_id, [...(offers.get(p.data.customer_id) ?? []), p.data.coupon.id]);
    for (const [customer, coupons] of offers) assert.is(new Set(coupons).size, coupons.length, `customer ${customer} was offered a coupon twice`);
    // the restart started every session and walk at its snapshot and read only what followed it
    const said = lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg: string; sessions?: number; shoppers?: number; fromSnapshots?: number; inputs?: number }];
      } catch {
        return [];
      }
    });
    const sessions = said.find((l) => l.msg === 'live sessions recovered from the event log');
    const walks = said.find((l) => l.msg === 'shoppers followed again from the event log');
    // (the probe customer entered three hours of event time before the log's time: idle, not recovered)
    assert.equal([sessions?.sessions, sessions?.fromSnapshots], [3, 3], 'the three shoppers, from their snapshots');
    assert.equal([walks?.shoppers, walks?.fromSnapshots], [3, 3]);
    assert.ok((sessions?.inputs ?? 99) < 3 * 32 + 1, `sessions: only the inputs after the snapshots (${sessions?.inputs})`);
    assert.ok((walks?.inputs ?? 999) < 3 * 32 + 1, `walks: only the inputs after the snapshots (${walks?.inputs})`);
    // and a replay of the whole log, with no crash, makes the same outputs
    const replayed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], { env: { ...env, LOG_LEVEL: 'warn' }, encoding: 'utf8' });
    assert.is(replayed.status, 0, replayed.stdout + replayed.stderr);
    assert.match(replayed.stdout, /identical \d+, different 0, missing 0, extra 0/);
  } finally {
    child.kill('SIGKILL');
    await client.endAsync();
    await db.dispose();
    await dropSchema(name);
  }
});

test.run();
