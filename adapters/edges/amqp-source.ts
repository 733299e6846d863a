/**
 * RabbitMQ as an event source for the gateway, over the AMQP inbound transport (./amqp.ts): every message published
 * to the `event-streams` exchange is appended to the event log (then acknowledged: append, then act), and the gateway
 * streams it like any other event. A direct exchange (seed 004's) routes by exact key, so the gateway's queue is
 * bound with the routing key of every event stream (as the original bound one queue per stream), again whenever the
 * streams change and at every reconnect; a topic exchange (`AMQP_EXCHANGE_TYPE=topic`) is bound with `#` (every
 * message is logged). A message that cannot be stored (too large, invalid JSON after a `{`, a NUL, a lone surrogate,
 * nested too deep) is logged once as `rejected` and dead-lettered to `<queue>.dead-letter`, never retried.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import { amqpEvent } from '../../actors/gateway/amqp-message.ts';
import type { Logger } from '../process/logger.ts';
import { scrubUrl } from '../process/logger.ts';
import { isAboutTheRows } from './postgres-log-insert.ts';
import { storableText } from '../../schemas/storable.ts';
import { Tracing } from '../process/tracing.ts';
import { connectAmqp, type AmqpInbound } from './amqp.ts';
import type { Delivery } from './transport.ts';

export { amqpEvent, MAX_AMQP_BODY } from '../../actors/gateway/amqp-message.ts';
export { AMQP_EXCHANGE } from './amqp.ts';

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
  const exchangeType = o.exchangeType ?? 'direct';
  const keys = async () => (exchangeType === 'topic' ? ['#'] : ((await o.routingKeys?.()) ?? []));
  let transport: AmqpInbound | undefined;
  // a direct exchange routes by exact key: the keys of the streams created meanwhile are bound at a reconnect
  const sync = async () => {
    if (exchangeType !== 'direct' || !transport) return;
    let current: string[];
    try {
      current = await keys();
    } catch (err) {
      o.log.warn({ err: { message: scrubUrl(String((err as Error)?.message ?? err)) } }, 'AMQP bindings not updated; they are renewed at the next reconnect');
      return;
    }
    await transport.bind(current);
  };
  transport = await connectAmqp({
    url: o.url,
    log: o.log,
    exchange: o.exchange,
    exchangeType,
    queue: o.queue,
    retryMs: o.retryMs,
    reconnected: () => void sync(),
  });
  const t = transport;
  try {
    await t.subscribe(await keys(), (routingKey, body, meta) => logMessage(o, t.exchange, routingKey, body, meta));
  } catch (err) {
    await t.close();
    throw err;
  }
  return {
    get queue() {
      return t.queue;
    },
    isConnected: () => t.isConnected(),
    sync,
    stop: () => t.close(),
  };
}

/** One message into the event log (append, then act): the transport acknowledges it once this resolves. */
async function logMessage(
  o: AmqpSourceOptions,
  exchange: string,
  routingKey: string,
  body: Buffer,
  meta: Delivery,
): Promise<{ status: 'accepted' | 'rejected' }> {
  let event = amqpEvent(routingKey, body, meta.id);
  const span = o.tracing?.receive(`${exchange} ${routingKey}`, 'rabbitmq', meta.trace);
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
    throw err;
  }
  Tracing.end(appending);
  Tracing.end(span);
  if (event.type !== 'rejected') return { status: 'accepted' };
  o.log.warn({ routingKey: event.metadata?.routing_key, reason: (event.data as { reason: string }).reason }, 'AMQP message rejected; dead-lettered');
  return { status: 'rejected' };
}
