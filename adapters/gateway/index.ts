/**
 * The event-stream gateway (seed 004): an internal API that creates, lists and deletes event
 * streams (records in PostgreSQL), and a public WebSocket service that replays a stream's events
 * from the event log and then tails it live. Two servers of its own: STREAM_API_PORT and STREAM_PORT.
 *
 * Live events come from the in-process event log subscription; each is serialised once per
 * batch and the same bytes go to every client of every stream that selects it. A client that
 * asks for history is replayed from the database in pages and joins the live tail at the seam
 * (actors/gateway/stream-replay.ts: no gap, no duplicate).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WebSocketServer, type WebSocket } from 'ws';
import { sql, type ConnectionPool } from '@databases/pg';
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import { customerOf, onlyType, parseRoutingKey, routingKeyMatcher, type RoutedEvent } from '../../actors/gateway/routing-key.ts';
import { parseStreamStart, ReplaySeam, streamMessage, type StreamStart } from '../../actors/gateway/stream-replay.ts';
import type { RoleContext, RoleFactory, RoleHandle } from '../process/role.ts';
import type { Logger } from '../process/logger.ts';
import { AppError } from '../process/errors.ts';
import { startAmqpSource, type AmqpSource } from '../edges/amqp-source.ts';
import { useErrorCatalogue } from '../process/http.ts';
import { parseStreamTarget, refusal } from './stream-target.ts';

/** Close codes a client sees (RFC 6455 leaves 4000-4999 to applications). */
export const CLOSE = {
  badParameters: 4400,
  unknownStream: 4404,
  deleted: 4410,
  tooSlow: 4429,
  shutdown: 1001,
} as const;

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
  amqp?: AmqpSource;
}

export interface StreamRecord { id: string; routing_key: string; created_at: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/** Stream records: one parameterised SQL statement per function. */
export class StreamRecords {
  constructor(private db: ConnectionPool) {}
  async create(routingKey: string): Promise<StreamRecord> {
    const [r] = await this.db.query(sql`INSERT INTO event_streams (id, routing_key) VALUES (${randomUUID()}, ${routingKey}) RETURNING id, routing_key, created_at`);
    return row(r);
  }
  async list(): Promise<StreamRecord[]> {
    return (await this.db.query(sql`SELECT id, routing_key, created_at FROM event_streams ORDER BY created_at, id`)).map(row);
  }
  async get(id: string): Promise<StreamRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const [r] = await this.db.query(sql`SELECT id, routing_key, created_at FROM event_streams WHERE id = ${id.toLowerCase()}`);
    return r ? row(r) : undefined;
  }
  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    return (await this.db.query(sql`DELETE FROM event_streams WHERE id = ${id.toLowerCase()} RETURNING id`)).length > 0;
  }
}
const row = (r: any): StreamRecord => ({ id: r.id, routing_key: r.routing_key, created_at: new Date(r.created_at).toISOString() });

/** An event as the gateway routes and sends it. */
interface Outgoing { position: number; payload: Buffer }

interface Group { id: string; match: (e: RoutedEvent) => boolean; clients: Set<Client> }

class Client {
  inFlight = 0;
  closed = false;
  alive = true;
  seam: ReplaySeam<Outgoing>;
  private wake: (() => void) | undefined;
  private lowWater: number;
  constructor(readonly ws: WebSocket, readonly group: Group, readonly limit: number, start: StreamStart, private onTooSlow: (c: Client) => void) {
    // held live events (≤ limit/2) plus what is in flight (≤ limit/4 at the seam) stay under the limit
    this.seam = new ReplaySeam(Math.max(1, Math.floor(limit / 2)), { live: start.from === 'live' });
    this.lowWater = Math.max(1, Math.floor(limit / 4));
  }
  /** ws calls this once the frame is handed to the kernel (or the socket failed). */
  private sent = () => {
    this.inFlight--;
    if (this.wake && this.inFlight <= this.lowWater) { const w = this.wake; this.wake = undefined; w(); }
  };
  send(o: Outgoing): void {
    if (this.closed) return;
    if (this.inFlight >= this.limit) { this.onTooSlow(this); return; }
    this.inFlight++;
    this.ws.send(o.payload, { binary: false }, this.sent);
  }
  /** Resolves when the client has room for more (replay backpressure). */
  roomy(): Promise<void> | undefined {
    return this.inFlight < this.limit / 2 ? undefined : this.settled();
  }
  /** Resolves once at most limit/4 messages are in flight (or the client is gone). */
  settled(): Promise<void> | undefined {
    if (this.inFlight <= this.lowWater || this.closed) return undefined;
    return new Promise((ok) => { this.wake = ok; });
  }
  release() { const w = this.wake; this.wake = undefined; w?.(); }
  /**
   * Many small frames in a row: hold them in the socket and write them with one writev, instead
   * of a system call per message (ws keeps its net.Socket in `_socket`; without it, no batching).
   */
  cork() { (this.ws as unknown as { _socket?: { cork(): void } })._socket?.cork(); }
  uncork() { (this.ws as unknown as { _socket?: { uncork(): void } })._socket?.uncork(); }
}

/** Columns a replay needs; data and metadata as text so they are never parsed and re-serialised. */
interface ReplayRow { position: number; type: string; stream_id: string; version: number; message_id: string | null; data: string; metadata: string; routing_key: string | null; customer: string | null; ts: number }

export function createGateway(options: GatewayOptions = {}): RoleFactory {
  return (ctx) => startGateway(ctx, options);
}


async function startGateway(ctx: RoleContext, o: GatewayOptions): Promise<GatewayHandle> {
  const cfg = ctx.config.gateway;
  const log = ctx.log.child({ role: 'gateway' });
  const db = ctx.database.db;
  const records = new StreamRecords(db);
  const pageSize = o.pageSize ?? 5000;
  const closeGraceMs = o.closeGraceMs ?? 3000;
  const groups = new Map<string, Group>();
  const replays = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const connected = ctx.metrics.gauge('storeflow_gateway_clients', 'WebSocket clients connected to event streams');
  const sentCounter = ctx.metrics.counter('storeflow_gateway_messages_total', 'Messages handed to WebSocket clients', ['phase']);
  const closedCounter = ctx.metrics.counter('storeflow_gateway_closes_total', 'Clients closed by the gateway', ['reason']);

  // ---- closing clients
  const drop = (c: Client) => {
    if (c.closed) return;
    c.closed = true;
    c.release();
    c.group.clients.delete(c);
    if (c.group.clients.size === 0) groups.delete(c.group.id);
    connected.dec();
  };
  const closeClient = (c: Client, code: number, reason: string) => {
    if (c.closed) return;
    drop(c);
    closedCounter.inc({ reason });
    try { c.ws.close(code, reason); } catch { c.ws.terminate(); return; }
    // a client that does not read will never answer the close frame
    const t = setTimeout(() => { timers.delete(t); c.ws.terminate(); }, closeGraceMs);
    timers.add(t);
    c.ws.once('close', () => { clearTimeout(t); timers.delete(t); });
  };
  const tooSlow = (c: Client) => {
    log.warn({ stream: c.group.id, buffered: c.inFlight }, 'client too slow: closing');
    closeClient(c, CLOSE.tooSlow, 'client too slow');
  };

  // ---- live tail: every batch appended through this process, once durable
  const unsubscribe = ctx.eventLog.subscribe((batch: LoggedEvent[]) => {
    if (groups.size === 0) return;
    const routed: (RoutedEvent | undefined)[] = new Array(batch.length);
    const out: (Outgoing | undefined)[] = new Array(batch.length);
    for (const g of groups.values()) {
      const matched: Outgoing[] = [];
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i];
        const r = (routed[i] ??= { type: e.type, customer: customerOf(e.streamId, e.data), routingKey: typeof e.metadata?.routing_key === 'string' ? e.metadata.routing_key : undefined });
        if (!g.match(r)) continue;
        matched.push(out[i] ??= {
          position: e.position,
          payload: Buffer.from(streamMessage({ position: e.position, recordedAt: e.recordedAt, type: e.type, streamId: e.streamId, version: e.version, messageId: e.messageId, dataJson: JSON.stringify(e.data) ?? 'null', metadataJson: JSON.stringify(e.metadata ?? {}) })),
        });
      }
      if (matched.length === 0) continue;
      for (const c of g.clients) {
        const now = c.seam.offer(matched);
        if (now.length === 0) continue;
        if (now.length > 1) c.cork();
        for (const m of now) c.send(m);
        if (now.length > 1) c.uncork();
        sentCounter.inc({ phase: 'live' }, now.length);
      }
    }
  });

  // ---- replay from the log, then live
  const readPage = (cursor: number, fromTime: number | undefined, type: string | undefined): Promise<ReplayRow[]> => db.query(sql`
    SELECT position, type, stream_id, version, message_id, data::text AS data, metadata::text AS metadata,
           metadata->>'routing_key' AS routing_key,
           CASE WHEN stream_id LIKE 'customer-%' THEN substr(stream_id, 10) ELSE data->>'customer_id' END AS customer,
           floor(extract(epoch FROM recorded_at) * 1000)::float8 AS ts
    FROM events
    WHERE position >= ${cursor}
      ${fromTime === undefined ? sql`` : sql`AND recorded_at >= to_timestamp(${fromTime / 1000})`}
      ${type === undefined ? sql`` : sql`AND type = ${type}`}
    ORDER BY position LIMIT ${pageSize}`) as Promise<ReplayRow[]>;

  const replay = async (c: Client, start: StreamStart, routingKey: string) => {
    const type = onlyType(routingKey);
    const fromTime = start.from === 'time' ? start.ms : undefined;
    let cursor = start.from === 'ordinal' ? start.position : 0;
    if (fromTime !== undefined) {
      // start at the first event recorded at or after the time (recorded_at is indexed)
      const [r] = await db.query(sql`SELECT min(position) AS p FROM events WHERE recorded_at >= to_timestamp(${fromTime / 1000})`);
      cursor = r?.p == null ? (await ctx.eventLog.head()) + 1 : Number(r.p);
    }
    let next: Promise<ReplayRow[]> | undefined = readPage(cursor, fromTime, type);
    for (;;) {
      const rows: ReplayRow[] = await next!;
      next = undefined;
      if (c.closed) return;
      if (rows.length) cursor = Number(rows[rows.length - 1].position) + 1;
      // read ahead while this page goes out
      if (rows.length === pageSize) next = readPage(cursor, fromTime, type);
      let n = 0;
      c.cork();
      for (const r of rows) {
        const position = Number(r.position);
        if (!c.group.match({ type: r.type, customer: r.customer, routingKey: r.routing_key })) continue;
        if (!c.seam.replayed(position)) continue;
        c.send({ position, payload: Buffer.from(streamMessage({ position, recordedAt: r.ts, type: r.type, streamId: r.stream_id, version: r.version, messageId: r.message_id, dataJson: r.data, metadataJson: r.metadata })) });
        // flush every few hundred frames, and before waiting for the client to read
        if (++n % 256 === 0) { c.uncork(); c.cork(); }
        const wait = c.roomy();
        if (wait) {
          c.uncork();
          await wait;
          if (c.closed) { await next?.catch(() => {}); return; }
          c.cork();
        }
      }
      c.uncork();
      if (n) sentCounter.inc({ phase: 'replay' }, n);
      if (rows.length < pageSize) {
        // room for the held events before they go out
        await c.settled();
        if (c.closed) return;
        const held = c.seam.caughtUp();
        if (held) { for (const m of held) c.send(m); return; }
        next = readPage(cursor, fromTime, type); // live events overflowed while replaying: they are in the log
      }
    }
  };

  // ---- guarded streams: checked before the upgrade (a stream made through the internal API is opened by its id alone, as in seed 004)
  const guards = new Map<string, (req: IncomingMessage) => boolean>();
  const admitted = (req: IncomingMessage): boolean => {
    if (guards.size === 0) return true;
    const target = parseStreamTarget(req.url);
    const admits = target.ok ? guards.get(target.id.toLowerCase()) : undefined;
    return !admits || admits(req);
  };

  // ---- the public WebSocket service
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, clientTracking: true, verifyClient: (info, done) => (admitted(info.req) ? done(true) : done(false, 401, 'Unauthorized', { 'www-authenticate': 'Bearer' })) });
  const streamServer: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    res.end(JSON.stringify({ error: 'upgrade_required', message: 'connect with a WebSocket to /event-stream/{id}' }));
  });
  streamServer.on('upgrade', (req, socket, head) => {
    // Node takes its own error listener off a socket it hands to 'upgrade': a reset must not kill the process
    socket.on('error', (err) => log.debug({ err: err.message }, 'upgrade socket error'));
    const target = parseStreamTarget(req.url);
    if (!target.ok || stopping) {
      socket.end(refusal(stopping ? 503 : target.ok ? 404 : target.status));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void onConnection(ws, target.id, target.query));
  });

  const onConnection = async (ws: WebSocket, id: string, query: URLSearchParams) => {
    let client: Client | undefined;
    ws.on('error', (err) => log.debug({ err }, 'WebSocket error'));
    // the receive loop: clients have nothing to say, but a close or a pong is noticed at once
    ws.on('message', () => {});
    ws.on('pong', () => { if (client) client.alive = true; });
    ws.on('close', () => { if (client) drop(client); });
    const start = parseStreamStart(query);
    if (!start.ok) { closedCounter.inc({ reason: 'bad parameters' }); ws.close(CLOSE.badParameters, truncate(`bad parameters: ${start.reason}`)); return; }
    let record: StreamRecord | undefined;
    try { record = await records.get(id); } catch (err) {
      log.error({ err }, 'stream lookup failed');
      ws.close(1011, 'stream lookup failed');
      return;
    }
    if (ws.readyState !== ws.OPEN) return;
    if (!record) { closedCounter.inc({ reason: 'unknown stream' }); ws.close(CLOSE.unknownStream, 'unknown stream'); return; }
    if (stopping) { ws.close(CLOSE.shutdown, 'server shutting down'); return; }
    let group = groups.get(record.id);
    if (!group) groups.set(record.id, group = { id: record.id, match: routingKeyMatcher(record.routing_key), clients: new Set() });
    client = new Client(ws, group, cfg.clientBuffer, start.start, tooSlow);
    group.clients.add(client);
    connected.inc();
    log.debug({ stream: record.id, from: start.start }, 'client connected');
    if (start.start.from === 'live') return;
    const c = client;
    const p = replay(c, start.start, record.routing_key).catch((err) => {
      log.error({ err, stream: c.group.id }, 'replay failed');
      closeClient(c, 1011, 'replay failed');
    }).finally(() => replays.delete(p));
    replays.add(p);
  };

  const heartbeat = setInterval(() => {
    for (const g of groups.values()) for (const c of g.clients) {
      if (!c.alive) { log.debug({ stream: g.id }, 'no pong: dropping client'); closedCounter.inc({ reason: 'no pong' }); drop(c); c.ws.terminate(); continue; }
      c.alive = false;
      try { c.ws.ping(); } catch { /* closing */ }
    }
  }, o.heartbeatMs ?? 30_000);

  // ---- the internal API
  const api = await buildApi();
  async function buildApi(): Promise<FastifyInstance> {
    const app = Fastify({ loggerInstance: log.child({ part: 'api' }, { level: 'warn' }), bodyLimit: 16 * 1024, routerOptions: { ignoreTrailingSlash: true } })
      .withTypeProvider<TypeBoxTypeProvider>();
    useErrorCatalogue(app as unknown as FastifyInstance);
    if (cfg.apiToken) {
      const expected = Buffer.from(`Bearer ${cfg.apiToken}`);
      app.addHook('onRequest', async (req, reply) => {
        const got = Buffer.from(req.headers.authorization ?? '');
        if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
          reply.header('www-authenticate', 'Bearer');
          throw new AppError('unauthorized', 'a valid Authorization: Bearer token is required');
        }
      });
    }
    const view = (r: StreamRecord) => ({ id: r.id, location: locationOf(r.id), routing_key: r.routing_key, created_at: r.created_at });
    const Stream = Type.Object({ id: Type.String({ format: 'uuid' }), location: Type.String(), routing_key: Type.String(), created_at: Type.String() });
    const Problem = Type.Object({ error: Type.String(), message: Type.String() });

    app.get('/event-stream/version/', { schema: { description: 'Service version', response: { 200: Type.Object({ version: Type.String() }) } } }, async () => ({ version: VERSION }));
    app.post('/event-stream/', {
      schema: { description: 'Create an event stream for a routing key', body: Type.Object({ routing_key: Type.Unknown({ description: 'a routing key (string), see the grammar' }) }), response: { 201: Stream, 400: Problem } },
    }, async (req, reply) => {
      const check = parseRoutingKey(req.body.routing_key);
      if (!check.ok) throw new AppError('bad_request', check.reason);
      const r = await records.create(check.segments.join('.'));
      log.info({ stream: r.id, routingKey: r.routing_key }, 'event stream created');
      return reply.status(201).send(view(r));
    });
    app.get('/event-stream/', { schema: { description: 'Every event stream', response: { 200: Type.Object({ event_streams: Type.Array(Stream) }) } } },
      async () => ({ event_streams: (await records.list()).map(view) }));
    app.get('/event-stream/:id', { schema: { description: 'One event stream', params: Type.Object({ id: Type.String() }), response: { 200: Stream, 404: Problem } } }, async (req) => {
      const r = await records.get(req.params.id);
      if (!r) throw new AppError('not_found', `no event stream ${req.params.id}`);
      return view(r);
    });
    app.delete('/event-stream/:id', { schema: { description: 'Delete an event stream; its connected clients are closed at once', params: Type.Object({ id: Type.String() }) } }, async (req, reply) => {
      if (!(await records.delete(req.params.id))) throw new AppError('not_found', `no event stream ${req.params.id}`);
      const g = groups.get(req.params.id.toLowerCase());
      if (g) for (const c of [...g.clients]) closeClient(c, CLOSE.deleted, 'stream deleted');
      log.info({ stream: req.params.id }, 'event stream deleted');
      return reply.status(204).send();
    });
    return app as unknown as FastifyInstance;
  }

  // ---- listen
  let amqp: AmqpSource | undefined;
  let streamPort = 0, apiPort = 0;
  const locationOf = (id: string) => `${cfg.ingressSecure ? 'wss' : 'ws'}://${(cfg.ingressLocation ?? `localhost:${streamPort}`).replace(/^wss?:\/\//, '').replace(/\/+$/, '')}/event-stream/${id}`;
  const host = ctx.config.host;
  try {
    await new Promise<void>((ok, fail) => { streamServer.once('error', fail); streamServer.listen(cfg.streamPort, host, () => { streamServer.off('error', fail); ok(); }); });
    streamPort = (streamServer.address() as AddressInfo).port;
    await api.listen({ port: cfg.apiPort, host });
    apiPort = (api.server.address() as AddressInfo).port;
    if (cfg.amqpUrl) amqp = await startAmqpSource({ url: cfg.amqpUrl, eventLog: ctx.eventLog, log: log.child({ part: 'amqp' }), queue: `${ctx.config.mqtt.clientId}-gateway` });
  } catch (err) {
    clearInterval(heartbeat);
    unsubscribe();
    await api.close().catch(() => {});
    streamServer.close();
    throw err;
  }
  log.info({ api: `http://localhost:${apiPort}/event-stream/`, streams: `ws://localhost:${streamPort}/event-stream/{id}`, amqp: !!amqp }, 'event-stream gateway listening');

  return {
    apiPort, streamPort, amqp,
    clients: () => new Map([...groups.values()].map((g) => [g.id, g.clients.size])),
    guard: (streamId, admits) => { guards.set(streamId.toLowerCase(), admits); },
    readiness: amqp ? [{ name: 'amqp', check: () => amqp!.isConnected() }] : [],
    async stop() {
      stopping = true;
      unsubscribe();
      clearInterval(heartbeat);
      await amqp?.stop();
      for (const g of [...groups.values()]) for (const c of [...g.clients]) closeClient(c, CLOSE.shutdown, 'server shutting down');
      await Promise.allSettled([...replays]);
      // give clients a moment to answer the close frames, then cut what is left
      const until = Date.now() + 1000;
      while (wss.clients.size && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const ws of wss.clients) ws.terminate();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((ok) => wss.close(() => ok()));
      await new Promise<void>((ok) => streamServer.close(() => ok()));
      streamServer.closeAllConnections();
      await api.close();
    },
  };
}

/** A close reason is at most 123 bytes. */
function truncate(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}
