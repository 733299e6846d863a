/**
 * RabbitMQ as an event source for the gateway: every message published to the `event-streams`
 * topic exchange is appended to the event log (then acknowledged: append, then act), and the
 * gateway streams it like any other event. An exclusive, auto-deleted queue bound with `#` per
 * process. The URL's credentials never reach a log line (scrubUrl).
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { EventLog, NewEvent } from '../actors/event-log.ts';
import type { Logger } from './logger.ts';
import { scrubUrl } from './logger.ts';

export const AMQP_EXCHANGE = 'event-streams';
/** Larger bodies are acknowledged and logged as `rejected` rather than stored. */
export const MAX_AMQP_BODY = 1_048_576;

export interface AmqpSource {
  /** The queue name bound to the exchange (exclusive to this process). */
  queue: string;
  isConnected(): boolean;
  stop(): Promise<void>;
}

export interface AmqpSourceOptions {
  url: string;
  eventLog: EventLog;
  log: Logger;
  exchange?: string;
  /** Reconnect delay after the connection drops (ms). */
  retryMs?: number;
}

/** The log entry for one AMQP message (exported for tests of the mapping). */
export function amqpEvent(routingKey: string, body: Buffer, messageId?: string): NewEvent {
  const metadata = { source: 'amqp', routing_key: routingKey };
  const first = routingKey.split('.')[0];
  const streamId = `amqp-${routingKey || 'default'}`;
  if (body.length > MAX_AMQP_BODY) {
    return { streamId, type: 'rejected', data: { code: 'too_large', reason: `AMQP body of ${body.length} bytes exceeds ${MAX_AMQP_BODY}`, routing_key: routingKey }, metadata, messageId };
  }
  let data: unknown;
  try { data = JSON.parse(body.toString('utf8')); } catch (err) {
    return { streamId, type: 'rejected', data: { code: 'invalid_json', reason: (err as Error).message, routing_key: routingKey, raw: body.toString('utf8').slice(0, 1000) }, metadata, messageId };
  }
  return { streamId, type: /^[A-Za-z0-9_:-]+$/.test(first) ? first : 'amqp', data, metadata, messageId };
}

export async function startAmqpSource(o: AmqpSourceOptions): Promise<AmqpSource> {
  const exchange = o.exchange ?? AMQP_EXCHANGE;
  const where = scrubUrl(o.url);
  let model: ChannelModel | undefined;
  let channel: Channel | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let queue = '';

  const onMessage = async (msg: ConsumeMessage | null) => {
    if (!msg || !channel) return; // consumer cancelled by the server
    const ch = channel;
    const event = amqpEvent(msg.fields.routingKey, msg.content, msg.properties.messageId ?? undefined);
    if (event.type === 'rejected') o.log.warn({ routingKey: msg.fields.routingKey, reason: (event.data as { reason: string }).reason }, 'AMQP message rejected');
    try {
      await o.eventLog.append([event]);
      ch.ack(msg);
    } catch (err) {
      o.log.error({ err }, 'AMQP message not logged; returned to the queue');
      try { ch.nack(msg, false, true); } catch { /* channel gone: the broker redelivers */ }
    }
  };

  const connect = async () => {
    const m = await amqp.connect(o.url, { timeout: 5000 });
    m.on('error', (err) => o.log.warn({ err: { message: scrubUrl(String(err?.message ?? err)) } }, 'AMQP connection error'));
    m.on('close', () => {
      channel = undefined; model = undefined;
      if (stopped) return;
      o.log.warn({ amqp: where }, 'AMQP connection closed; reconnecting');
      schedule();
    });
    const ch = await m.createChannel();
    ch.on('error', (err) => o.log.warn({ err: { message: String(err?.message ?? err) } }, 'AMQP channel error'));
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, exchange, '#');
    await ch.prefetch(500);
    await ch.consume(q.queue, (msg) => void onMessage(msg), { noAck: false });
    model = m; channel = ch; queue = q.queue;
    o.log.info({ amqp: where, exchange, queue: q.queue }, 'consuming RabbitMQ events');
  };

  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch((err) => { o.log.warn({ amqp: where, err: { message: scrubUrl(String(err?.message ?? err)) } }, 'AMQP reconnect failed'); schedule(); });
    }, o.retryMs ?? 2000);
  };

  try {
    await connect();
  } catch (err) {
    // amqplib error messages can quote the URL: scrub before anyone logs it
    throw new Error(`cannot consume from RabbitMQ at ${where}: ${scrubUrl(String((err as Error)?.message ?? err))}`);
  }

  return {
    get queue() { return queue; },
    isConnected: () => !!channel,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await model?.close().catch(() => {});
    },
  };
}
