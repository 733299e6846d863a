/**
 * The RabbitMQ transport, inbound side (./transport.ts): the gateway's seed-004 source. The exchange is declared as
 * seed 004's publisher declares it, direct and durable, so either may start first; `AMQP_EXCHANGE_TYPE=topic`
 * declares a topic exchange instead. The queue is durable (one per gateway), so what is published while it is down
 * waits for it; its bindings are the topics subscribed to: a direct exchange's exact routing keys, a topic
 * exchange's patterns (`#`: everything). A message is acknowledged once its handler's promise resolves, delivered
 * again when it rejects, and dead-lettered to `<queue>.dead-letter` when the handler logged it as rejected (never
 * retried). The URL's credentials never reach a log line.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '../process/logger.ts';
import { scrubUrl } from '../process/logger.ts';
import { isRejected, type Delivery, type Inbound, type MessageHandler } from './transport.ts';

export const AMQP_EXCHANGE = 'event-streams';

export interface AmqpOptions {
  url: string;
  log: Logger;
  exchange?: string;
  /** direct (seed 004's declaration, the default) or topic. */
  exchangeType?: 'direct' | 'topic';
  /** The durable queue (default `storeflow-gateway`): one per gateway instance. */
  queue?: string;
  /** Reconnect delay after the connection drops (ms). */
  retryMs?: number;
  /** The connection came back and messages flow again: bindings wanted meanwhile can be set now. */
  reconnected?: () => void;
}

export interface AmqpInbound extends Inbound {
  readonly source: 'amqp';
  readonly exchange: string;
  /** The durable queue bound to the exchange. */
  readonly queue: string;
  /** The queue's bindings become exactly `topics` (one change at a time; while disconnected, at the reconnect). */
  bind(topics: string[]): Promise<void>;
}

const message = (err: unknown) => scrubUrl(String((err as Error)?.message ?? err));

export async function connectAmqp(o: AmqpOptions): Promise<AmqpInbound> {
  const exchange = o.exchange ?? AMQP_EXCHANGE;
  const exchangeType = o.exchangeType ?? 'direct';
  const where = scrubUrl(o.url);
  /** The bindings the subscription wants, and those the queue has on this connection. */
  let wanted: string[] = [];
  const bound = new Set<string>();
  let handler: MessageHandler | undefined;
  let model: ChannelModel | undefined;
  let channel: Channel | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let queue = '';

  const onMessage = async (msg: ConsumeMessage | null, ch: Channel, handle: MessageHandler) => {
    if (!msg) return; // consumer cancelled by the server
    const headers = msg.properties.headers;
    const meta: Delivery = {
      dup: msg.fields.redelivered,
      retain: false,
      ...(msg.properties.messageId == null ? {} : { id: String(msg.properties.messageId) }),
      ...(typeof headers?.traceparent === 'string'
        ? { trace: { traceparent: headers.traceparent, tracestate: typeof headers.tracestate === 'string' ? headers.tracestate : undefined } }
        : {}),
    };
    let result: unknown;
    let logged = true;
    try {
      result = await handle(msg.fields.routingKey, msg.content, meta);
    } catch {
      logged = false; // the handler said why; the broker delivers it again
    }
    try {
      if (!logged) ch.nack(msg, false, true);
      else if (isRejected(result))
        ch.nack(msg, false, false); // to the dead-letter queue, never back to this one
      else ch.ack(msg);
    } catch {
      /* channel gone: the broker redelivers */
    }
  };

  const bindAll = async (ch: Channel) => {
    bound.clear();
    for (const key of wanted) {
      await ch.bindQueue(queue, exchange, key);
      bound.add(key);
    }
  };

  const consume = async (ch: Channel, handle: MessageHandler) => {
    await ch.consume(queue, (msg) => void onMessage(msg, ch, handle), { noAck: false });
    o.log.info({ amqp: where, exchange, exchangeType, queue, ...(exchangeType === 'direct' ? { routingKeys: bound.size } : {}) }, 'consuming RabbitMQ events');
  };

  const connect = async () => {
    const m = await amqp.connect(o.url, { timeout: 5000 });
    m.on('error', (err) => o.log.warn({ err: { message: message(err) } }, 'AMQP connection error'));
    const onClose = () => {
      channel = undefined;
      model = undefined;
      if (stopped) return;
      o.log.warn({ amqp: where }, 'AMQP connection closed; reconnecting');
      schedule();
    };
    m.on('close', onClose);
    // a connection that could not be set up is closed here (the caller retries or gives up), never left open
    await setUp(m).catch(async (err) => {
      m.off('close', onClose);
      await m.close().catch(() => {});
      throw err;
    });
  };

  const setUp = async (m: ChannelModel) => {
    const ch = await m.createChannel();
    ch.on('error', (err) => o.log.warn({ err: { message: String(err?.message ?? err) } }, 'AMQP channel error'));
    await ch.assertExchange(exchange, exchangeType, { durable: true }).catch((err) => {
      if (!/PRECONDITION_FAILED|inequivalent/i.test(String((err as Error)?.message))) throw err;
      const other = exchangeType === 'direct' ? 'topic' : 'direct';
      throw new Error(
        `the exchange ${exchange} exists with other settings than ${exchangeType} and durable (${message(err)}). Set AMQP_EXCHANGE_TYPE=${other} if it is a durable ${other} exchange, or delete it so storeflow can declare it`,
      );
    });
    const name = o.queue ?? 'storeflow-gateway';
    const deadLetters = `${name}.dead-letter`;
    await ch.assertExchange(deadLetters, 'fanout', { durable: true });
    await ch.assertQueue(deadLetters, { durable: true });
    await ch.bindQueue(deadLetters, deadLetters, '');
    const q = await ch.assertQueue(name, { durable: true, exclusive: false, autoDelete: false, deadLetterExchange: deadLetters });
    queue = q.queue;
    await bindAll(ch);
    await ch.prefetch(500);
    // set before consuming: messages that waited in the queue arrive at once
    model = m;
    channel = ch;
    if (handler) await consume(ch, handler);
  };

  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => o.reconnected?.(),
        (err) => {
          o.log.warn({ amqp: where, err: { message: message(err) } }, 'AMQP reconnect failed');
          schedule();
        },
      );
    }, o.retryMs ?? 2000);
  };

  try {
    await connect();
  } catch (err) {
    // amqplib error messages can quote the URL: scrub before anyone logs it
    throw new Error(`cannot consume from RabbitMQ at ${where}: ${message(err)}`);
  }

  /** The queue's bindings become `topics` now (while disconnected: at the reconnect). */
  const apply = async (topics: string[]) => {
    wanted = [...new Set(topics)];
    const ch = channel;
    if (!ch) return;
    const keys = new Set(wanted);
    for (const key of keys)
      if (!bound.has(key)) {
        await ch.bindQueue(queue, exchange, key);
        bound.add(key);
      }
    for (const key of [...bound])
      if (!keys.has(key)) {
        await ch.unbindQueue(queue, exchange, key);
        bound.delete(key);
      }
  };
  // one binding change at a time, in order
  let binding: Promise<void> = Promise.resolve();
  const inTurn = (topics: string[]) => {
    const next = binding.then(() => apply(topics));
    binding = next.catch(() => undefined);
    return next;
  };

  return {
    source: 'amqp',
    exchange,
    get queue() {
      return queue;
    },
    async subscribe(topics, handle) {
      if (handler) throw new Error('the AMQP transport takes one subscription (its queue is consumed once)');
      handler = handle;
      try {
        await inTurn(topics);
        const ch = channel;
        if (ch) await consume(ch, handle);
      } catch (err) {
        throw new Error(`cannot consume from RabbitMQ at ${where}: ${message(err)}`);
      }
    },
    topicName: (topic) => topic,
    bind: (topics) =>
      inTurn(topics).catch((err) => o.log.warn({ err: { message: message(err) } }, 'AMQP bindings not updated; they are renewed at the next reconnect')),
    isConnected: () => !!channel,
    async close() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await model?.close().catch(() => {});
    },
  };
}
