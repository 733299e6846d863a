/**
 * RabbitMQ as an event source for the gateway: every message published to the `event-streams`
 * topic exchange is appended to the event log (then acknowledged: append, then act), and the
 * gateway streams it like any other event. Each gateway has a durable queue of its own bound with
 * `#`, so what is published while it is down waits for it. A message that cannot be stored (not
 * JSON, too large, a NUL, a lone surrogate, nested too deep) is logged once as `rejected` and
 * dead-lettered to `<queue>.dead-letter`, never retried. The URL's credentials never reach a log line.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { EventLog, NewEvent } from '../../actors/kernel/event-log.ts';
import type { Logger } from '../process/logger.ts';
import { scrubUrl } from '../process/logger.ts';
import { isAboutTheRows } from './postgres-event-log.ts';
import { storableText, unstorableReason } from '../../schemas/storable.ts';

export const AMQP_EXCHANGE = 'event-streams';
/** Larger bodies are acknowledged and logged as `rejected` rather than stored. */
export const MAX_AMQP_BODY = 1_048_576;

export interface AmqpSource {
  /** This gateway's durable queue bound to the exchange. */
  queue: string;
  isConnected(): boolean;
  stop(): Promise<void>;
}

export interface AmqpSourceOptions {
  url: string;
  eventLog: EventLog;
  log: Logger;
  exchange?: string;
  /** This gateway's queue (durable; default `storeflow-gateway`): one per gateway instance. */
  queue?: string;
  /** Reconnect delay after the connection drops (ms). */
  retryMs?: number;
}

/** The log entry for one AMQP message (exported for tests of the mapping). */
export function amqpEvent(routingKey: string, body: Buffer, messageId?: string): NewEvent {
  const key = storableText(routingKey);
  const metadata = { source: 'amqp', routing_key: key };
  const first = key.split('.')[0];
  const streamId = `amqp-${key || 'default'}`;
  const id = messageId === undefined ? undefined : storableText(messageId);
  const rejected = (code: string, reason: string, extra: object = {}): NewEvent => ({ streamId, type: 'rejected', data: { code, reason, routing_key: key, ...extra }, metadata, messageId: id });
  if (body.length > MAX_AMQP_BODY) return rejected('too_large', `AMQP body of ${body.length} bytes exceeds ${MAX_AMQP_BODY}`);
  const text = body.toString('utf8');
  let data: unknown;
  try { data = JSON.parse(text); } catch (err) {
    return rejected('invalid_json', storableText((err as Error).message), { raw: storableText(text.slice(0, 1000)) });
  }
  if (data === null) return rejected('schema', 'a null body carries no event');
  const unstorable = unstorableReason(data);
  if (unstorable) return rejected('unstorable', unstorable, { raw: storableText(text.slice(0, 1000)) });
  return { streamId, type: /^[A-Za-z0-9_:-]+$/.test(first) ? first : 'amqp', data, metadata, messageId: id };
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
    let event = amqpEvent(msg.fields.routingKey, msg.content, msg.properties.messageId ?? undefined);
    try {
      // waits out a database outage (the log retries); fails only for rows the database refuses, or at shutdown
      await o.eventLog.append([event]).catch(async (err) => {
        if (!isAboutTheRows(err)) throw err;
        event = { ...event, type: 'rejected', data: { code: 'unstorable', reason: storableText((err as Error).message), routing_key: event.metadata!.routing_key } };
        await o.eventLog.append([event]);
      });
    } catch (err) {
      o.log.error({ err }, 'AMQP message not logged; the broker will deliver it again');
      try { ch.nack(msg, false, true); } catch { /* channel gone: the broker redelivers */ }
      return;
    }
    if (event.type !== 'rejected') return ch.ack(msg);
    o.log.warn({ routingKey: event.metadata!.routing_key, reason: (event.data as { reason: string }).reason }, 'AMQP message rejected; dead-lettered');
    ch.nack(msg, false, false); // to the dead-letter queue, never back to this one
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
    const name = o.queue ?? 'storeflow-gateway';
    const deadLetters = `${name}.dead-letter`;
    await ch.assertExchange(deadLetters, 'fanout', { durable: true });
    await ch.assertQueue(deadLetters, { durable: true });
    await ch.bindQueue(deadLetters, deadLetters, '');
    const q = await ch.assertQueue(name, { durable: true, exclusive: false, autoDelete: false, deadLetterExchange: deadLetters });
    await ch.bindQueue(q.queue, exchange, '#');
    await ch.prefetch(500);
    // set before consuming: messages that waited in the queue arrive at once
    model = m; channel = ch; queue = q.queue;
    await ch.consume(q.queue, (msg) => void onMessage(msg), { noAck: false });
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
