/**
 * Kafka for the tests: BOOTSTRAP_SERVERS when set, else the project's own local broker (adapters/edges/
 * local-kafka.ts), started once per test file on a fresh storage and stopped at its end. Without java or
 * mvn the Kafka tests are skipped with the reason — except in CI (CI=true), where that is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, Partitioners, logLevel, type Consumer } from 'kafkajs';
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

export function kafkaClient(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'storeflow-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
}

/** Publishes messages (key: the customer id unless given) and waits for the broker's acknowledgement. */
export async function produce(kafka: Kafka, topic: string, messages: { key?: string; value: string | object }[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({
      topic: kafkaTopic(topic),
      acks: -1,
      messages: messages.map((m) => ({ key: m.key ?? null, value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value) })),
    });
  } finally {
    await producer.disconnect();
  }
}

export interface Received<T = Record<string, unknown>> {
  topic: string;
  key: string | null;
  partition: number;
  raw: string;
  /** the parsed JSON (the raw text when it is not JSON), read as T */
  body: T;
}

/** Everything published on `topics` from their start, in arrival order, until `stop()`. */
export async function collectKafka<T = Record<string, unknown>>(kafka: Kafka, topics: string[]): Promise<{ got: Received<T>[]; stop: () => Promise<void> }> {
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const names = topics.map(kafkaTopic);
  const create = names.filter((t) => !existing.has(t));
  try {
    if (create.length) await createTopics(admin, create, 6);
  } finally {
    await admin.disconnect();
  }
  const consumer: Consumer = kafka.consumer({ groupId: `collect-${Date.now()}-${Math.random().toString(16).slice(2)}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: names, fromBeginning: true });
  const got: Received<T>[] = [];
  let fetched!: () => void;
  const first = new Promise<void>((ok) => (fetched = ok));
  consumer.on(consumer.events.FETCH, () => fetched());
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const raw = message.value?.toString('utf8') ?? '';
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      got.push({ topic, key: message.key?.toString('utf8') ?? null, partition, raw, body: body as T });
    },
  });
  await first;
  return { got, stop: () => consumer.disconnect() };
}

/** The committed offsets of `groupId` on `topic`, and the topic's end offsets, by partition. */
export async function offsets(kafka: Kafka, groupId: string, topic: string): Promise<{ committed: Map<number, number>; end: Map<number, number> }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [group] = await admin.fetchOffsets({ groupId, topics: [kafkaTopic(topic)] });
    const end = await admin.fetchTopicOffsets(kafkaTopic(topic));
    return {
      committed: new Map(group.partitions.map((p) => [p.partition, Number(p.offset)])),
      end: new Map(end.map((p) => [p.partition, Number(p.high)])),
    };
  } finally {
    await admin.disconnect();
  }
}
