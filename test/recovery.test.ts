/**
 * Event sourcing you can trust: SIGKILL in the middle of a busy run, restart, and nothing is lost,
 * nothing is published twice, sessions continue; duplicates (QoS 1 redelivery, publisher retries) are
 * processed once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { DATABASE_URL, MQTT_URL, uniqueName, connectClient, collect, waitFor, sleep, startTestApp, dropSchema } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import pgModule from '@databases/pg';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { inputId } from '../adapters/process/processor-contract.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import type { PredictionFlatT } from '../schemas/messages.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

test('SIGKILL mid-run, restart: no input lost, no prediction published twice, sessions continue', async () => {
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
    ROLES: 'recommender',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'warn',
    AUTO_SEED: 'true',
  };
  const start = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const ready = () => waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000, 'storeflow ready');
  const topics = { enter: `${name}/customer/enter`, focus: `${name}/customer/focus`, prediction: `${name}/customer/prediction` };
  let child = start();
  const client = await connectClient();
  const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
  try {
    await ready();
    const predictions = await collect<PredictionFlatT>(client, [topics.prediction]);
    const CUSTOMERS = 40,
      ROUNDS = 12;
    const TS = 1748736000; // 2025-06-01: the generated coupons are valid
    for (let c = 1; c <= CUSTOMERS; c++) await client.publishAsync(topics.enter, JSON.stringify({ id: String(c), ts: TS }), { qos: 1 });
    const sent: string[] = [];
    let killed: NodeJS.Signals | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      for (let c = 1; c <= CUSTOMERS; c++) {
        const dep = ['Men', 'Women', 'Boys', 'Girls', 'Sport'][r % 5];
        const ts = TS + 1 + r * 100 + c;
        sent.push(`${c}:${ts}`);
        client.publish(topics.focus, JSON.stringify({ id: String(c), ts, dep }), { qos: 1 });
      }
      await sleep(60);
      if (r === 4) {
        const exited = new Promise<NodeJS.Signals | null>((ok) => child.once('exit', (_code, signal) => ok(signal)));
        child.kill('SIGKILL');
        killed = await exited;
      }
      if (r === 7) {
        child = start();
      }
    }
    assert.is(killed, 'SIGKILL', 'storeflow was killed mid-run');
    await ready();
    // every focus becomes exactly one logged input and one decision
    await waitFor(
      async () => {
        const [{ n }] = await db.query(sql`SELECT count(*)::int AS n FROM events WHERE type IN ('prediction', 'no_prediction')`);
        return n >= sent.length;
      },
      60_000,
      'a decision for every focus',
    );
    await sleep(500);
    const inputs = await db.query(sql`SELECT data FROM events WHERE type = 'focus' ORDER BY position`);
    const logged = inputs.map((r) => `${r.data.id}:${r.data.ts}`);
    assert.equal([...logged].sort(), [...sent].sort(), 'every focus logged exactly once');
    const decisions = await db.query(sql`SELECT type, message_id, data FROM events WHERE type IN ('prediction', 'no_prediction')`);
    assert.is(new Set(decisions.map((d) => d.message_id)).size, decisions.length, 'one decision per focus');
    assert.is(decisions.length, sent.length);
    // every logged prediction reached the topic, at least once: those of the last seconds before the kill are sent
    // again at the restart (a SIGKILL can come between logging and sending), as the same decision, never another
    const key = (customer: string, ts: number, coupon: number) => `${customer}:${ts}:${coupon}`;
    const wanted = decisions
      .filter((x) => x.type === 'prediction')
      .map((d) => key(d.data.customer_id, d.data.ts, d.data.coupon.id))
      .sort();
    await waitFor(
      () => new Set(predictions.map((p) => key(p.body.customer.id, p.body.ts, p.body.coupon.id))).size >= wanted.length,
      10_000,
      'every prediction published',
    );
    assert.equal([...new Set(predictions.map((p) => key(p.body.customer.id, p.body.ts, p.body.coupon.id)))].sort(), wanted);
    const perFocus = new Map<string, Set<number>>();
    for (const p of predictions)
      perFocus.set(`${p.body.customer.id}:${p.body.ts}`, (perFocus.get(`${p.body.customer.id}:${p.body.ts}`) ?? new Set()).add(p.body.coupon.id));
    assert.ok(
      [...perFocus.values()].every((coupons) => coupons.size === 1),
      'a copy sent again is the same decision',
    );
    // sessions continued: no customer was offered the same coupon twice across the crash
    const offers = new Map<string, number[]>();
    for (const d of decisions.filter((x) => x.type === 'prediction'))
      offers.set(d.data.customer_id, [...(offers.get(d.data.customer_id) ?? []), d.data.coupon.id]);
    for (const [customer, coupons] of offers) assert.is(new Set(coupons).size, coupons.length, `customer ${customer} got a coupon twice: ${coupons}`);
    assert.ok(decisions.filter((x) => x.type === 'prediction').length > sent.length / 2, 'most focuses got a coupon');
  } finally {
    child.kill('SIGKILL');
    await client.endAsync();
    await db.dispose();
    await dropSchema(name);
  }
});

test('duplicates: a redelivered or retried input is logged and processed once, also across a restart', async () => {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0' });
  const client = await connectClient();
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const got = await collect<PredictionFlatT>(client, [app.config.topics.prediction]);
    const focus = JSON.stringify({ id: '1', ts: SMALL_STORE.ts, dep: 'Men' });
    for (let i = 0; i < 3; i++) await client.publishAsync(app.config.topics.focus, focus, { qos: 1 });
    await waitFor(() => got.length >= 1, 5000, 'a prediction');
    await sleep(300);
    assert.is(got.length, 1, 'one prediction for three copies');
    assert.is((await app.eventLog.read({ types: ['focus'] })).length, 1);
    assert.match((await app.http.inject({ method: 'GET', url: '/metrics' })).body, /storeflow_inputs_duplicate_total\{source="mqtt"\} 2/);
    // the same input after a restart is still recognised (the window is rebuilt from the log)
    await app.stop();
    const again = await startTestApp({ ...app.env });
    try {
      await client.publishAsync(app.config.topics.focus, focus, { qos: 1 });
      await client.publishAsync(app.config.topics.focus, JSON.stringify({ id: '1', ts: SMALL_STORE.ts + 1, dep: 'Men' }), { qos: 1 });
      await waitFor(() => got.length >= 2, 5000, 'the new focus is predicted');
      await sleep(300);
      assert.is(got.length, 2);
      assert.is((await again.eventLog.read({ types: ['focus'] })).length, 2);
      // outputs carry a stable id derived from their input
      const [focusLogged] = await again.eventLog.read({ types: ['focus'], limit: 1 });
      const [prediction] = await again.eventLog.read({ types: ['prediction'], limit: 1 });
      assert.is(prediction.messageId, `${focusLogged.messageId}:prediction`);
    } finally {
      await again.stop();
    }
  } finally {
    await client.endAsync();
    await dropSchema(app.config.databaseSchema);
  }
});

test('an input another process logged and never decided (it died) is decided by the one it is delivered to next; a decided one is dropped', async () => {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0' });
  const client = await connectClient();
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const got = await collect<PredictionFlatT>(client, [app.config.topics.prediction]);
    const topic = app.config.topics.focus;
    const orphan = JSON.stringify({ id: '2', ts: SMALL_STORE.ts, dep: 'Men' });
    // what a replica that died between "append" and "act" leaves: the input in the log, no decision
    const dead = new PostgresEventLog(app.database.db, { log: silentLogger });
    await dead.append([
      { streamId: 'customer-2', type: 'focus', data: JSON.parse(orphan), messageId: inputId(topic, orphan), metadata: { source: 'mqtt', topic } },
    ]);
    await dead.close();
    // the broker (or Kafka, after a rebalance) delivers it again, here
    await client.publishAsync(topic, orphan, { qos: 1 });
    await waitFor(() => got.length >= 1, 5000, 'the orphan decided and published');
    const decisions = await app.eventLog.read({ types: ['prediction', 'no_prediction'] });
    assert.equal(
      decisions.map((d) => [d.type, d.metadata.cause]),
      [['prediction', inputId(topic, orphan)]],
    );
    assert.is(got[0].body.customer.id, '2');
    // once decided, a further copy is a duplicate
    await client.publishAsync(topic, orphan, { qos: 1 });
    await sleep(300);
    assert.is((await app.eventLog.read({ types: ['prediction', 'no_prediction'] })).length, 1);
    assert.is((await app.eventLog.read({ types: ['focus'] })).length, 1);
    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /^storeflow_inputs_orphaned_total 1$/m);
    assert.match(metrics, /^storeflow_inputs_duplicate_total\{source="mqtt"\} 1$/m);
  } finally {
    await client.endAsync();
    await app.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test.run();
