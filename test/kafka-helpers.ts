/**
 * Kafka for the tests: BOOTSTRAP_SERVERS when set, else the project's own local broker (adapters/edges/
 * local-kafka.ts), started once per test file on a fresh storage and stopped at its end. Without java or
 * mvn the Kafka tests are skipped with the reason — except in CI (CI=true), where that is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin, Consumer, MessagesStreamModes, Producer, compatibilityPartitioner } from '@platformatic/kafka';
import { localKafkaUnavailable, startLocalKafka, type LocalKafka } from '../adapters/edges/local-kafka.ts';
import { createTopics, kafkaTopic } from '../adapters/edges/kafka.ts';

export type KafkaForTests =
  | {
      bootstrap: string;
      local?: LocalKafka;
      /** The local broker stopped (a controlled shutdown) and started again on its port and storage; undefined on BOOTSTRAP_SERVERS. */
      restart?: (downMs: number) => Promise<void>;
      stop(): Promise<void>;
    }
  | { skip: string };

/** The jars live where `npm run kafka` and .ci/run put them: STOREFLOW_HOME, or the checkout's .storeflow. */
const HOME = process.env.STOREFLOW_HOME || resolve(import.meta.dirname, '..', '.storeflow');

export async function kafkaForTests(file: string): Promise<KafkaForTests> {
  if (process.env.BOOTSTRAP_SERVERS) return { bootstrap: process.env.BOOTSTRAP_SERVERS, stop: async () => {} };
  const missing = localKafkaUnavailable();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`${file}: ${missing}; CI must run the Kafka tests (install a JDK 17+ and Maven)`);
    return { skip: `${file}: ${missing} and BOOTSTRAP_SERVERS is not set: Kafka tests skipped` };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'storeflow-test-kafka-'));
  let local = await startLocalKafka({ home: HOME, dataDir, heap: '384m', partitions: 6 });
  return {
    bootstrap: local.bootstrapServers,
    local,
    async restart(downMs: number) {
      await local.stop();
      await new Promise((ok) => setTimeout(ok, downMs));
      local = await startLocalKafka({ home: HOME, dataDir, port: local.port, heap: '384m', partitions: 6 });
    },
    async stop() {
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Where the tests' own clients connect. */
export interface KafkaAt {
  brokers: string[];
}

export function kafkaClient(bootstrap: string): KafkaAt {
  return { brokers: bootstrap.split(',') };
}

const admin = (kafka: KafkaAt) => new Admin({ clientId: 'storeflow-test', bootstrapBrokers: kafka.brokers, retries: 5, retryDelay: 500 });

/** Creates the topics that are missing (6 partitions, as storeflow does). */
export async function ensureTopics(kafka: KafkaAt, names: string[]): Promise<void> {
  const a = admin(kafka);
  try {
    await createTopics(a, names, 6);
  } finally {
    await a.close();
  }
}

export interface TestProducer {
  /** Publishes messages (key: the customer id unless given) and waits for every in-sync replica's acknowledgement. */
  send(topic: string, messages: { key?: string; value: string | object }[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * An idempotent producer that keeps sending through a broker's death for up to ~60 s, partitioned as storeflow's (the
 * Java client's murmur2). A send that fails is sent again whole, as storeflow's own producer does (adapters/edges/
 * kafka.ts): @platformatic/kafka groups a send's messages by partition leader once, and retries a group whose
 * partitions' leaders moved to different brokers against one of them only, so its own retries (kept short here) never
 * get such a send through. A message may then be in its topic twice (what a live leader took before the failure):
 * storeflow's log drops the copy.
 */
export function kafkaProducer(kafka: KafkaAt): TestProducer {
  const producer = new Producer({
    clientId: 'storeflow-test',
    bootstrapBrokers: kafka.brokers,
    idempotent: true,
    partitioner: compatibilityPartitioner,
    retries: 3,
    retryDelay: 300,
  });
  const made = new Set<string>();
  return {
    async send(topic, messages) {
      const name = kafkaTopic(topic);
      if (!made.has(name)) {
        await ensureTopics(kafka, [name]);
        made.add(name);
      }
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await producer.send({
            messages: messages.map((m) => ({
              topic: name,
              key: m.key === undefined ? undefined : Buffer.from(m.key),
              value: Buffer.from(typeof m.value === 'string' ? m.value : JSON.stringify(m.value)),
            })),
          });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((ok) => setTimeout(ok, 500));
        }
      }
    },
    close: () => producer.close(),
  };
}

/** Publishes messages (key: the customer id unless given) and waits for every in-sync replica's acknowledgement. */
export async function produce(kafka: KafkaAt, topic: string, messages: { key?: string; value: string | object }[]): Promise<void> {
  const producer = kafkaProducer(kafka);
  try {
    await producer.send(topic, messages);
  } finally {
    await producer.close();
  }
}

/** What the Kafka tests read of a record's JSON: seed 003's envelope (`payload`) or a flat event. */
export interface KafkaBody {
  payload: { customer_id: number; coupon_id: number };
  event_timestamp?: string;
  id?: string;
  dep?: string;
}

/** A record read back: its JSON body as the test reads it (`T`); a record that is not JSON, its text. */
export interface Received<T = KafkaBody> {
  topic: string;
  key: string | null;
  partition: number;
  raw: string;
  body: T;
}

/** Everything published on `topics` from their start, in arrival order, until `stop()`. */
export async function collectKafka<T = KafkaBody>(kafka: KafkaAt, topics: string[]): Promise<{ got: Received<T>[]; stop: () => Promise<void> }> {
  const names = topics.map(kafkaTopic);
  await ensureTopics(kafka, names);
  const consumer = new Consumer({
    clientId: 'storeflow-test',
    bootstrapBrokers: kafka.brokers,
    groupId: `collect-${Date.now()}-${Math.random().toString(16).slice(2)}`,
    maxWaitTime: 50,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    retries: 20,
    retryDelay: 500,
  });
  const stream = await consumer.consume({ topics: names, mode: MessagesStreamModes.EARLIEST, autocommit: false });
  const got: Received<T>[] = [];
  const first = new Promise<void>((ok) => stream.once('fetch', () => ok()));
  stream.on('data', (message) => {
    const raw = message.value?.toString('utf8') ?? '';
    let body: T;
    try {
      body = JSON.parse(raw) as T;
    } catch {
      body = raw as unknown as T;
    }
    got.push({ topic: message.topic, key: message.key?.toString('utf8') ?? null, partition: message.partition, raw, body });
  });
  stream.on('error', () => {}); // a broker killed under it: the test's own comparison says what is missing
  await first;
  return {
    got,
    stop: async () => {
      await stream.close().catch(() => {});
      await consumer.close(true).catch(() => {});
    },
  };
}

/** The committed offsets of `groupId` on `topic`, and the topic's end offsets, by partition. */
export async function offsets(kafka: KafkaAt, groupId: string, topic: string): Promise<{ committed: Map<number, number>; end: Map<number, number> }> {
  const a = admin(kafka);
  try {
    const name = kafkaTopic(topic);
    const [group] = await a.listConsumerGroupOffsets({ groups: [groupId] });
    const meta = await a.metadata({ topics: [name] });
    const count = meta.topics.get(name)?.partitionsCount ?? 0;
    const [listed] = await a.listOffsets({
      topics: [{ name, partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
    });
    const mine = group?.topics.find((t) => t.name === name)?.partitions ?? [];
    return {
      committed: new Map(mine.filter((p) => p.committedOffset >= 0n).map((p) => [p.partitionIndex, Number(p.committedOffset)])),
      end: new Map(listed.partitions.map((p) => [p.partitionIndex, Number(p.offset)])),
    };
  } finally {
    await a.close();
  }
}
