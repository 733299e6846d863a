/**
 * RabbitMQ as an event source for the gateway: every message published to the `event-streams`
 * exchange is appended to the event log (then acknowledged: append, then act), and the gateway
 * streams it like any other event. The exchange is declared as seed 004's publisher declares it,
 * direct and durable, so either may start first; a direct exchange routes by exact key, so the
 * gateway's queue is bound with the routing key of every event stream (as the original bound one
 * queue per stream). `AMQP_EXCHANGE_TYPE=topic` declares a topic exchange instead and binds `#`
 * (every message is logged). Each gateway has a durable queue of its own, so what is published while
 * it is down waits for it. A message that cannot be stored (too large, invalid JSON after a `{`, a
 * NUL, a lone surrogate, nested too deep) is logged once as `rejected` and dead-lettered to
 * `<queue>.dead-letter`, never retried. The URL's credentials never reach a log line.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { EventLog } from '../../actors/kernel/event-log.ts';
import { amqpEvent } from '../../actors/gateway/amqp-message.ts';
import type { Logger } from '../process/logger.ts';
import { scrubUrl } from '../process/logger.ts';
import { isAboutTheRows } from './postgres-log-insert.ts';
import { storableText } from '../../schemas/storable.ts';
import { Tracing } from '../process/tracing.ts';

export { amqpEvent, MAX_AMQP_BODY } from '../../actors/gateway/amqp-message.ts';
export const AMQP_EXCHANGE = 'event-streams';

export interface AmqpSource {
  /** This gateway's durable queue bound to the exchange. */
  queue: string;
  isConnected(): boolean;
  /** A direct exchange: bind the queue with every stream's routing key now, unbind the keys no stream has. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

export interface AmqpSourceOptions {
  url: string;
  eventLog: EventLog;
  log: Logger;
  exchange?: string;
  /** direct (seed 004's declaration, the default) or topic. */
  exchangeType?: 'direct' | 'topic';
  /** A direct exchange: the routing keys to bind (those of the event streams). */
  routingKeys?: () => Promise<string[]>;
  /** This gateway's queue (durable; default `storeflow-gateway`): one per gateway instance. */
  queue?: string;
  /** Reconnect delay after the connection drops (ms). */
  retryMs?: number;
  /** OpenTelemetry: a message's trace continues from its `traceparent` header. */
  tracing?: Tracing;
}

export async function startAmqpSource(o: AmqpSourceOptions): Promise<AmqpSource> {
  const exchange = o.exchange ?? AMQP_EXCHANGE;
  const exchangeType = o.exchangeType ?? 'direct';
  /** Keys the queue is bound with on a direct exchange. */
  const bound = new Set<string>();
  const where = scrubUrl(o.url);
  let model: ChannelModel | undefined;
  let channel: Channel | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let queue = '';

  const onMessage = async (msg: ConsumeMessage | null) => {
    if (!msg || !channel) return; // consumer cancelled by the server
    const ch = channel;
    let event = amqpEvent(msg.fields.routingKey, msg.content, msg.properties.messageId ?? undefined);
    const headers = msg.properties.headers;
    const span = o.tracing?.receive(`${exchange} ${msg.fields.routingKey}`, 'rabbitmq', {
      traceparent: typeof headers?.traceparent === 'string' ? headers.traceparent : undefined,
      tracestate: typeof headers?.tracestate === 'string' ? headers.tracestate : undefined,
    });
    const appending = span && o.tracing?.child(span, 'append');
    if (appending) event.trace = o.tracing?.link(appending);
    try {
      // waits out a database outage (the log retries); fails only for rows the database refuses, or at shutdown
      await o.eventLog.append([event]).catch(async (err) => {
        if (!isAboutTheRows(err)) throw err;
        const key = event.metadata?.routing_key;
        event = {
          ...event,
          type: 'rejected',
          data: { code: 'unstorable', reason: storableText((err as Error).message), routing_key: key },
          metadata: { source: 'amqp', routing_key: key },
        };
        await o.eventLog.append([event]);
      });
    } catch (err) {
      Tracing.end(appending, err);
      Tracing.end(span, err);
      o.log.error({ err }, 'AMQP message not logged; the broker will deliver it again');
      try {
        ch.nack(msg, false, true);
      } catch {
        /* channel gone: the broker redelivers */
      }
      return;
    }
    Tracing.end(appending);
    Tracing.end(span);
    if (event.type !== 'rejected') return ch.ack(msg);
    o.log.warn({ routingKey: event.metadata?.routing_key, reason: (event.data as { reason: string }).reason }, 'AMQP message rejected; dead-lettered');
    ch.nack(msg, false, false); // to the dead-letter queue, never back to this one
  };

  const connect = async () => {
    const m = await amqp.connect(o.url, { timeout: 5000 });
    m.on('error', (err) => o.log.warn({ err: { message: scrubUrl(String(err?.message ?? err)) } }, 'AMQP connection error'));
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
        `the exchange ${exchange} exists with other settings than ${exchangeType} and durable (${scrubUrl(String((err as Error).message))}). Set AMQP_EXCHANGE_TYPE=${other} if it is a durable ${other} exchange, or delete it so storeflow can declare it`,
      );
    });
    const name = o.queue ?? 'storeflow-gateway';
    const deadLetters = `${name}.dead-letter`;
    await ch.assertExchange(deadLetters, 'fanout', { durable: true });
    await ch.assertQueue(deadLetters, { durable: true });
    await ch.bindQueue(deadLetters, deadLetters, '');
    const q = await ch.assertQueue(name, { durable: true, exclusive: false, autoDelete: false, deadLetterExchange: deadLetters });
    if (exchangeType === 'topic') await ch.bindQueue(q.queue, exchange, '#');
    else {
      bound.clear();
      for (const key of (await o.routingKeys?.()) ?? []) {
        await ch.bindQueue(q.queue, exchange, key);
        bound.add(key);
      }
    }
    await ch.prefetch(500);
    // set before consuming: messages that waited in the queue arrive at once
    model = m;
    channel = ch;
    queue = q.queue;
    await ch.consume(q.queue, (msg) => void onMessage(msg), { noAck: false });
    o.log.info(
      { amqp: where, exchange, exchangeType, queue: q.queue, ...(exchangeType === 'direct' ? { routingKeys: bound.size } : {}) },
      'consuming RabbitMQ events',
    );
  };

  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch((err) => {
        o.log.warn({ amqp: where, err: { message: scrubUrl(String(err?.message ?? err)) } }, 'AMQP reconnect failed');
        schedule();
      });
    }, o.retryMs ?? 2000);
  };

  try {
    await connect();
  } catch (err) {
    // amqplib error messages can quote the URL: scrub before anyone logs it
    throw new Error(`cannot consume from RabbitMQ at ${where}: ${scrubUrl(String((err as Error)?.message ?? err))}`);
  }

  // one binding change at a time, in order
  let syncing: Promise<void> = Promise.resolve();
  const sync = () =>
    (syncing = syncing
      .then(async () => {
        const ch = channel;
        if (exchangeType !== 'direct' || !ch) return; // a reconnect binds every key anyway
        const keys = new Set((await o.routingKeys?.()) ?? []);
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
      })
      .catch((err) =>
        o.log.warn({ err: { message: scrubUrl(String((err as Error)?.message ?? err)) } }, 'AMQP bindings not updated; they are renewed at the next reconnect'),
      ));

  return {
    get queue() {
      return queue;
    },
    isConnected: () => !!channel,
    sync,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await model?.close().catch(() => {});
    },
  };
}
