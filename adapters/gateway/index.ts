/**
 * The event-stream gateway role (seed 004): an internal API that creates, lists and deletes event
 * streams (internal-api.ts, on STREAM_API_PORT), and a public WebSocket service (websocket.ts, on
 * STREAM_PORT) whose clients the hub (hub.ts) replays from the event log and then feeds live, each
 * event serialised once per batch for every client. With AMQP_URL, RabbitMQ is one more source of events.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { RoleContext, RoleFactory, RoleHandle } from '../process/role.ts';
import { startAmqpSource, type AmqpSource } from '../edges/amqp-source.ts';
import { PostgresLogTail } from '../edges/postgres-log-tail.ts';
import { MemoryStreamRecords, StreamRecords, type StreamRecordStore } from './records.ts';
import { StreamHub } from './hub.ts';
import { streamService } from './websocket.ts';
import { buildInternalApi } from './internal-api.ts';

export { CLOSE } from './client.ts';
export { StreamRecords, MemoryStreamRecords, type StreamRecord, type StreamRecordStore } from './records.ts';

export interface GatewayOptions {
  /** Ping every client this often; one without a pong by the next ping is dropped. */
  heartbeatMs?: number;
  /** Rows read from the log per replay query. */
  pageSize?: number;
  /** After closing a client (too slow, deleted), drop its socket if it has not closed by then. */
  closeGraceMs?: number;
}

export interface GatewayHandle extends RoleHandle {
  apiPort: number;
  streamPort: number;
  /** Connected clients, per stream id. */
  clients(): Map<string, number>;
  /** Only upgrades `admits` accepts may open this stream (the dashboard's, with CONTROL_TOKEN); others get 401. */
  guard(streamId: string, admits: (req: IncomingMessage) => boolean): void;
  /** A guarded stream deleted: its guard goes. */
  unguard(streamId: string): void;
  amqp?: AmqpSource;
}

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export function createGateway(options: GatewayOptions = {}): RoleFactory {
  return (ctx) => startGateway(ctx, options);
}

async function startGateway(ctx: RoleContext, o: GatewayOptions): Promise<GatewayHandle> {
  const cfg = ctx.config.gateway;
  const log = ctx.log.child({ role: 'gateway' });
  const database = ctx.database;
  // on the in-memory event log the streams are kept in memory too, and live events are this process's appends
  const records: StreamRecordStore = database ? new StreamRecords(database.db) : new MemoryStreamRecords();
  // live streams carry what every process appends (replicas on this database), not only this one's
  const tail =
    database &&
    new PostgresLogTail({
      url: database.url,
      schema: database.schema,
      eventLog: ctx.eventLog,
      db: database.db,
      log: log.child({ part: 'log-tail' }),
      metrics: ctx.metrics,
    });
  await tail?.start();
  const hub = new StreamHub({
    eventLog: ctx.eventLog,
    live: tail,
    log,
    metrics: ctx.metrics,
    clientBuffer: cfg.clientBuffer,
    pageSize: o.pageSize ?? 5000,
    heartbeatMs: o.heartbeatMs ?? 30_000,
    closeGraceMs: o.closeGraceMs ?? 3000,
  });
  const streams = streamService({ records, hub, log });
  let streamPort = 0,
    apiPort = 0;
  const locationOf = (id: string) =>
    `${cfg.ingressSecure ? 'wss' : 'ws'}://${(cfg.ingressLocation ?? `localhost:${streamPort}`).replace(/^wss?:\/\//, '').replace(/\/+$/, '')}/event-stream/${id}`;
  let amqp: AmqpSource | undefined;
  // a direct exchange routes by exact key: the RabbitMQ source binds the routing key of every stream
  const api = await buildInternalApi({
    records,
    locationOf,
    version: VERSION,
    log,
    apiToken: cfg.apiToken,
    metrics: ctx.metrics,
    deleted: (id) => {
      hub.deleted(id);
      void amqp?.sync();
    },
    created: async () => {
      await amqp?.sync();
    },
  });
  const host = ctx.config.host;
  try {
    await new Promise<void>((ok, fail) => {
      streams.server.once('error', fail);
      streams.server.listen(cfg.streamPort, host, () => {
        streams.server.off('error', fail);
        ok();
      });
    });
    streamPort = (streams.server.address() as AddressInfo).port;
    await api.listen({ port: cfg.apiPort, host });
    apiPort = (api.server.address() as AddressInfo).port;
    if (cfg.amqpUrl) {
      amqp = await startAmqpSource({
        url: cfg.amqpUrl,
        eventLog: ctx.eventLog,
        log: log.child({ part: 'amqp' }),
        queue: `${ctx.config.mqtt.clientId}-gateway`,
        exchange: cfg.amqpExchange,
        exchangeType: cfg.amqpExchangeType,
        routingKeys: async () => (await records.list()).map((r) => r.routing_key),
        tracing: ctx.tracing,
      });
    }
  } catch (err) {
    await streams.stop().catch(() => {});
    await api.close().catch(() => {});
    await tail?.stop();
    throw err;
  }
  log.info(
    { api: `http://localhost:${apiPort}/event-stream/`, streams: `ws://localhost:${streamPort}/event-stream/{id}`, amqp: !!amqp },
    'event-stream gateway listening',
  );

  return {
    apiPort,
    streamPort,
    amqp,
    clients: () => hub.clients(),
    guard: (streamId, admits) => streams.guard(streamId, admits),
    unguard: (streamId) => streams.unguard(streamId),
    readiness: amqp ? [{ name: 'amqp', check: () => amqp?.isConnected() ?? false }] : [],
    async stop() {
      await amqp?.stop();
      await streams.stop();
      await api.close();
      await tail?.stop();
    },
  };
}
