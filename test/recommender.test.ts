/** The recommendation service end to end: real broker, real PostgreSQL, the committed model. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../schemas/normalise.ts';
import { PredictionFlat, PredictionEnvelope, type PredictionFlatT } from '../schemas/messages.ts';
import { sql } from '../adapters/edges/database.ts';
import { startTestApp, connectClient, collect, waitFor, sleep, dropSchema, type TestApp } from './helpers.ts';
import { SMALL_STORE, seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { freePort } from '../adapters/edges/ports.ts';
import type { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';

const flatSchema = compile(PredictionFlat);
const envelopeSchema = compile(PredictionEnvelope);
const TS = SMALL_STORE.ts;
const DATE = new Date(TS * 1000).toISOString().slice(0, 10);

/** A recommender on the small store; threshold 0 so every valid coupon qualifies whatever the model says. */
async function recommender(env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0', DEAD_LETTER_TOPIC: 'dead', ...env });
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

const topic = (app: TestApp, name: 'enter' | 'focus' | 'exit' | 'prediction') => app.config.topics[name];

test('entry then focus over MQTT → one prediction with exactly the seed-002 schema, a Men coupon valid that day', async () => {
  const app = await recommender();
  const client = await connectClient();
  try {
    const got = await collect<PredictionFlatT>(client, [topic(app, 'prediction')]);
    await client.publishAsync(topic(app, 'enter'), JSON.stringify({ id: '1', ts: TS }), { qos: 1 });
    await client.publishAsync(topic(app, 'focus'), JSON.stringify({ id: '1', ts: TS + 30, dep: 'Men' }), { qos: 1 });
    await waitFor(() => got.length === 1, 10_000, 'a prediction');
    await sleep(200);
    assert.is(got.length, 1);
    const p = got[0].body;
    assert.ok(flatSchema.check(p), flatSchema.error(p));
    assert.is(p.customer.id, '1');
    assert.is(p.ts, TS + 30);
    assert.is(p.coupon.department, 'Men');
    assert.ok(SMALL_STORE.menValid.includes(p.coupon.id), `coupon ${p.coupon.id} is valid on ${DATE}`);
    assert.ok(p.coupon.start_date <= DATE && DATE <= p.coupon.end_date);
    assert.ok(p.coupon.products.length > 0 && p.coupon.products.every((x) => x.department === 'Men'));
    // the log holds the inputs and the prediction, in that order
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    assert.equal(
      log.map((e) => e.type),
      ['entry', 'focus', 'prediction'],
    );
    assert.is((log[2].data as { coupon: { id: number } }).coupon.id, p.coupon.id);
    assert.is(log[2].messageId, `${log[1].messageId}:prediction`);
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('a focus and the decision it caused are one unit: one group commit, the focus right before its prediction, published after', async () => {
  const app = await recommender();
  const client = await connectClient();
  try {
    const log = app.eventLog as PostgresEventLog;
    const got = await collect<PredictionFlatT>(client, [topic(app, 'prediction')]);
    await client.publishAsync(topic(app, 'enter'), JSON.stringify({ id: '1', ts: TS }), { qos: 1 });
    await waitFor(async () => (await log.read({ types: ['entry'] })).length === 1, 5000, 'entry logged');
    const commits = log.stats.batches;
    await client.publishAsync(topic(app, 'focus'), JSON.stringify({ id: '1', ts: TS + 30, dep: 'Men' }), { qos: 1 });
    await waitFor(() => got.length === 1, 10_000, 'a prediction');
    assert.is(log.stats.batches - commits, 1);
    const stream = await log.readStream('customer-1');
    assert.equal(
      stream.map((e) => [e.version, e.position - stream[0].position, e.type, e.metadata.source]),
      [
        [1, 0, 'entry', 'mqtt'],
        [2, 1, 'focus', 'mqtt'],
        [3, 2, 'prediction', 'output'],
      ],
    );
    assert.is(stream[2].metadata.cause, stream[1].messageId);
  } finally {
    await client.endAsync();
    await app.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test('focus with no entry loads the context first; focus racing the load; a repeat focus never repeats a coupon', async () => {
  const app = await recommender();
  const client = await connectClient();
  try {
    const got = await collect<PredictionFlatT>(client, [topic(app, 'prediction')]);
    // customer 2: focus only. customer 3: entry and focus back to back (the focus races the context load)
    await client.publishAsync(topic(app, 'focus'), JSON.stringify({ id: 2, ts: TS, dep: 'Men' }), { qos: 1 });
    await client.publishAsync(topic(app, 'enter'), JSON.stringify({ id: '3', ts: TS }), { qos: 1 });
    await client.publishAsync(topic(app, 'focus'), JSON.stringify({ id: '3', ts: TS + 1, dep: 'Men' }), { qos: 1 });
    await waitFor(() => got.length === 2, 10_000, 'two predictions');
    assert.equal(got.map((g) => g.body.customer.id).sort(), ['2', '3']);
    // four more focuses in Men for customer 3: only the two remaining valid Men coupons, never a repeat
    for (let i = 2; i <= 5; i++) await client.publishAsync(topic(app, 'focus'), JSON.stringify({ id: '3', ts: TS + i, dep: 'Men' }), { qos: 1 });
    await waitFor(() => got.filter((g) => g.body.customer.id === '3').length === 3, 10_000, 'three coupons for customer 3');
    await sleep(300);
    const offered = got.filter((g) => g.body.customer.id === '3').map((g) => g.body.coupon.id);
    assert.equal([...offered].sort(), SMALL_STORE.menValid);
    const s = await app.http.inject({ method: 'GET', url: '/sessions/3' });
    assert.is(s.statusCode, 200);
    assert.equal(s.json().offered, offered);
    assert.is(s.json().state, 'ready');
    assert.ok(s.json().path.length >= 3);
    assert.is((await app.http.inject({ method: 'GET', url: '/sessions/424242' })).statusCode, 404);
    // exit ends the session
    await client.publishAsync(topic(app, 'exit'), JSON.stringify({ id: '3', ts: TS + 60 }), { qos: 1 });
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/sessions/3' })).statusCode === 404, 5000, 'session ended');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('envelope in → envelope out (MESSAGE_FORMAT=envelope)', async () => {
  const app = await recommender({ MESSAGE_FORMAT: 'envelope' });
  const client = await connectClient();
  try {
    const got = await collect<PredictionFlatT>(client, [topic(app, 'prediction')]);
    await client.publishAsync(
      topic(app, 'enter'),
      JSON.stringify({ event_type: 'customer entry', event_timestamp: '2025-06-02T10:00:00Z', payload: { customer_id: 1 } }),
      { qos: 1 },
    );
    await client.publishAsync(
      topic(app, 'focus'),
      JSON.stringify({ event_type: 'customer focus', event_timestamp: '2025-06-02T10:00:30+00:00', payload: { customer_id: 1, department_id: 1 } }),
      { qos: 1 },
    );
    await waitFor(() => got.length === 1, 10_000, 'an envelope prediction');
    const p = got[0].body;
    assert.ok(envelopeSchema.check(p), envelopeSchema.error(p));
    assert.is(p.payload.customer_id, 1);
    assert.ok(SMALL_STORE.menValid.includes(p.payload.coupon_id));
    assert.is(p.event_timestamp, '2025-06-02T10:00:30.000Z');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('mock endpoints: both body formats, answered with the prediction or the reason', async () => {
  const app = await recommender();
  try {
    const entry = await app.http.inject({
      method: 'POST',
      url: '/mock_entry',
      payload: { event_type: 'entry event', event_timestamp: '2025-06-02T10:00:00Z', payload: { customer_id: 1 } },
    });
    assert.is(entry.statusCode, 200);
    assert.equal(entry.json().predictions, []);
    const focus = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men' } });
    assert.is(focus.statusCode, 200);
    assert.is(focus.json().predictions.length, 1);
    assert.ok(flatSchema.check(focus.json().predictions[0]));
    const envelope = await app.http.inject({
      method: 'POST',
      url: '/mock_focus',
      payload: { event_type: 'focus event', event_timestamp: '2025-06-02T10:01:00Z', payload: { customer_id: 1, category: 'Women' } },
    });
    assert.is(envelope.json().predictions[0].coupon.id, 5);
    // curl -d sends form-encoded content type with a JSON body (seed 001/002 examples)
    const curl = await app.http.inject({
      method: 'POST',
      url: '/mock_focus',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ id: '2', ts: TS, dep: 'Women' }),
    });
    assert.is(curl.json().predictions[0].coupon.id, 5);
    const unknown = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '999', ts: TS, dep: 'Men' } });
    assert.equal(unknown.json(), { predictions: [], reason: 'unknown_customer' });
    const none = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS + 5, dep: 'Sport' } });
    assert.equal(none.json(), { predictions: [], reason: 'no_coupons' });
    const dup = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men' } });
    assert.match(dup.json().reason, /duplicate/);
    for (const [payload, code] of [
      ['{"id": ', 'invalid_json'],
      [{ id: '1' }, 'schema'],
      [{ id: '1', ts: TS, dep: 'Garden' }, 'unknown_department'],
      [{ id: ['x'], ts: 'soon', dep: 5 }, 'schema'],
    ] as const) {
      const r = await app.http.inject({
        method: 'POST',
        url: '/mock_focus',
        headers: { 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      assert.is(r.statusCode, 400, JSON.stringify(payload));
      assert.is(r.json().error, code);
    }
    const big = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men', pad: 'x'.repeat(2 << 20) } });
    assert.is(big.statusCode, 413);
  } finally {
    await app.close();
  }
});

test('bad input on MQTT: warning with reason and topic, counters, dead letters, and the service carries on', async () => {
  const app = await recommender();
  const client = await connectClient();
  try {
    const got = await collect<PredictionFlatT>(client, [topic(app, 'prediction')]);
    const dead = await collect(client, [app.config.topics.deadLetter]);
    const f = topic(app, 'focus');
    await client.publishAsync(f, '{"id": "1", "ts": ', { qos: 1 });
    await client.publishAsync(f, JSON.stringify({ id: '1', ts: 'noon', dep: 'Men' }), { qos: 1 });
    await client.publishAsync(f, JSON.stringify({ id: '1', ts: TS, dep: 'Garden' }), { qos: 1 });
    await client.publishAsync(f, JSON.stringify({ id: '1', ts: TS, dep: 'Men', pad: 'x'.repeat(1 << 20) }), { qos: 1 });
    await client.publishAsync(f, JSON.stringify({ id: '999', ts: TS, dep: 'Men' }), { qos: 1 });
    await client.publishAsync(f, JSON.stringify({ id: '1', ts: TS, dep: 'Men' }), { qos: 1 });
    await waitFor(() => got.length === 1 && dead.length === 4, 10_000, 'a prediction after the bad inputs, and four dead letters');
    assert.is(got[0].body.customer.id, '1');
    assert.equal(
      dead.map((d) => d.body.code),
      ['invalid_json', 'schema', 'unknown_department', 'too_large'],
    );
    assert.ok(dead.every((d) => d.body.topic === f && d.body.reason));
    const warnings = app.entries().filter((e) => e.msg === 'input rejected');
    assert.equal(
      warnings.map((w) => w.code),
      ['invalid_json', 'schema', 'unknown_department', 'too_large'],
    );
    assert.ok(warnings.every((w) => w.topic === f));
    await waitFor(() => app.entries().some((e) => /unknown customer/.test(e.msg)), 5000, 'unknown customer warning');
    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /storeflow_inputs_rejected_total\{reason="invalid_json",source="mqtt"\} 1/);
    assert.match(metrics, /storeflow_inputs_rejected_total\{reason="too_large",source="mqtt"\} 1/);
    assert.match(metrics, /storeflow_unknown_customers_total 1/);
    assert.match(metrics, /storeflow_predictions_total\{department="Men"\} 1/);
    const rejected = await app.eventLog.read({ types: ['rejected'] });
    assert.is(rejected.length, 4, 'rejected inputs are kept in the log');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test("remote scorer over HTTP against storeflow's own /score; a dead scorer is logged and counted, never fatal", async () => {
  const scorerApp = await recommender();
  const remote = await recommender({ COUPON_SCORER_URL: `${scorerApp.url}/score` });
  const deadPort = await freePort();
  const broken = await recommender({ COUPON_SCORER_URL: `http://127.0.0.1:${deadPort}/score`, COUPON_SCORER_TIMEOUT: '500' });
  try {
    const local = await scorerApp.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '3', ts: TS, dep: 'Men' } });
    const viaHttp = await remote.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '3', ts: TS, dep: 'Men' } });
    assert.is(viaHttp.json().predictions[0].coupon.id, local.json().predictions[0].coupon.id);
    const score = await scorerApp.http.inject({
      method: 'POST',
      url: '/score',
      payload: {
        customer: {
          customer_id: 3,
          gender: 'F',
          age: 22,
          mean_buy_price: 25,
          total_coupons_used: 150,
          mean_discount_received: 20.5,
          unique_products_bought: 500,
          unique_products_bought_with_coupons: 140,
          total_items_bought: 900,
        },
        coupons: [
          {
            coupon_id: 1,
            coupon_type: 'just_discount',
            department: 'Men',
            discount: 20,
            how_many_products_required: 1,
            product_mean_price: 12.5,
            products_available: 1,
          },
          {
            coupon_id: 2,
            coupon_type: 'buy_all',
            department: 'Men',
            discount: 35,
            how_many_products_required: 2,
            product_mean_price: 21.25,
            products_available: 2,
          },
        ],
      },
    });
    const list = score.json();
    assert.is(list.length, 2);
    assert.ok(list[0].prediction >= list[1].prediction, 'sorted descending');
    assert.ok(
      list.every(
        (r: { coupon_id: unknown; customer_id: unknown; prediction: number }) =>
          typeof r.coupon_id === 'string' && r.customer_id === '3' && r.prediction >= 0 && r.prediction <= 1,
      ),
    );
    assert.is((await scorerApp.http.inject({ method: 'POST', url: '/score', payload: { customer: {} } })).statusCode, 400);
    const failed = await broken.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men' } });
    assert.equal(failed.json(), { predictions: [], reason: 'scorer_failed' });
    assert.match((await broken.http.inject({ method: 'GET', url: '/metrics' })).body, /storeflow_scorer_failures_total 1/);
    const after = await broken.http.inject({ method: 'GET', url: '/readyz' });
    assert.is(after.statusCode, 200, 'still serving');
  } finally {
    await Promise.all([scorerApp.close(), remote.close(), broken.close()]);
  }
});

test('validity: expired coupons are skipped unless COUPON_VALIDITY=ignore; /reload picks up new coupons', async () => {
  const app = await recommender({ COUPON_VALIDITY: 'ignore' });
  try {
    const offered: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = (await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS + i, dep: 'Men' } })).json();
      if (r.predictions.length) offered.push(r.predictions[0].coupon.id);
    }
    assert.equal(offered.sort(), [1, 2, 3, 4], 'with validity ignored, the 2010 coupon is offered too');
    await app.database.db.query(sql`INSERT INTO coupon_info VALUES (6, 'department', 'Men', 10, -1, '2020-01-01', '2030-12-31', 13.4, 4)`);
    await app.database.db.query(sql`INSERT INTO coupon_product SELECT 6, product_id FROM product_info WHERE department = 'Men'`);
    const reload = await app.http.inject({ method: 'POST', url: '/reload' });
    assert.equal(reload.json(), { coupons: 6, customers: 3 });
    const r = (await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS + 10, dep: 'Men' } })).json();
    assert.is(r.predictions[0].coupon.id, 6);
    assert.is(r.predictions[0].coupon.how_many, -1);
    assert.is(r.predictions[0].coupon.products.length, 4, 'a department coupon lists every product of the department');
  } finally {
    await app.close();
  }
});

test('threshold: nothing above PREDICTION_THRESHOLD → nothing published', async () => {
  const app = await recommender({ PREDICTION_THRESHOLD: '1' });
  try {
    const r = (await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men' } })).json();
    assert.equal(r, { predictions: [], reason: 'below_threshold' });
  } finally {
    await app.close();
  }
});

test('restart between entry and focus loses nothing (QoS 1, persistent session)', async () => {
  const first = await recommender();
  const env = first.env;
  const client = await connectClient();
  try {
    const got = await collect<PredictionFlatT>(client, [first.config.topics.prediction]);
    await client.publishAsync(first.config.topics.enter, JSON.stringify({ id: '1', ts: TS }), { qos: 1 });
    await waitFor(async () => (await first.eventLog.read({ types: ['entry'] })).length === 1, 5000, 'entry logged');
    await first.stop();
    // published while storeflow is down: the broker keeps it for the persistent session
    await client.publishAsync(env.FOCUS_TOPIC ? env.FOCUS_TOPIC : first.config.topics.focus, JSON.stringify({ id: '1', ts: TS + 20, dep: 'Men' }), { qos: 1 });
    const second = await startTestApp({ ...env, ROLES: 'recommender' });
    try {
      await waitFor(() => got.length === 1, 10_000, 'the focus sent during the restart is predicted');
      assert.is(got[0].body.customer.id, '1');
      const log = await second.eventLog.read({ streamId: 'customer-1' });
      assert.equal(
        log.map((e) => e.type),
        ['entry', 'focus', 'prediction'],
      );
    } finally {
      await second.stop();
    }
  } finally {
    await client.endAsync();
    await dropSchema(first.config.databaseSchema);
  }
});

test('TESTING_NO_MQTT: no broker; predictions are written to the log output', async () => {
  const app = await recommender({ TESTING_NO_MQTT: 'true', LOG_LEVEL: 'info' });
  try {
    const r = (await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: TS, dep: 'Men' } })).json();
    assert.is(r.predictions.length, 1);
    const line = app.entries().find((e) => /would publish/.test(e.msg) && e.topic === app.config.topics.prediction);
    assert.ok(line, 'the prediction is in the log output');
    assert.is(JSON.parse(String(line.payload)).coupon.id, r.predictions[0].coupon.id);
  } finally {
    await app.close();
  }
});

test.run();
