/**
 * The gateway's public WebSocket service (seed 004, STREAM_PORT): `/event-stream/{id}[?stream_from_…]`.
 * A bad target is refused before the upgrade (400/404, never an exception); a guarded stream (the
 * dashboard's, with CONTROL_TOKEN) admits only the upgrades its guard accepts (401).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseStreamStart } from '../../actors/gateway/stream-replay.ts';
import type { Logger } from '../process/logger.ts';
import type { StreamRecord, StreamRecordStore } from './records.ts';
import type { StreamHub } from './hub.ts';
import { CLOSE, truncate, type Client } from './client.ts';
import { parseStreamTarget, refusal } from './stream-target.ts';

export interface StreamService {
  server: Server;
  /** Only upgrades `admits` accepts may open this stream; others get 401. */
  guard(streamId: string, admits: (req: IncomingMessage) => boolean): void;
  /** The stream is gone: its guard too. */
  unguard(streamId: string): void;
  stop(): Promise<void>;
}

export function streamService(o: { records: StreamRecordStore; hub: StreamHub; log: Logger }): StreamService {
  const { records, hub, log } = o;
  let stopping = false;
  // checked before the upgrade (a stream made through the internal API is opened by its id alone, as in seed 004)
  const guards = new Map<string, (req: IncomingMessage) => boolean>();
  const admitted = (req: IncomingMessage): boolean => {
    if (guards.size === 0) return true;
    const target = parseStreamTarget(req.url);
    const admits = target.ok ? guards.get(target.id.toLowerCase()) : undefined;
    return !admits || admits(req);
  };
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024,
    clientTracking: true,
    verifyClient: (info, done) => (admitted(info.req) ? done(true) : done(false, 401, 'Unauthorized', { 'www-authenticate': 'Bearer' })),
  });
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
    res.end(JSON.stringify({ error: 'upgrade_required', message: 'connect with a WebSocket to /event-stream/{id}' }));
  });
  server.on('upgrade', (req, socket, head) => {
    // Node takes its own error listener off a socket it hands to 'upgrade': a reset must not kill the process
    socket.on('error', (err) => log.debug({ err: err.message }, 'upgrade socket error'));
    const target = parseStreamTarget(req.url);
    if (!target.ok || stopping) {
      socket.end(refusal(stopping ? 503 : target.ok ? 404 : target.status));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void connected(ws, target.id, target.query));
  });

  const connected = async (ws: WebSocket, id: string, query: URLSearchParams) => {
    let client: Client | undefined;
    ws.on('error', (err) => log.debug({ err }, 'WebSocket error'));
    // the receive loop: clients have nothing to say, but a close or a pong is noticed at once
    ws.on('message', () => {});
    ws.on('pong', () => {
      if (client) client.alive = true;
    });
    ws.on('close', () => {
      if (client) hub.drop(client);
    });
    const start = parseStreamStart(query);
    if (!start.ok) {
      hub.refused('bad parameters');
      ws.close(CLOSE.badParameters, truncate(`bad parameters: ${start.reason}`));
      return;
    }
    let record: StreamRecord | undefined;
    let head: number | undefined;
    try {
      // a live client starts after every position taken before it asked: an event logged before it joined is not new
      // to it, even when the tail delivers it after the join
      [record, head] = await Promise.all([records.get(id), start.start.from === 'live' ? hub.head() : undefined]);
    } catch (err) {
      log.error({ err }, 'stream lookup failed');
      ws.close(1011, 'stream lookup failed');
      return;
    }
    if (ws.readyState !== ws.OPEN) return;
    if (!record) {
      hub.refused('unknown stream');
      ws.close(CLOSE.unknownStream, 'unknown stream');
      return;
    }
    if (stopping) {
      ws.close(CLOSE.shutdown, 'server shutting down');
      return;
    }
    client = hub.join(ws, record, start.start.from === 'live' ? { from: 'live', after: head } : start.start);
  };

  return {
    server,
    guard: (streamId, admits) => {
      guards.set(streamId.toLowerCase(), admits);
    },
    unguard: (streamId) => {
      guards.delete(streamId.toLowerCase());
    },
    async stop() {
      stopping = true;
      await hub.stop();
      // give clients a moment to answer the close frames, then cut what is left
      const until = Date.now() + 1000;
      while (wss.clients.size && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const ws of wss.clients) ws.terminate();
      hub.clearTimers();
      await new Promise<void>((ok) => wss.close(() => ok()));
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
    },
  };
}
