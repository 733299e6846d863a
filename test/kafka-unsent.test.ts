/**
 * A replica that logged its decisions and died before sending them (a SIGKILL between the log's commit and the
 * producer): the member of its group that reads its partitions next publishes them. Deterministic: replica A's
 * publications never leave it (its transport drops them, as a process killed right after logging would), then A
 * leaves and B, in the same group on the same log, takes its partitions. Every prediction in the log must reach the
 * prediction topic, and B's own start must not be what publishes them (A stopped cleanly: no republication at start).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestApp, uniqueName, waitFor, sleep, dropSchema, DATABASE_URL } from './helpers.ts';
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

it('a replica killed between logging its predictions and sending them: the member that takes its partitions publishes them', async () => {
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
    DATABASE_SCHEMA: name,
  };
  // replica A: what it publishes never reaches the broker (nor does the broker ever acknowledge it)
  const a = await startTestApp(env, {
    connectKafka: async (o) => {
      const client = await connectKafka(o);
      return { ...client, send: () => {}, publish: () => new Promise<void>(() => {}) };
    },
  });
  let b: Awaited<ReturnType<typeof startTestApp>> | undefined;
  const t = a.config.topics;
  const out = await collectKafka<KafkaBody>(kafka, [t.prediction]);
  try {
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
    const decisions = async () => (await a.eventLog.read({ types: ['prediction', 'no_prediction'] })).length;
    await waitFor(async () => (await decisions()) === customers.length, 20_000, "A's decisions logged");
    // what A's consumer would commit, it has committed by now
    await sleep(1000);
    const logged = (await a.eventLog.read({ types: ['prediction'] })).map((e) => {
      const d = e.data as { customer_id: string; coupon: { id: number } };
      return `${d.customer_id}:${d.coupon.id}`;
    });
    assert.ok(logged.length >= 2, `predictions logged: ${logged}`);
    await a.stop();
    // replica B takes the group's partitions and reads on from what A committed
    b = await startTestApp(env);
    await waitFor(() => out.got.length >= logged.length, 30_000, 'the predictions A logged, published').catch(() => {});
    await sleep(500);
    const published = out.got.map((p) => `${p.body.payload.customer_id}:${p.body.payload.coupon_id}`);
    assert.equal([...new Set(published)].sort(), [...logged].sort(), 'every logged prediction published');
    // B decided nothing itself: every decision is A's, once
    assert.is((await b.eventLog.read({ types: ['prediction', 'no_prediction'] })).length, customers.length);
  } finally {
    await out.stop();
    await b?.stop();
    await a.stop().catch(() => {});
    if (DATABASE_URL) await dropSchema(name);
  }
});

test.run();
