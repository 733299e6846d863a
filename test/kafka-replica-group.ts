/**
 * Two storeflow recommender replicas in one Kafka consumer group on one PostgreSQL (`npm start` processes), the
 * customers' entries and focuses sent to them, and the verdict on what they logged, decided and published
 * (replicas-verdict.ts). test/kafka-replicas.test.ts (one broker) and test/kafka-cluster.test.ts (three) share it.
 */
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import pgModule from '@databases/pg';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { DATABASE_URL, uniqueName, waitFor, dropSchema } from './helpers.ts';
import { assertReplicasAgree } from './replicas-verdict.ts';
import { produce, collectKafka, type KafkaAt, type TestProducer } from './kafka-helpers.ts';

const createConnectionPool = (pgModule as unknown as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

/** Two replicas of the recommender (`npm start` processes) in one group on a fresh schema, the customers' events, and the verdict. */
export async function replicaGroup(label: string, kafka: KafkaAt) {
  const name = uniqueName(label);
  const ports = [await freePort(), await freePort()];
  const base = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL,
    DATABASE_SCHEMA: name,
    BOOTSTRAP_SERVERS: kafka.brokers.join(','),
    MQTT_TOPIC_PREFIX: `${name}.`,
    GROUP_ID: name,
    CLIENT_ID: 'kafkaClients',
    AUTO_OFFSET_RESET: 'earliest',
    ROLES: 'recommender',
    PREDICTION_THRESHOLD: '0',
    LOG_LEVEL: 'info',
    AUTO_SEED: 'true',
  };
  const replicas: ChildProcess[] = [];
  /** Replica 0's group assignments as it logs them: when, and how many partitions of the focus topic. */
  const joins: { at: number; focusPartitions: number }[] = [];
  const start = (i: number) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...base, PORT: String(ports[i]) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let rest = '';
    child.stdout?.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop() ?? '';
      // a consumer's crash or join, as the replica logged it: shown with a failure (the runner prints a failing file's output)
      for (const line of lines) if (/Kafka consumer/.test(line)) console.log(`replica ${i}: ${line.slice(0, 400)}`);
      if (i !== 0) return;
      for (const line of lines) {
        if (!line.includes('Kafka consumer group joined')) continue;
        const e = JSON.parse(line);
        joins.push({ at: Date.now(), focusPartitions: e.assigned?.[`${name}.customer.focus`]?.length ?? 0 });
      }
    });
    replicas[i] = child;
  };
  const ready = async (i: number) => {
    let last = 'no answer';
    try {
      await waitFor(
        async () => {
          // a replica that exited (a setting or a port refused at start) will never be ready: say so now
          const child = replicas[i];
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`replica ${i} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
          const r = await fetch(`http://127.0.0.1:${ports[i]}/readyz`).catch(() => null);
          last = r ? `${r.status} ${await r.text()}` : 'no answer';
          return r?.status === 200;
        },
        90_000,
        `replica ${i} ready`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; its /readyz said ${last}`);
    }
  };
  const topics = { enter: `${name}.customer.enter`, focus: `${name}.customer.focus`, prediction: `${name}.customer.prediction` };
  const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
  const CUSTOMERS = 200;
  const TS = 1748736000; // 2025-06-01: the generated coupons are valid
  const deps = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
  const sent = { entry: [] as string[], focus: [] as string[] };
  /** Decisions in the log of focuses at TS + `round`. */
  const decidedAt = async (round: number) =>
    (
      await db.query(
        sql`SELECT count(*)::int AS n FROM events d JOIN events f ON f.message_id = d.metadata->>'cause' WHERE d.type IN ('prediction', 'no_prediction') AND f.type = 'focus' AND (f.data->>'ts')::bigint = ${TS + round}`,
      )
    )[0].n as number;
  const decided = async () => (await db.query(sql`SELECT count(*)::int AS n FROM events WHERE type IN ('prediction', 'no_prediction')`))[0].n as number;
  return {
    name,
    db,
    topics,
    sent,
    decided,
    decidedAt,
    ports,
    replicas,
    joins,
    start,
    ready,
    CUSTOMERS,
    /** The first creates the schema, the store data and the topics; the second joins the group. */
    async up() {
      start(0);
      await ready(0);
      start(1);
      await ready(1);
      await waitFor(() => joins.at(-1)?.focusPartitions === 3, 30_000, 'the two replicas split the focus topic 3 + 3');
    },
    async enter() {
      const entries = [];
      for (let c = 1; c <= CUSTOMERS; c++) {
        sent.entry.push(`${c}:${TS}`);
        entries.push({ key: String(c), value: { id: String(c), ts: TS } });
      }
      await produce(kafka, topics.enter, entries);
    },
    /** Focuses of customers `from`..`to` at TS + `round` (through `producer` when given, else a producer of their own). */
    async focus(round: number, from: number, to: number, producer?: TestProducer) {
      const messages = [];
      for (let c = from; c <= to; c++) {
        sent.focus.push(`${c}:${TS + round}`);
        messages.push({ key: String(c), value: { id: String(c), ts: TS + round, dep: deps[c % 5] } });
      }
      if (producer) await producer.send(topics.focus, messages);
      else await produce(kafka, topics.focus, messages);
    },
    async allDecided(what: string) {
      await waitFor(async () => (await decided()) >= sent.focus.length, 60_000, what);
    },
    /** Logged once, decided once, no coupon twice in a visit, replay identical (assertReplicasAgree), every prediction published. */
    async verify() {
      const decisions = await assertReplicasAgree(db, name, sent, { source: 'kafka', customers: CUSTOMERS });
      // every logged prediction was published (seed 003's envelope, keyed by customer); a copy sent again is the same
      // decision. Read from the topic's start by a consumer of its own, after the faults
      const out = await collectKafka(kafka, [topics.prediction]);
      const key = (customer: string | number, coupon: number | undefined) => `${customer}:${coupon}`;
      const wanted = [...new Set(decisions.filter((x) => x.type === 'prediction').map((d) => key(d.data.customer_id, d.data.coupon?.id)))].sort();
      await waitFor(
        () => new Set(out.got.map((p) => key(p.body.payload.customer_id, p.body.payload.coupon_id))).size >= wanted.length,
        10_000,
        'every prediction published',
      ).catch(() => {}); // the comparison below names what is missing
      const published = [...new Set(out.got.map((p) => key(p.body.payload.customer_id, p.body.payload.coupon_id)))].sort();
      assert.equal(
        { missing: wanted.filter((k) => !published.includes(k)), extra: published.filter((k) => !wanted.includes(k)) },
        { missing: [], extra: [] },
        `${published.length} of ${wanted.length} predictions published`,
      );
      assert.ok(out.got.every((p) => p.key === String(p.body.payload.customer_id)));
      await out.stop();
    },
    async down() {
      for (const r of replicas) r?.kill('SIGKILL');
      await db.dispose();
      await dropSchema(name);
    },
  };
}
