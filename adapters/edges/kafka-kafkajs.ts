/**
 * Kafka through kafkajs: the client storeflow used before @platformatic/kafka (./kafka.ts), kept only so that
 * `npm run bench:recommender -- --transport kafka --kafka-client kafkajs,platformatic` can compare the two in one run.
 * kafkajs is a dev dependency: nothing storeflow runs in production imports this module.
 * - Publications are keyed by customer id (read from the payload), so a customer's events share a
 *   partition and keep their order; the producer batches what is sent while the previous batch is in
 *   flight (one batch at a time: order kept) and retries a failed batch until the broker takes it.
 * - Subscriptions read the input topics in the consumer group GROUP_ID. An input's offset is committed
 *   only after its handler's promise resolved (the input is in the event log): the MQTT path's deferred
 *   PUBACK, in Kafka's terms. A handler that fails (the input was not logged) sends the partition back to
 *   that offset, so it is read again. A rejected input (bad JSON, wrong shape, …) resolves like any
 *   other: its offset is committed and the partition goes on.
 * - Topic names are Kafka's (no '/'): a name with other characters is mapped ('/' → '.', anything else
 *   illegal → '_'); handlers hear the name they subscribed with. Missing topics are created with
 *   KAFKA_PARTITIONS partitions; existing ones are used as they are.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type Consumer, type Message, type Producer } from 'kafkajs';
import { customerKey, kafkaTopic, type KafkaConnectOptions } from './kafka.ts';
import type { MessageHandler, TransportClient } from './transport.ts';

/**
 * Creates `topics` (one created meanwhile by another client is fine) and resolves once each partition has
 * a leader. (kafkajs's own waitForLeaders gives up when the broker does not know a new topic yet.)
 */
async function createTopics(admin: Admin, topics: string[], partitions: number, timeoutMs = 15_000): Promise<void> {
  try {
    await admin.createTopics({ waitForLeaders: false, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })) });
  } catch (err) {
    if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

type Pending = { topic: string; message: Message; done?: (err?: Error) => void };

export async function connectKafkajs(o: KafkaConnectOptions): Promise<TransportClient> {
  const log = o.log;
  const kafka = new Kafka({
    clientId: o.clientId,
    brokers: o.brokers,
    connectionTimeout: 5000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        const fields = { kafka: { ...rest, timestamp: undefined, logger: undefined } };
        if (level <= KafkaLogLevel.WARN) log.warn(fields, `kafkajs: ${message}`);
        else log.debug(fields, `kafkajs: ${message}`);
      },
  });
  const shown = o.brokers.join(',');
  const producer: Producer = kafka.producer({
    // the Java client's partitioner (murmur2 of the key): a customer lands on the partition any Kafka client would pick
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    maxInFlightRequests: 1,
  });
  const admin = kafka.admin();
  try {
    await producer.connect();
    await admin.connect();
  } catch (err) {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
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
      const existing = new Set(await admin.listTopics());
      const create = missing.filter((t) => !existing.has(t));
      if (create.length) {
        await createTopics(admin, create, o.partitions);
        log.info({ topics: create, partitions: o.partitions }, 'Kafka topics created');
      }
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
            await ensureTopics([...new Set(batch.map((p) => p.topic))]);
            const byTopic = new Map<string, Message[]>();
            for (const p of batch) {
              const list = byTopic.get(p.topic);
              if (list) list.push(p.message);
              else byTopic.set(p.topic, [p.message]);
            }
            await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
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
  const enqueue = (topic: string, payload: string | Buffer, opts: { id?: string }, done?: (err?: Error) => void) => {
    if (closed) {
      done?.(new Error('the Kafka client is closed'));
      return;
    }
    const key = customerKey(payload);
    queue.push({
      topic: kafkaTopic(topic),
      message: { key: key ?? null, value: payload, ...(opts.id ? { headers: { 'storeflow-id': opts.id } } : {}) },
      done,
    });
    // messages sent in the same turn share one request
    if (!flushing && queue.length === 1) setImmediate(() => void flush());
  };

  // --- consumers: one per subscription
  const consumers: Consumer[] = [];
  const crashed = new Set<Consumer>();
  const subscribe = async (topics: string[], handler: MessageHandler, opts: { shared?: boolean } = {}) => {
    const names = new Map(topics.map((t) => [kafkaTopic(t), t] as const));
    await ensureTopics([...names.keys()]);
    // every instance must hear these (pump commands, offers to shoppers): a group of its own, from now on
    const own = opts.shared === false;
    const groupId = own ? `${o.groupId}-${o.role}-${randomBytes(4).toString('hex')}` : o.groupId;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(200, Math.floor(o.sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(o.sessionTimeoutMs, 10_000),
      maxWaitTimeInMs: o.pollTimeoutMs,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, (e) => {
      crashed.add(consumer);
      log.warn({ err: e.payload.error?.message, groupId, restart: e.payload.restart }, 'Kafka consumer crashed');
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      crashed.delete(consumer);
      log.info({ groupId, assigned: e.payload.memberAssignment }, 'Kafka consumer group joined');
    });
    await consumer.connect();
    consumers.push(consumer);
    await consumer.subscribe({ topics: [...names.keys()], fromBeginning: !own && o.autoOffsetReset === 'earliest' });
    const meta = { dup: false, retain: false };
    // subscribed = reading: the group is joined and the first fetch is done (offsets resolved, latest or earliest)
    let reading!: () => void;
    const read = new Promise<void>((ok) => (reading = ok));
    const stopListening = consumer.on(consumer.events.FETCH, () => reading());
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      // partitions are handled side by side (each in order); an input's log append is what takes time
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const topic = names.get(batch.topic) ?? batch.topic;
        // every message of the batch is handed over at once (the log's group commit takes them together) …
        const work: [string, unknown][] = [];
        for (const m of batch.messages) {
          if (!isRunning() || isStale()) break;
          let r: unknown;
          try {
            r = handler(topic, m.value ?? Buffer.alloc(0), meta);
          } catch (err) {
            r = Promise.reject(err);
          }
          if (r instanceof Promise) r.catch(() => undefined);
          work.push([m.offset, r]);
        }
        // … and each offset is resolved (committed after the batch) once that message's work is done, in order
        for (const [offset, r] of work) {
          try {
            if (r instanceof Promise) await r;
          } catch (err) {
            log.warn({ err: (err as Error)?.message, topic, partition: batch.partition, offset }, 'input not logged: it will be read again');
            if (isRunning()) consumer.seek({ topic: batch.topic, partition: batch.partition, offset });
            return;
          }
          resolveOffset(offset);
        }
        await heartbeat();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([read, new Promise<void>((ok) => (timer = setTimeout(ok, o.sessionTimeoutMs + 5000)))]);
    clearTimeout(timer);
    stopListening();
  };

  return {
    publish: (topic, payload, opts = {}) => new Promise<void>((ok, fail) => enqueue(topic, payload, opts, (err) => (err ? fail(err) : ok()))),
    send: (topic, payload, opts = {}, done) => enqueue(topic, payload, opts, done),
    subscribe,
    topicName: kafkaTopic,
    isConnected: () => healthy && crashed.size === 0 && !closed,
    async close() {
      if (closed) return;
      // consumers first (they commit what was resolved), then what is queued for publication
      await Promise.all(consumers.map((c) => c.disconnect().catch(() => {})));
      const deadline = Date.now() + 5000;
      while ((queue.length || flushing) && healthy && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 10));
      closed = true;
      for (const p of queue.splice(0)) p.done?.(new Error('the Kafka client is closed'));
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}
