/**
 * One subscription of storeflow on Kafka (@platformatic/kafka's Consumer): a consumer-group member that hands every
 * message to its handler at once and commits a partition's offset only up to the last message whose handler resolved
 * — every one before it too — so an offset is committed only once its input is in the event log (the MQTT path's
 * deferred PUBACK, in Kafka's terms; the messages of a batch still share one group commit of the log).
 *
 * - Co-partitioned: the group's leader assigns partition p of every topic to the same member (the members sorted by
 *   id, p modulo their count). The input topics have the same partition count (KAFKA_PARTITIONS) and are keyed by
 *   customer, so a customer's entries, focuses and exits all reach one member.
 * - A handler that fails (the input was not logged) sends the subscription back to its committed offsets: the stream
 *   is closed and opened again, and what follows the last commit is read again (the log drops what it already has).
 *   A rejected input (bad JSON, wrong shape, …) resolves like any other: its offset is committed and the partition
 *   goes on.
 * - A stream the client gave up on (brokers unreachable past its retries; a fetch sent to a partition leader that
 *   died with its broker; a rejoin that failed) is opened again the same way, after a pause, on the same consumer,
 *   which stays the group's member: once the group's coordinator answers again (a new one when its broker died) the
 *   group rebalances at once, where a new consumer would wait out the old member's session (docs/kafka-cluster.md).
 *   Until one is reading again the subscription is not healthy.
 */
import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type GroupPartitionsAssigner,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { Logger } from '../process/logger.ts';
import type { MessageHandler } from './transport.ts';
import type { TraceCarrier } from '../process/tracing.ts';

export interface SubscriptionOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  /** The subscription's Kafka topic names → the names its handler hears. */
  topics: Map<string, string>;
  /** Where a group without committed offsets starts: 'earliest' or 'latest'. */
  fallback: 'earliest' | 'latest';
  sessionTimeoutMs: number;
  pollTimeoutMs: number;
  log: Logger;
}

export interface Subscription {
  /** A stream is reading (not one the client gave up on). */
  healthy(): boolean;
  close(): Promise<void>;
}

/** How long a consumer may fail to join its group before it is replaced by a new one. */
const REPLACE_AFTER_MS = 45_000;

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
/** Waits for `work` (its failure ignored) at most `ms`. */
const within = (work: Promise<unknown> | undefined, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work?.catch(() => {}), new Promise((ok) => (timer = setTimeout(ok, ms)))]).finally(() => clearTimeout(timer));
};

/** The group protocol's name: every storeflow member offers only this one, so the leader assigns with `copartitioned`. */
export const COPARTITIONED = 'storeflow-copartitioned';

/** Partition p of every topic to the same member: the members subscribed to the topic, sorted by id, p modulo their count. */
export const copartitioned: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const ids = [...members.keys()].sort();
  const out = ids.map((memberId) => ({ memberId, assignments: new Map<string, { topic: string; partitions: number[] }>() }));
  for (const topic of [...topics].sort()) {
    const takers = out.filter((m) => members.get(m.memberId)?.topics?.includes(topic) ?? true);
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (!takers.length) continue;
    for (let p = 0; p < count; p++) {
      const member = takers[p % takers.length];
      const mine = member.assignments.get(topic);
      if (mine) mine.partitions.push(p);
      else member.assignments.set(topic, { topic, partitions: [p] });
    }
  }
  return out;
};

type Entry = { message: Message; done: boolean };

export async function subscribeKafka(o: SubscriptionOptions, handler: MessageHandler): Promise<Subscription> {
  const { log, groupId } = o;
  const makeConsumer = () =>
    new Consumer({
      clientId: o.clientId,
      bootstrapBrokers: o.brokers,
      groupId,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(200, Math.floor(o.sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(o.sessionTimeoutMs, 10_000),
      maxWaitTime: o.pollTimeoutMs,
      protocols: [{ name: COPARTITIONED, version: 1 }],
      partitionAssigner: copartitioned,
      connectTimeout: 5000,
      retries: 5,
      retryDelay: 500,
    });
  /** The stream was given up on and none is reading yet. */
  let crashed = false;
  let closing = false;
  /** Each stream opened is a generation: what an older one read is neither committed nor retried by it. */
  let generation = 0;
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  /** By "topic:partition": the messages handed over, in arrival order, until their handler resolved and all before them. */
  let pending = new Map<string, Entry[]>();
  /** By "topic:partition": the highest offset committed (the next to read), so a commit never moves a partition back. */
  const committed = new Map<string, bigint>();
  let reading!: () => void;
  const read = new Promise<void>((ok) => (reading = ok));
  const listen = (c: Consumer) => {
    c.on('consumer:group:join', (e) => {
      const assigned: Record<string, number[]> = {};
      for (const a of e.assignments ?? []) assigned[a.topic] = a.partitions;
      // a partition taken away is another member's now: what this one still has of it is read again there
      for (const key of [...pending.keys()]) {
        const [topic, partition] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
        if (!assigned[topic]?.includes(partition)) pending.delete(key);
      }
      log.info({ groupId, assigned }, 'Kafka consumer group joined');
    });
    c.on('consumer:heartbeat:error', (e) => log.debug({ err: e.error?.message, groupId }, 'Kafka heartbeat failed'));
    // a rejoin the client started itself (after a heartbeat's rebalance or fencing error) failed: heartbeats stopped,
    // so the stream reads without being in the group; it is opened again, which joins again (unhandled, it would end
    // the process)
    c.on('error', (err: Error) => {
      if (closing || c !== consumer) return;
      log.warn({ err: err.message, groupId }, 'Kafka consumer left its group');
      void reopen(generation, 500);
    });
    return c;
  };
  let consumer = listen(makeConsumer());

  const meta = { dup: false, retain: false };
  const settle = (gen: number, key: string) => {
    if (gen !== generation) return;
    const queue = pending.get(key);
    if (!queue) return;
    let last: Entry | undefined;
    while (queue.length && queue[0].done) last = queue.shift();
    if (!last) return;
    const next = last.message.offset + 1n;
    if ((committed.get(key) ?? -1n) >= next) return;
    committed.set(key, next);
    last.message.commit((err) => {
      if (err && !closing) log.warn({ err: err.message, groupId, partition: key, offset: String(next) }, 'Kafka offset commit failed');
    });
  };
  const onMessage = (gen: number, m: Message) => {
    const key = `${m.topic}:${m.partition}`;
    const entry: Entry = { message: m, done: false };
    const queue = pending.get(key);
    if (queue) queue.push(entry);
    else pending.set(key, [entry]);
    let r: unknown;
    try {
      r = handler(o.topics.get(m.topic) ?? m.topic, m.value ?? Buffer.alloc(0), m.headerEntries.length ? { ...meta, trace: traceOf(m) } : meta);
    } catch (err) {
      r = Promise.reject(err);
    }
    const ok = () => {
      entry.done = true;
      settle(gen, key);
    };
    if (!(r instanceof Promise)) return ok();
    r.then(ok, (err) => {
      if (gen !== generation || closing) return;
      log.warn({ err: (err as Error)?.message, topic: m.topic, partition: m.partition, offset: String(m.offset) }, 'input not logged: it will be read again');
      void reopen(gen, 500);
    });
  };

  const open = async () => {
    const gen = ++generation;
    pending = new Map();
    const s = await consumer.consume({
      topics: [...o.topics.keys()],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: o.fallback === 'earliest' ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      maxWaitTime: o.pollTimeoutMs,
    });
    stream = s;
    crashed = false;
    s.on('data', (m) => onMessage(gen, m));
    s.once('fetch', () => reading());
    s.on('error', (err) => {
      if (closing) return;
      crashed = true;
      log.warn({ err: err.message, groupId }, 'Kafka consumer crashed');
      void reopen(gen, 1000);
    });
  };
  /**
   * Closes the stream of generation `gen` (unless a newer one is open already) and opens another after `pauseMs`, on
   * the same consumer: it stays the group's member, so once the group's coordinator answers again (a new one, when its
   * broker died: the client asks for it again after a connection error) the group rebalances at once. A new consumer
   * would wait out the old member's session first (the old one cannot leave a dead coordinator). A consumer that
   * cannot join for REPLACE_AFTER_MS is replaced by a new one.
   */
  let reopening = false;
  const reopen = async (gen: number, pauseMs: number) => {
    if (reopening || gen !== generation || closing) return;
    reopening = true;
    try {
      await reopenNow(pauseMs);
    } finally {
      reopening = false;
    }
  };
  const reopenNow = async (pauseMs: number) => {
    generation++;
    const old = stream;
    stream = undefined;
    crashed = true;
    await within(old?.close(), 3000);
    let since = Date.now();
    for (let attempt = 0; !closing; attempt++) {
      await sleep(Math.min(2000, pauseMs * 2 ** Math.min(attempt, 2)));
      if (closing) return;
      if (Date.now() - since > REPLACE_AFTER_MS) {
        log.warn({ groupId }, 'Kafka consumer replaced: it could not join its group');
        // leaving the group may wait on a coordinator that is gone: a few seconds, then the group times the member out
        await within(consumer.close(true), 3000);
        consumer = listen(makeConsumer());
        since = Date.now();
      }
      try {
        await open();
        log.info({ groupId, attempts: attempt + 1 }, 'Kafka consumer resumed');
        return;
      } catch (err) {
        // consume() tracks the topics before it joins: untracked again, the next consume() joins again (else it would
        // read without being in the group)
        consumer.topics.untrackAll(...o.topics.keys());
        log.warn({ err: (err as Error).message, groupId }, 'Kafka consumer could not resume; trying again');
      }
    }
  };

  try {
    await open();
  } catch (err) {
    await consumer.close(true).catch(() => {});
    throw err;
  }
  // subscribed = reading: the group is joined and the first fetch is done (offsets resolved, latest or earliest)
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([read, new Promise<void>((ok) => (timer = setTimeout(ok, o.sessionTimeoutMs + 5000)))]);
  clearTimeout(timer);

  return {
    healthy: () => !crashed && stream !== undefined && !stream.destroyed && !closing,
    async close() {
      if (closing) return;
      // what is being logged now is committed first (briefly: a log that hangs must not hold the shutdown)
      const deadline = Date.now() + 2000;
      while ([...pending.values()].some((q) => q.length) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
      closing = true;
      await stream?.close().catch(() => {});
      await consumer.close(true).catch(() => {});
    },
  };
}

/** The W3C trace context among a Kafka message's headers (undefined: none). */
function traceOf(m: Message): TraceCarrier | undefined {
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  for (const [k, v] of m.headerEntries) {
    const name = k?.toString();
    if (name === 'traceparent') traceparent ??= v?.toString();
    else if (name === 'tracestate') tracestate ??= v?.toString();
  }
  return traceparent === undefined ? undefined : { traceparent, tracestate };
}
