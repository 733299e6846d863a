/**
 * A replica that logged its decisions and died before sending them (a SIGKILL between the log's commit and the
 * producer): the member of its group that reads its partition next publishes them. Deterministic: two replicas in one
 * group on one log, the input topics of one partition; the one that owns it never gets its publications out (its
 * transport drops them, as a process killed right after logging would), then leaves, and the other takes the
 * partition. Every prediction in the log must reach the prediction topic; the other decides nothing itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestApp, uniqueName, waitFor, sleep, dropSchema, DATABASE_URL, type TestApp } from './helpers.ts';
import { SMALL_STORE, seedSmallStore } from './fixtures/small-store.ts';
import { connectKafka } from '../adapters/edges/kafka.ts';
import { kafkaForTests, kafkaClient, produce, collectKafka, type KafkaBody, type KafkaForTests, type KafkaAt } from './kafka-helpers.ts';

const broker: KafkaForTests = await kafkaForTests('kafka-unsent.test');
if ('skip' in broker) console.log(broker.skip);
const kafka = 'skip' in broker ? (undefined as unknown as KafkaAt) : kafkaClient(broker.bootstrap);
test.after(async () => {
  if (!('skip' in broker)) await broker.stop();
});
const it = 'skip' in broker ? test.skip : test;

it('a replica killed between logging its predictions and sending them: the member that takes its partition publishes them', async () => {
  if ('skip' in broker) return;
  const name = uniqueName('ku');
  const store = await startTestApp({ ROLES: 'gateway', DATABASE_SCHEMA: name });
  await seedSmallStore(store.database.db);
  await store.stop();
  const env = {
    BOOTSTRAP_SERVERS: broker.bootstrap,
    MQTT_TOPIC_PREFIX: `${name}.`,
    GROUP_ID: name,
    CLIENT_ID: 'kafkaClients',
    MQTT_CLIENT_ID: 'kafkaClients',
    ROLES: 'recommender',
    PREDICTION_THRESHOLD: '0',
    COUPON_VALIDITY: 'ignore',
    POLL_TIMEOUT: '50',
    AUTO_OFFSET_RESET: 'earliest',
    KAFKA_PARTITIONS: '1',
    KAFKA_SESSION_TIMEOUT: '6000',
    LOG_LEVEL: 'info',
    DATABASE_SCHEMA: name,
  };
  // each replica's publications can be cut off: they then never reach the broker, nor does it acknowledge them
  const cut = [false, false];
  const replica = (i: number) =>
    startTestApp(env, {
      connectKafka: async (o) => {
        const client = await connectKafka(o);
        return {
          ...client,
          send: (topic, payload, opts, done) => (cut[i] ? undefined : client.send(topic, payload, opts, done)),
          publish: (topic, payload, opts) => (cut[i] ? new Promise<void>(() => {}) : client.publish(topic, payload, opts)),
        };
      },
    });
  const apps: TestApp[] = [];
  const out = await collectKafka<KafkaBody>(kafka, [`${name}.customer.prediction`]);
  /** The partition each replica was last given (a replica logs each assignment). */
  const owns = (app: TestApp) =>
    app
      .entries()
      .filter((e) => e.msg === 'Kafka consumer group joined')
      .map((e) => Object.values((e as unknown as { assigned: Record<string, number[]> }).assigned).flat().length)
      .at(-1);
  try {
    apps.push(await replica(0), await replica(1));
    const t = apps[0].config.topics;
    // both in the group: one of them has the partition (each has logged its last assignment)
    const { owner } = await waitFor(
      () => {
        const [a, b] = apps.map(owns);
        return a !== undefined && b !== undefined && a > 0 !== b > 0 ? { owner: a > 0 ? 0 : 1 } : undefined;
      },
      90_000,
      'the partition assigned to one replica',
    );
    cut[owner] = true;
    const customers = ['1', '2', '3'];
    await produce(
      kafka,
      t.enter,
      customers.map((id) => ({ key: id, value: { id, ts: SMALL_STORE.ts } })),
    );
    await produce(
      kafka,
      t.focus,
      customers.map((id, i) => ({ key: id, value: { id, ts: SMALL_STORE.ts + 1, dep: i === 1 ? 'Women' : 'Men' } })),
    );
    // read through the replica that stays (the owner's log is closed once it leaves)
    const other = apps[1 - owner];
    const decisions = async () => (await other.eventLog.read({ types: ['prediction', 'no_prediction'] })).length;
    await waitFor(async () => (await decisions()) === customers.length, 20_000, "the owner's decisions logged");
    // what the owner's consumer would commit, it has committed by now
    await sleep(1000);
    const logged = (await other.eventLog.read({ types: ['prediction'] })).map((e) => {
      const d = e.data as { customer_id: string; coupon: { id: number } };
      return `${d.customer_id}:${d.coupon.id}`;
    });
    assert.ok(logged.length >= 2, `predictions logged: ${logged}`);
    assert.is(out.got.length, 0, 'nothing published yet');
    // the owner leaves; the other takes the partition and reads on from what the owner committed
    await apps[owner].stop();
    await waitFor(() => out.got.length >= logged.length, 30_000, 'the predictions the owner logged, published').catch(() => {});
    await sleep(500);
    const published = out.got.map((p) => `${p.body.payload.customer_id}:${p.body.payload.coupon_id}`);
    assert.equal([...new Set(published)].sort(), [...logged].sort(), 'every logged prediction published');
    // decided once: the other replica decided nothing itself
    assert.is(await decisions(), customers.length);
  } finally {
    await out.stop();
    for (const a of apps) await a.stop().catch(() => {});
    if (DATABASE_URL) await dropSchema(name);
  }
});

test.run();
