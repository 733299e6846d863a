/**
 * storeflow on Apache Kafka (seed 003), on a real broker: the project's own (npm run kafka's module, started
 * once for this file) or BOOTSTRAP_SERVERS. Seed 003's envelopes in, its prediction result out; offsets
 * committed once inputs are logged; a poison message never blocks its partition; AUTO_OFFSET_RESET; the
 * whole loop simulator → detector → recommender → gateway stream.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import WebSocket from 'ws';
import { startTestApp, uniqueName, waitFor, sleep, type TestApp } from './helpers.ts';
import { SMALL_STORE, seedSmallStore } from './fixtures/small-store.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { customerKey, kafkaTopic } from '../adapters/edges/kafka.ts';
import { parseConfig } from '../schemas/env.ts';
import { kafkaForTests, kafkaClient, produce, collectKafka, offsets, type KafkaBody, type KafkaForTests, type KafkaAt } from './kafka-helpers.ts';

// CommonJS modules: their classes are the `default` of what an ES import gets
const ajv = new Ajv.default({ allErrors: true });
addFormats.default(ajv);
const predictionResult = ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'seed-003', 'prediction_result.schema.json'), 'utf8')));

// started once for this file (stopped by test.after); without java/mvn the broker tests are skipped (CI fails instead)
const started = Date.now();
const broker: KafkaForTests = await kafkaForTests('kafka.test');
if ('skip' in broker) console.log(broker.skip);
const kafka = 'skip' in broker ? (undefined as unknown as KafkaAt) : kafkaClient(broker.bootstrap);
test.after(async () => {
  if ('skip' in broker) return;
  await broker.stop();
  console.log(`kafka.test: broker ${broker.local ? `started in ${broker.local.startMs} ms, ` : ''}file ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** A storeflow on Kafka: its own topics (prefix), consumer group and schema; the small store. */
async function onKafka(env: Record<string, string> = {}): Promise<TestApp> {
  if ('skip' in broker) throw new Error('no broker');
  const name = uniqueName('k');
  // inputs already on the topics are read as soon as the pipeline starts: the store must be there first
  const store = await startTestApp({ ROLES: 'gateway', DATABASE_SCHEMA: env.DATABASE_SCHEMA ?? name });
  await seedSmallStore(store.database.db);
  await store.stop();
  const app = await startTestApp({
    BOOTSTRAP_SERVERS: broker.bootstrap,
    MQTT_TOPIC_PREFIX: `${name}.`,
    GROUP_ID: name,
    // seed 003's default client label, the same on every instance (MQTT_CLIENT_ID, its alias, is the test harness's own otherwise)
    CLIENT_ID: 'kafkaClients',
    MQTT_CLIENT_ID: 'kafkaClients',
    ROLES: 'recommender',
    PREDICTION_THRESHOLD: '0',
    COUPON_VALIDITY: 'ignore',
    POLL_TIMEOUT: '50',
    ...(process.env.KAFKA_TEST_LOG_LEVEL ? { LOG_LEVEL: process.env.KAFKA_TEST_LOG_LEVEL } : {}),
    DATABASE_SCHEMA: name,
    ...env,
  });
  return app;
}

/** A test that needs the broker: skipped (and counted so) without one. */
const it = 'skip' in broker ? test.skip : test;

test('customer keys: seed 003 envelopes, flat events and flat predictions', () => {
  assert.is(customerKey('{"event_type":"customer entry","event_timestamp":"2001-12-17T09:30:47.0","payload":{"customer_id":1}}'), '1');
  assert.is(customerKey('{"id": "127", "ts": 192322800, "dep": "Boys"}'), '127');
  assert.is(customerKey('{"customer":{"id":"11"},"coupon":{"id":22,"type":"buy_more"},"ts":1}'), '11');
  assert.is(customerKey(Buffer.from('{"id":42,"ts":1}')), '42');
  assert.is(customerKey('START'), undefined);
  assert.is(kafkaTopic('t_1/customer/enter'), 't_1.customer.enter');
  assert.is(kafkaTopic('focusEventPump.command/pump host:1'), 'focusEventPump.command.pump_host_1');
});

test('BOOTSTRAP_SERVERS: Kafka for every topic, Kafka-legal default names, the envelope by default, seed 003 variables honoured', () => {
  const r = parseConfig({
    BOOTSTRAP_SERVERS: '127.0.0.1:9092, b:9093',
    GROUP_ID: 'recommenders',
    CLIENT_ID: 'kafkaClients',
    AUTO_OFFSET_RESET: 'Earliest',
    POLL_TIMEOUT: '250',
  });
  assert.ok(r.ok, r.ok ? '' : r.problems.join('; '));
  if (!r.ok) return;
  assert.is(r.config.transport, 'kafka');
  assert.equal(r.config.kafka, {
    brokers: ['127.0.0.1:9092', 'b:9093'],
    clientId: 'kafkaClients',
    groupId: 'recommenders',
    pollTimeoutMs: 250,
    autoOffsetReset: 'earliest',
    partitions: 6,
    sessionTimeoutMs: 10000,
  });
  assert.equal(Object.values(r.config.topics).filter(Boolean), [
    'customer.enter',
    'customer.move',
    'customer.exit',
    'customer.focus',
    'customer.browsing',
    'customer.redemption',
    'customer.prediction',
    'focusEventPump.command',
  ]);
  assert.is(r.config.messageFormat, 'envelope');
  // seed 003's topic names are used as given; MESSAGE_FORMAT still switches
  const named = parseConfig({ BOOTSTRAP_SERVERS: 'k:9092', ENTRY_EVENT_TOPIC_NAME: 'ENTRY_EVENT', MESSAGE_FORMAT: 'flat' });
  assert.ok(named.ok && named.config.topics.enter === 'ENTRY_EVENT' && named.config.messageFormat === 'flat');
  // a '/' cannot be a Kafka topic; a broker list must be host:port
  const bad = parseConfig({ BOOTSTRAP_SERVERS: 'k', FOCUS_EVENT_TOPIC_NAME: 'customer/focus' });
  assert.ok(!bad.ok && bad.problems.some((p) => p.startsWith('BOOTSTRAP_SERVERS')) && bad.problems.some((p) => p.includes('"customer/focus"')));
  // without BOOTSTRAP_SERVERS nothing changes: MQTT, its topics, the flat format
  const mqtt = parseConfig({});
  assert.ok(
    mqtt.ok &&
      mqtt.config.transport === 'mqtt' &&
      mqtt.config.mqtt.mode === 'embedded' &&
      mqtt.config.topics.enter === 'customer/enter' &&
      mqtt.config.messageFormat === 'flat' &&
      !mqtt.config.kafka,
  );
});

it("seed 003's example messages in, prediction result envelopes out (its draft-04 schema), keyed by customer, offsets committed", async () => {
  const app = await onKafka();
  const t = app.config.topics;
  assert.is(app.config.messageFormat, 'envelope');
  assert.ok(!t.enter.includes('/') && t.enter.endsWith('customer.enter'), t.enter);
  let out: Awaited<ReturnType<typeof collectKafka<KafkaBody>>> | undefined;
  try {
    out = await collectKafka(kafka, [t.prediction]);
    const got = out.got;
    // seed 003 README's examples, verbatim (department_id 1 = Men), then a focus by category
    await produce(kafka, t.enter, [
      { key: '1', value: { event_type: 'customer entry', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1 } } },
      { key: '2', value: { event_type: 'customer entry', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 2 } } },
    ]);
    await produce(kafka, t.focus, [
      { key: '1', value: { event_type: 'customer focus', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1, department_id: 1 } } },
      { key: '2', value: { event_type: 'customer focus', event_timestamp: '2001-12-17T09:31:00.0', payload: { customer_id: 2, category: 'Women' } } },
    ]);
    await waitFor(() => got.length >= 2, 20_000, 'two predictions');
    await sleep(300);
    assert.is(got.length, 2);
    for (const p of got) assert.ok(predictionResult(p.body), `${p.raw}: ${ajv.errorsText(predictionResult.errors)}`);
    const byCustomer = new Map(got.map((p) => [p.body.payload.customer_id, p]));
    assert.equal([...byCustomer.keys()].sort(), [1, 2]);
    // COUPON_VALIDITY=ignore (seed 003's examples are of 2001): any Men coupon
    assert.ok([1, 2, 3, 4].includes(must(byCustomer.get(1), 'byCustomer.get(1)').body.payload.coupon_id));
    assert.is(must(byCustomer.get(2), 'byCustomer.get(2)').body.payload.coupon_id, 5);
    assert.is(must(byCustomer.get(1), 'byCustomer.get(1)').body.event_timestamp, '2001-12-17T09:30:47.000Z');
    // keyed by customer id
    assert.equal(got.map((p) => p.key).sort(), ['1', '2']);
    // in the log: inputs from Kafka, then the prediction
    // (entry and focus are two topics: Kafka orders each partition, not one topic against another)
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    assert.equal(log.map((e) => [e.type, e.metadata.source]).sort(), [
      ['entry', 'kafka'],
      ['focus', 'kafka'],
      ['prediction', 'output'],
    ]);
    assert.is(log.at(-1)?.type, 'prediction');
    // every input's offset is committed (after it was logged)
    for (const topic of [t.enter, t.focus]) {
      await waitFor(
        async () => {
          const o = await offsets(kafka, must(app.config.kafka, 'app.config.kafka').groupId, topic);
          return [...o.end].every(([p, end]) => end === 0 || o.committed.get(p) === end);
        },
        10_000,
        `offsets of ${topic} committed`,
      );
    }
  } finally {
    await out?.stop();
    await app.close();
  }
});

it('a poison message on a partition, then good ones: rejected and logged, its offset committed, the good ones decided', async () => {
  const app = await onKafka({ DEAD_LETTER_TOPIC: 'dead' });
  const t = app.config.topics;
  let out: Awaited<ReturnType<typeof collectKafka<KafkaBody>>> | undefined;
  try {
    out = await collectKafka(kafka, [t.prediction, t.deadLetter]);
    const got = out.got;
    // all keyed 3: one partition, in this order
    await produce(kafka, t.focus, [
      { key: '3', value: '{"id": "3", ' },
      { key: '3', value: { event_type: 'customer focus', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 3, category: 'Toys' } } },
      { key: '3', value: { id: '3', ts: SMALL_STORE.ts } },
      { key: '3', value: 'x'.repeat(70_000) },
      { key: '3', value: { id: '3', ts: SMALL_STORE.ts + 1, dep: 'Men' } },
      { key: '3', value: { event_type: 'customer focus', event_timestamp: '2025-06-02T10:01:00Z', payload: { customer_id: 3, category: 'Men' } } },
    ]);
    await waitFor(() => got.filter((g) => g.topic === kafkaTopic(t.prediction)).length >= 2, 20_000, 'two predictions');
    await waitFor(() => got.filter((g) => g.topic === kafkaTopic(t.deadLetter)).length >= 4, 10_000, 'four dead letters');
    const rejected = await app.eventLog.read({ streamId: 'rejected' });
    assert.equal(rejected.map((e) => (e.data as { code?: unknown }).code).sort(), ['invalid_json', 'schema', 'too_large', 'unknown_department']);
    const predictions = got.filter((g) => g.topic === kafkaTopic(t.prediction));
    assert.equal(
      predictions.map((p) => p.body.payload.customer_id),
      [3, 3],
    );
    assert.is(new Set(predictions.map((p) => p.body.payload.coupon_id)).size, 2, 'no coupon twice in a visit');
    await waitFor(
      async () => {
        const o = await offsets(kafka, must(app.config.kafka, 'app.config.kafka').groupId, t.focus);
        return [...o.end].every(([p, end]) => end === 0 || o.committed.get(p) === end);
      },
      10_000,
      'every offset of the focus topic committed, the poison ones too',
    );
  } finally {
    await out?.stop();
    await app.close();
  }
});

it('AUTO_OFFSET_RESET: earliest reads the messages a topic had before the group existed, latest only new ones', async () => {
  const prefix = `${uniqueName('reset')}.`;
  const focusTopic = `${prefix}customer.focus`;
  const enterTopic = `${prefix}customer.enter`;
  // old messages, before any storeflow group exists
  await produce(kafka, enterTopic, [{ key: '1', value: { id: '1', ts: SMALL_STORE.ts } }]);
  await produce(kafka, focusTopic, [{ key: '1', value: { id: '1', ts: SMALL_STORE.ts + 1, dep: 'Men' } }]);
  const earliest = await onKafka({ MQTT_TOPIC_PREFIX: prefix, AUTO_OFFSET_RESET: 'earliest' });
  const latest = await onKafka({ MQTT_TOPIC_PREFIX: prefix, AUTO_OFFSET_RESET: 'LATEST' });
  try {
    await waitFor(
      async () => (await earliest.eventLog.read({ streamId: 'customer-1', types: ['prediction'] })).length === 1,
      20_000,
      'earliest decides the old focus',
    );
    // a new focus: both groups read it
    await produce(kafka, focusTopic, [{ key: '2', value: { id: '2', ts: SMALL_STORE.ts + 2, dep: 'Women' } }]);
    for (const app of [earliest, latest])
      await waitFor(async () => (await app.eventLog.read({ streamId: 'customer-2', types: ['prediction'] })).length === 1, 20_000, 'the new focus decided');
    assert.equal(
      (await latest.eventLog.read({ streamId: 'customer-1' })).map((e) => e.type),
      [],
      'latest never saw the old messages',
    );
    // two topics: Kafka orders each partition, not one topic against another (a focus before its entry loads the context itself)
    const old = (await earliest.eventLog.read({ streamId: 'customer-1' })).map((e) => e.type);
    assert.equal([...old.slice(0, 2)].sort(), ['entry', 'focus']);
    assert.is(old[2], 'prediction');
  } finally {
    await earliest.close();
    await latest.close();
  }
});

it('the whole loop on Kafka: simulator → detector → recommender → gateway stream', async () => {
  const app = await onKafka({
    ROLES: 'recommender,detector,simulator,gateway',
    CUSTOMERS_AVERAGE_IN_STORE: '0',
    CONSUME_FREQUENCY: '0.05',
    CONSUME_BATCH_SIZE: '100',
  });
  const t = app.config.topics;
  let out: Awaited<ReturnType<typeof collectKafka<KafkaBody>>> | undefined;
  let ws: WebSocket | undefined;
  try {
    out = await collectKafka(kafka, [t.enter, t.move, t.focus, t.prediction, t.exit]);
    const got = out.got;
    const gw = app.roles.get('gateway') as GatewayHandle;
    const stream = await (
      await fetch(`http://127.0.0.1:${gw.apiPort}/event-stream/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ routing_key: 'prediction' }),
      })
    ).json();
    const socket = new WebSocket(stream.location.replace(/localhost/, '127.0.0.1'));
    ws = socket;
    const streamed: { message_type: string; stream_id: string; message_body: { customer_id: string } }[] = [];
    socket.on('message', (d) => streamed.push(JSON.parse(d.toString())));
    await new Promise((ok, fail) => socket.once('open', ok).once('error', fail));
    assert.is((await app.http.inject({ method: 'POST', url: '/simulator/start' })).statusCode, 200);
    const now = Math.floor(Date.now() / 1000);
    const path = [
      { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: now },
      { type: 'MOVE', location: { x: 900, y: 300 }, timestamp: now + 1 },
      { type: 'MOVE', location: { x: 800, y: 750 }, timestamp: now + 2 },
      { type: 'MOVE', location: { x: 803, y: 752 }, timestamp: now + 3 },
      { type: 'MOVE', location: { x: 806, y: 749 }, timestamp: now + 4 },
      { type: 'MOVE', location: { x: 1000, y: 300 }, timestamp: now + 5 },
      { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: now + 6 },
    ];
    const r = await app.http.inject({ method: 'POST', url: '/scenario?recalculate_time=true', payload: { customer: { customer_id: '1' }, path } });
    assert.is(r.statusCode, 200, r.body);
    const prediction = await waitFor(() => got.find((g) => g.topic === kafkaTopic(t.prediction)), 20_000, 'a prediction on Kafka');
    assert.equal([prediction.key, prediction.body.payload.customer_id], ['1', 1]);
    assert.ok(predictionResult(prediction.body), ajv.errorsText(predictionResult.errors));
    const focus = must(
      got.find((g) => g.topic === kafkaTopic(t.focus)),
      'got.find((g) => g.topic === kafkaTopic(t.focus))',
    );
    assert.equal([focus.key, focus.body.id, focus.body.dep], ['1', '1', 'Men']);
    // every event of the visit went through Kafka keyed by the customer: one partition, in order
    await waitFor(() => got.some((g) => g.topic === kafkaTopic(t.exit)), 10_000, 'the exit');
    assert.ok(got.every((g) => g.key === '1'));
    // the gateway streams the prediction from the log
    const streamedPrediction = await waitFor(() => streamed.find((m) => m.message_type === 'prediction'), 10_000, 'the prediction on the event stream');
    assert.equal([streamedPrediction.stream_id, streamedPrediction.message_body.customer_id], ['customer-1', '1']);
    // the detector's focus came back through Kafka (a Kafka client hears its own publications) and was logged as an input
    assert.is(app.pipeline.handOffLocally, false);
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    const focuses = log.filter((e) => e.type === 'focus');
    assert.equal(
      focuses.map((e) => e.metadata.source),
      ['output', 'kafka'],
    );
    assert.is(
      must(
        log.find((e) => e.type === 'prediction'),
        'log.find((e) => e.type === "prediction")',
      ).messageId,
      `${focuses[1].messageId}:prediction`,
    );
  } finally {
    ws?.close();
    await out?.stop();
    await app.close();
  }
});

it("the pump's command topics are logged with the names Kafka has for them, and its own one reaches it", async () => {
  const app = await onKafka({ ROLES: 'pump', PUMP_INSTANCE_ID: 'pump-vm', LOG_LEVEL: 'info', AUTO_OFFSET_RESET: 'earliest' });
  try {
    const command = app.config.topics.command;
    assert.ok(command.endsWith('.focusEventPump.command'), command);
    const ready = app.entries().find((e) => e.msg === 'focus-event pump ready, instance id pump-vm');
    // the topic created is focusEventPump.command.pump-vm; the log once said focusEventPump.command/pump-vm
    assert.equal(ready?.commandTopics, [command, `${command}.pump-vm`]);
    await produce(kafka, `${command}.pump-vm`, [{ key: 'pump-vm', value: 'START' }]);
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/state' })).json().state === 'started', 60_000, 'the pump started');
  } finally {
    await app.close();
  }
});

test.run();
