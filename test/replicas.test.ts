/**
 * Replicas that agree: three storeflow processes (recommender role) in one consumer group (GROUP_ID, an MQTT shared
 * subscription) on one broker and one PostgreSQL, the log as the arbiter. A customer's events land on any replica;
 * one replica is SIGKILLed mid-run and restarted. Every focus is decided exactly once, no coupon is offered twice in
 * a visit, no input is lost, and every logged prediction is what was published.
 * Needs the machine's PostgreSQL and MQTT broker (DATABASE_URL, MQTT_URL): the embedded broker has no shared
 * subscriptions, and each embedded start would bring its own database.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import pgModule from '@databases/pg';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { assertReplicasAgree } from './replicas-verdict.ts';
import { DATABASE_URL, MQTT_URL, uniqueName, connectClient, collect, waitFor, sleep, dropSchema } from './helpers.ts';
import type { PredictionFlatT } from '../schemas/messages.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

if (!DATABASE_URL || !MQTT_URL || process.env.STOREFLOW_TEST_EMBEDDED_MQTT) {
  console.log(
    'replicas: skipped — needs an MQTT broker with shared subscriptions and session takeover (MQTT_URL, e.g. Mosquitto) and a shared PostgreSQL; the embedded broker (aedes) has no shared subscriptions',
  );
} else {
  test('three replicas, one GROUP_ID, one killed and restarted: every focus decided once, no coupon twice in a visit, nothing lost', async () => {
    const name = uniqueName();
    const ports = [await freePort(), await freePort(), await freePort()];
    const base = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL,
      MQTT_URL,
      MQTT_PROTOCOL_VERSION: '5',
      DATABASE_SCHEMA: name,
      MQTT_TOPIC_PREFIX: `${name}/`,
      GROUP_ID: name,
      ROLES: 'recommender',
      PREDICTION_THRESHOLD: '0',
      LOG_LEVEL: 'warn',
      AUTO_SEED: 'true',
    };
    const replicas: ChildProcess[] = [];
    const start = (i: number) => {
      replicas[i] = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        env: { ...base, PORT: String(ports[i]), MQTT_CLIENT_ID: `${name}-r${i}` },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    };
    const ready = (i: number) =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${ports[i]}/readyz`).catch(() => null))?.status === 200, 90_000, `replica ${i} ready`);
    const topics = { enter: `${name}/customer/enter`, focus: `${name}/customer/focus`, prediction: `${name}/customer/prediction` };
    const client = await connectClient();
    const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
    try {
      // the first creates the schema and the store data; the others join it
      start(0);
      await ready(0);
      start(1);
      start(2);
      await Promise.all([ready(1), ready(2)]);
      const predictions = await collect<PredictionFlatT>(client, [topics.prediction]);
      const CUSTOMERS = 299; // not a multiple of 3: the broker's round robin sends a customer's consecutive events to different replicas
      const TS = 1748736000; // 2025-06-01: the generated coupons are valid
      const deps = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
      const sent = { entry: [] as string[], focus: [] as string[] };
      // each customer enters, then focuses twice in one department: consecutive events go to different replicas
      for (let c = 1; c <= CUSTOMERS; c++) {
        sent.entry.push(`${c}:${TS}`);
        client.publish(topics.enter, JSON.stringify({ id: String(c), ts: TS }), { qos: 1 });
      }
      await sleep(200);
      let killed: NodeJS.Signals | null = null;
      for (const round of [1, 2]) {
        for (let c = 1; c <= CUSTOMERS; c++) {
          const ts = TS + round;
          sent.focus.push(`${c}:${ts}`);
          client.publish(topics.focus, JSON.stringify({ id: String(c), ts, dep: deps[c % 5] }), { qos: 1 });
          if (round === 1 && c === 150) {
            const exited = new Promise<NodeJS.Signals | null>((ok) => replicas[1].once('exit', (_code, signal) => ok(signal)));
            replicas[1].kill('SIGKILL');
            killed = await exited;
          }
          if (c % 50 === 0) await sleep(20);
        }
      }
      assert.is(killed, 'SIGKILL', 'a replica was killed mid-run');
      await sleep(1000);
      start(1);
      await ready(1);
      await waitFor(
        async () => {
          const [{ n }] = await db.query(sql`SELECT count(*)::int AS n FROM events WHERE type IN ('prediction', 'no_prediction')`);
          return n >= sent.focus.length;
        },
        90_000,
        'a decision for every focus',
      );
      await sleep(1000);
      const decisions = await assertReplicasAgree(db, name, sent, { source: 'mqtt', customers: CUSTOMERS });
      // published: every logged prediction, at least once, and nothing else (a copy sent again is the same decision)
      const key = (customer: string, ts: number, coupon: number) => `${customer}:${ts}:${coupon}`;
      const wanted = decisions
        .filter((x) => x.type === 'prediction')
        .map((d) => key(d.data.customer_id, d.data.ts, must(d.data.coupon, 'd.data.coupon').id))
        .sort();
      await waitFor(
        () => new Set(predictions.map((p) => key(p.body.customer.id, p.body.ts, p.body.coupon.id))).size >= wanted.length,
        10_000,
        'every prediction published',
      );
      assert.equal([...new Set(predictions.map((p) => key(p.body.customer.id, p.body.ts, p.body.coupon.id)))].sort(), wanted);
      // the replicas did meet on the same customers: sessions were rebuilt from the log (a replica's first event of a
      // customer it had not followed, a decision another replica got ahead of)
      const rebuilt = await Promise.all(
        ports.map(async (p) => {
          const text = await (await fetch(`http://127.0.0.1:${p}/metrics`)).text();
          return [
            ...text.matchAll(
              /^storeflow_(sessions_rebuilt_total\{why="\w+"\}|inputs_total\{kind="\w+",source="mqtt"\}|inputs_duplicate_total\{source="mqtt"\}) (\d+)/gm,
            ),
          ].map((m) => [m[1], Number(m[2])]);
        }),
      );
      console.log(`replicas: inputs, duplicates and sessions rebuilt from the log, per replica: ${JSON.stringify(rebuilt)}`);
      assert.ok(
        rebuilt.flat().some(([k]) => String(k).startsWith('sessions_rebuilt')),
        'the replicas shared customers',
      );
    } finally {
      for (const r of replicas) r?.kill('SIGKILL');
      await client.endAsync();
      await db.dispose();
      if (!process.env.KEEP_SCHEMA)
        await dropSchema(name); // KEEP_SCHEMA=1: look at a failed run's log
      else console.log(`kept schema ${name}`);
    }
  });

  test('two processes with one MQTT_CLIENT_ID: the newcomer stops with a message naming it, the first keeps its session, nothing is lost', async () => {
    const name = uniqueName();
    const ports = [await freePort(), await freePort()];
    const env = (port: number) => ({
      PATH: process.env.PATH ?? '',
      DATABASE_URL,
      MQTT_URL,
      MQTT_PROTOCOL_VERSION: '5',
      DATABASE_SCHEMA: name,
      MQTT_TOPIC_PREFIX: `${name}/`,
      MQTT_CLIENT_ID: `${name}-same`,
      ROLES: 'recommender',
      PREDICTION_THRESHOLD: '0',
      COUPON_VALIDITY: 'ignore',
      LOG_LEVEL: 'warn',
      AUTO_SEED: 'true',
      PORT: String(port),
    });
    const first = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env: env(ports[0]), stdio: ['ignore', 'ignore', 'inherit'] });
    const client = await connectClient();
    const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[0]}/readyz`).catch(() => null))?.status === 200, 90_000, 'first ready');
      // an incumbent is a process connected for more than a moment (2.5 s, adapters/edges/mqtt.ts)
      await sleep(3000);
      const second = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env: env(ports[1]), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      second.stdout?.on('data', (d) => (out += d));
      second.stderr?.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((ok) => {
        const timer = setTimeout(() => second.kill('SIGKILL'), 60_000);
        second.once('exit', (c) => {
          clearTimeout(timer);
          ok(c);
        });
      });
      assert.is(code, 1, out);
      assert.match(out, /two storeflow processes share MQTT_CLIENT_ID/);
      assert.match(out, new RegExp(`client id ${name}-same-`));
      // the first goes on: inputs published now are all decided by it
      await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[0]}/readyz`).catch(() => null))?.status === 200, 10_000, 'first still ready');
      const TS = 1748736000;
      for (let c = 1; c <= 30; c++)
        await client.publishAsync(`${name}/customer/focus`, JSON.stringify({ id: String(c), ts: TS + c, dep: 'Girls' }), { qos: 1 });
      await waitFor(
        async () => (await db.query(sql`SELECT count(*)::int AS n FROM events WHERE type IN ('prediction', 'no_prediction')`))[0].n >= 30,
        20_000,
        'every focus decided by the first process',
      );
      assert.is((await db.query(sql`SELECT count(*)::int AS n FROM events WHERE type = 'focus'`))[0].n, 30);
    } finally {
      first.kill('SIGKILL');
      await client.endAsync();
      await db.dispose();
      await dropSchema(name);
    }
  });
}

test.run();
