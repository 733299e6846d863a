/**
 * The Kafka transport (both sides of ./transport.ts) through @platformatic/kafka (maintained, pure JavaScript),
 * chosen when BOOTSTRAP_SERVERS is set.
 * - Publications go through an idempotent producer (acks from every in-sync replica; the broker drops a batch the
 *   producer sends twice), keyed by customer id (read from the payload) and partitioned as the Java client does
 *   (murmur2 of the key), so a customer's events share a partition and keep their order. What is sent while a batch
 *   is in flight goes in the next one (one batch at a time: order kept); a failed batch is sent again until taken.
 * - Subscriptions (./kafka-subscription.ts) read the input topics in the consumer group GROUP_ID, co-partitioned,
 *   and commit an input's offset only once its handler resolved (the input is in the event log).
 * - Topic names are Kafka's (no '/'): a name with other characters is mapped ('/' → '.', anything else
 *   illegal → '_'); handlers hear the name they subscribed with. Missing topics are created with
 *   KAFKA_PARTITIONS partitions and the cluster's default replication factor; existing ones are used as they are.
 */
import { randomBytes } from 'node:crypto';
import { Admin, Producer, compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka';
import type { Config, KafkaConfig } from '../../schemas/env.ts';
import type { Logger } from '../process/logger.ts';
import { createTopics, customerKey, kafkaTopic } from './kafka-topics.ts';
import { subscribeKafka, type Subscription } from './kafka-subscription.ts';
import type { MessageHandler, SendOptions, Transport, TransportClient } from './transport.ts';

export { createTopics, customerKey, kafkaTopic };

export interface KafkaConnectOptions extends KafkaConfig {
  /** The role this client serves (logs; the group of a subscription every instance must hear). */
  role: string;
  log: Logger;
  /** Most messages in one produce request (default 1000). */
  maxBatch?: number;
}

export function kafkaOptions(config: Config, role: string, log: Logger): KafkaConnectOptions {
  if (!config.kafka) throw new Error('kafkaOptions: BOOTSTRAP_SERVERS is not set');
  return { ...config.kafka, role, log };
}

/** The Kafka transport of this configuration; `connect`: another client (bench:recommender's kafkajs). */
export function kafkaTransport(config: Config, log: Logger, connect: typeof connectKafka = connectKafka): Transport {
  return {
    source: 'kafka',
    // a consumer group hears every publication to its topics, its own members' too: outputs come back through Kafka
    handsOffLocally: false,
    // an offset is committed once the input's outputs are taken by the broker: the partition's next owner reads an
    // input again whose prediction a crash kept from the producer, and publishes it
    acksAfterPublication: true,
    connect: (role) => connect(kafkaOptions(config, role, log.child({ role, part: 'kafka' }))),
  };
}

type Pending = { message: MessageToProduce; done?: (err?: Error) => void };
const ID_HEADER = Buffer.from('storeflow-id');
const TRACEPARENT = Buffer.from('traceparent');
const TRACESTATE = Buffer.from('tracestate');

export async function connectKafka(o: KafkaConnectOptions): Promise<TransportClient> {
  const log = o.log;
  const shown = o.brokers.join(',');
  const producer = new Producer({
    clientId: o.clientId,
    bootstrapBrokers: o.brokers,
    idempotent: true,
    // the Java client's partitioner (murmur2 of the key): a customer lands on the partition any Kafka client would pick
    partitioner: compatibilityPartitioner,
    autocreateTopics: false,
    connectTimeout: 5000,
    // this module sends a failed batch again itself (and says so in the log); the client's own retries are short
    retries: 5,
    retryDelay: 200,
  });
  const admin = new Admin({ clientId: o.clientId, bootstrapBrokers: o.brokers, connectTimeout: 5000, retries: 2, retryDelay: 500 });
  try {
    await admin.metadata({ topics: [] });
  } catch (err) {
    await producer.close().catch(() => {});
    await admin.close().catch(() => {});
    throw new Error(
      `Kafka brokers ${shown} could not be reached: ${(err as Error).message}. Is BOOTSTRAP_SERVERS right (npm run kafka starts a local broker)?`,
    );
  }
  log.info({ brokers: shown, clientId: o.clientId }, 'connected to Kafka');

  // --- topics: created when missing (KAFKA_PARTITIONS), used as they are otherwise
  const known = new Set<string>();
  let creating: Promise<void> = Promise.resolve();
  const ensureTopics = (names: string[]) => {
    const next = creating.then(async () => {
      const missing = names.filter((t) => !known.has(t));
      if (missing.length === 0) return;
      const created = await createTopics(admin, missing, o.partitions);
      if (created.length) log.info({ topics: created, partitions: o.partitions }, 'Kafka topics created');
      for (const t of missing) known.add(t);
    });
    creating = next.catch(() => undefined);
    return next;
  };

  // --- producer: what is sent while a batch is in flight goes in the next one (in order; retried until taken)
  let queue: Pending[] = [];
  let flushing = false;
  let closed = false;
  let healthy = true;
  let lastFailureLog = 0;
  const maxBatch = o.maxBatch ?? 1000;
  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length && !closed) {
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        let attempt = 0;
        for (;;) {
          try {
            await ensureTopics([...new Set(batch.map((p) => p.message.topic))]);
            await producer.send({ messages: batch.map((p) => p.message) });
            if (!healthy) log.info({ brokers: shown }, 'Kafka takes publications again');
            healthy = true;
            for (const p of batch) p.done?.();
            break;
          } catch (err) {
            healthy = false;
            if (closed) {
              for (const p of batch) p.done?.(err as Error);
              break;
            }
            // an outage delays publications, it never drops them: the same batch again, in order
            if (Date.now() - lastFailureLog > 5000) {
              lastFailureLog = Date.now();
              log.warn({ err: (err as Error).message, brokers: shown, messages: batch.length }, 'Kafka publication failed; retrying');
            }
            await new Promise((ok) => setTimeout(ok, Math.min(5000, 200 * 2 ** Math.min(attempt++, 5))));
          }
        }
      }
    } finally {
      flushing = false;
    }
    // failed sends left for close: each hears it
    if (closed) for (const p of queue.splice(0)) p.done?.(new Error('the Kafka client is closed'));
  };
  const enqueue = (topic: string, payload: string | Buffer, opts: SendOptions, done?: (err?: Error) => void) => {
    if (closed) {
      done?.(new Error('the Kafka client is closed'));
      return;
    }
    const key = customerKey(payload);
    queue.push({
      message: {
        topic: kafkaTopic(topic),
        key: key === undefined ? undefined : Buffer.from(key),
        value: typeof payload === 'string' ? Buffer.from(payload) : payload,
        ...(opts.id || opts.trace ? { headers: headersOf(opts) } : {}),
      },
      done,
    });
    // messages sent in the same turn share one request
    if (!flushing && queue.length === 1) setImmediate(() => void flush());
  };

  // --- consumers: one per subscription
  const subscriptions: Subscription[] = [];
  const subscribe = async (topics: string[], handler: MessageHandler, opts: { shared?: boolean } = {}) => {
    const names = new Map(topics.map((t) => [kafkaTopic(t), t] as const));
    await ensureTopics([...names.keys()]);
    // every instance must hear these (pump commands, offers to shoppers): a group of its own, from now on
    const own = opts.shared === false;
    subscriptions.push(
      await subscribeKafka(
        {
          brokers: o.brokers,
          clientId: o.clientId,
          groupId: own ? `${o.groupId}-${o.role}-${randomBytes(4).toString('hex')}` : o.groupId,
          topics: names,
          fallback: !own && o.autoOffsetReset === 'earliest' ? 'earliest' : 'latest',
          sessionTimeoutMs: o.sessionTimeoutMs,
          pollTimeoutMs: o.pollTimeoutMs,
          log,
        },
        handler,
      ),
    );
  };

  return {
    publish: (topic, payload, opts = {}) => new Promise<void>((ok, fail) => enqueue(topic, payload, opts, (err) => (err ? fail(err) : ok()))),
    send: (topic, payload, opts = {}, done) => enqueue(topic, payload, opts, done),
    subscribe,
    topicName: kafkaTopic,
    isConnected: () => healthy && !closed && subscriptions.every((s) => s.healthy()),
    async close() {
      if (closed) return;
      // consumers first (they commit what was logged), then what is queued for publication
      await Promise.all(subscriptions.map((s) => s.close()));
      const deadline = Date.now() + 5000;
      while ((queue.length || flushing) && healthy && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 10));
      closed = true;
      for (const p of queue.splice(0)) p.done?.(new Error('the Kafka client is closed'));
      await producer.close().catch(() => {});
      await admin.close().catch(() => {});
    },
  };
}

/** A publication's headers: its stable id, and the trace context its consumer continues. */
function headersOf(opts: SendOptions): Map<Buffer, Buffer> {
  const headers = new Map<Buffer, Buffer>();
  if (opts.id) headers.set(ID_HEADER, Buffer.from(opts.id));
  if (opts.trace?.traceparent) headers.set(TRACEPARENT, Buffer.from(opts.trace.traceparent));
  if (opts.trace?.tracestate) headers.set(TRACESTATE, Buffer.from(opts.trace.tracestate));
  return headers;
}
