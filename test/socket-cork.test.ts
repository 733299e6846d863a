/** The one place storeflow touches ws internals (adapters/gateway/socket-cork.ts). Fails if ws changes under it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocketServer, WebSocket } from 'ws';
import { cork, uncork, corkable } from '../adapters/gateway/socket-cork.ts';

test('a server-side WebSocket can be corked: frames sent while corked arrive once uncorked, in order', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((ok) => server.once('listening', ok));
  const port = (server.address() as { port: number }).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const got: string[] = [];
  const all = new Promise<void>((ok) =>
    client.on('message', (d) => {
      got.push(d.toString());
      if (got.length === 3) ok();
    }),
  );
  try {
    const ws = await new Promise<WebSocket>((ok) => server.once('connection', ok));
    assert.ok(corkable(ws), 'ws keeps its socket where socket-cork.ts looks');
    cork(ws);
    for (const m of ['a', 'b', 'c']) ws.send(m);
    assert.is((ws as unknown as { _socket: { writableCorked: number } })._socket.writableCorked, 1, 'the socket holds the frames');
    uncork(ws);
    await all;
    assert.equal(got, ['a', 'b', 'c']);
  } finally {
    client.terminate();
    for (const c of server.clients) c.terminate();
    await new Promise((ok) => server.close(ok));
  }
});

test.run();
