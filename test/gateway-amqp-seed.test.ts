/**
 * Seed 004's own clients against storeflow, unchanged: a publisher written from the seed's
 * `ampq_publisher.py` (declares the exchange direct and durable, publishes a protobuf-text body
 * `accountserver.MerchantCharge|…` under a routing key) and the parsing of its `ws_listener.py`.
 * Both start orders; against a real RabbitMQ (AMQP_URL, else 127.0.0.1:5672 when it answers; skipped
 * otherwise). Each test uses an exchange of its own so runs never meet the machine's `event-streams`.
 */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { connect as tcpConnect } from 'node:net';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { createGateway, type GatewayHandle } from '../adapters/gateway/index.ts';
import { startTestApp, waitFor, uniqueName, type TestApp } from './helpers.ts';

const answers = (host: string, port: number) =>
  new Promise<boolean>((ok) => {
    const s = tcpConnect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      ok(v);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
const AMQP_URL = process.env.AMQP_URL || ((await answers('127.0.0.1', 5672)) ? 'amqp://guest:guest@127.0.0.1:5672' : '');

/** The seed's publisher: declare the exchange as it does (direct, durable) and publish one body under a routing key. */
async function seedPublish(url: string, exchange: string, routingKey: string, bodies: string[]): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange(exchange, 'direct', { durable: true });
    for (const b of bodies) ch.publish(exchange, routingKey, Buffer.from(b));
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

/** What the seed's ws_listener.py prints for one frame (it raises on a JSON frame without its four keys). */
function listenerView(data: string): { ordinal: unknown; timestamp: unknown; type: unknown; body: unknown } {
  if (data[0] === '{') {
    const m = JSON.parse(data);
    for (const k of ['message_type', 'message_body', 'ess_ordinal', 'ess_timestamp']) if (!(k in m)) throw new Error(`KeyError: ${k}`);
    return { ordinal: m.ess_ordinal, timestamp: m.ess_timestamp, type: m.message_type, body: m.message_body };
  }
  const s = data.split('|');
  return {
    type: s[0],
    body: s[1],
    ordinal: s.length > 2 ? s[2].split(/\s+/)[1] : '(not present)',
    timestamp: s.length > 2 ? s[3].split(/\s+/)[1] : '(not present)',
  };
}

const MERCHANT_CHARGE =
  'accountserver.MerchantCharge|timestamp: "2026-11-24T10:00:00.000+00:00" merchant_kind: "DATA_MANAGER" merchant_name: "squonk" merchant_id: 1 operation: OPERATION_ENUM_PROCESSING auth_code: 456782 value: "0.50" sqn: 1';

type App = TestApp & { gw: GatewayHandle };
async function gateway(env: Record<string, string>): Promise<App> {
  const a = await startTestApp({ ROLES: 'gateway', LOG_LEVEL: 'info', ...env }, { factories: { gateway: createGateway({ heartbeatMs: 60_000 }) } });
  return Object.assign(a, { gw: a.roles.get('gateway') as GatewayHandle });
}
const api = (app: App, method: string, path: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${app.gw.apiPort}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });

/** A WebSocket on the stream, collecting text frames. */
async function listen(app: App, location: string, query = ''): Promise<{ frames: string[]; close(): void }> {
  const before = app.gw.clients().size;
  const ws = new WebSocket(location + query);
  const frames: string[] = [];
  ws.on('message', (d) => frames.push(d.toString()));
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  if (!query) await waitFor(() => [...app.gw.clients().values()].reduce((a, b) => a + b, 0) > before, 5000, 'client registered');
  return { frames, close: () => ws.close() };
}

async function cleanUp(app: App | undefined, exchange: string) {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const queue = app?.gw.amqp?.queue;
    if (queue) for (const q of [queue, `${queue}.dead-letter`]) await ch.deleteQueue(q).catch(() => {});
    if (queue) await ch.deleteExchange(`${queue}.dead-letter`).catch(() => {});
    await ch.deleteExchange(exchange).catch(() => {});
  } finally {
    await conn.close().catch(() => {});
  }
  await app?.close();
}

const seed = suite('seed 004 publisher and listener, unchanged');

if (!AMQP_URL) {
  console.log('gateway-amqp-seed: no RabbitMQ (AMQP_URL unset and nothing answers on 127.0.0.1:5672): seed 004 client tests skipped');
} else {
  seed(
    "storeflow first: the seed publisher's direct exchange is accepted; text, JSON and message_type/message_body bodies stream as the original streams them",
    async () => {
      const exchange = uniqueName('event_streams');
      const key = uniqueName('abc');
      let app: App | undefined;
      try {
        app = await gateway({ AMQP_URL, AMQP_EXCHANGE: exchange });
        const created = await api(app, 'POST', '/event-stream/', { routing_key: key });
        const { location } = (await created.json()) as { location: string };
        const live = await listen(app, location);
        const passthrough = { message_type: 'accountserver.MerchantCharge', message_body: { sqn: 2 } };
        await seedPublish(AMQP_URL, exchange, key, [MERCHANT_CHARGE, '{"a":1,"b":"x"}', JSON.stringify(passthrough)]);
        await seedPublish(AMQP_URL, exchange, `${key}_nostream`, ['accountserver.MerchantCharge|sqn: 9']);
        await waitFor(() => live.frames.length >= 3, 5000, 'three frames');
        const [t, j, m] = await app.eventLog.read({ streamId: `amqp-${key}` });
        const expected = [
          `${MERCHANT_CHARGE}|ordinal: ${t.position}|timestamp: ${t.recordedAt}`,
          {
            ess_ordinal: j.position,
            ess_timestamp: j.recordedAt,
            message_type: key,
            message_body: { a: 1, b: 'x' },
            stream_id: `amqp-${key}`,
            version: 2,
            metadata: { source: 'amqp', routing_key: key },
          },
          { ...passthrough, ess_ordinal: m.position, ess_timestamp: m.recordedAt },
        ];
        await new Promise((r) => setTimeout(r, 300)); // nothing else arrives
        assert.equal([live.frames[0], ...live.frames.slice(1).map((f) => JSON.parse(f))], expected);
        assert.is(live.frames.length, 3);
        assert.equal(
          live.frames.map(listenerView),
          [
            { type: 'accountserver.MerchantCharge', body: MERCHANT_CHARGE.split('|')[1], ordinal: String(t.position), timestamp: String(t.recordedAt) },
            { type: key, body: { a: 1, b: 'x' }, ordinal: j.position, timestamp: j.recordedAt },
            { type: 'accountserver.MerchantCharge', body: { sqn: 2 }, ordinal: m.position, timestamp: m.recordedAt },
          ],
          'what ws_listener.py prints',
        );
        // a message under a key no stream has is not routed by the direct exchange (as with the original)
        assert.equal(await app.eventLog.read({ streamId: `amqp-${key}_nostream` }), []);
        // replayed from the log, a client gets the same frames (JSON as PostgreSQL prints it: spacing and key order may differ)
        const replayed = await listen(app, location, `?stream_from_ordinal=${t.position}`);
        await waitFor(() => replayed.frames.length >= 3, 5000, 'replayed frames');
        const parsed = (f: string) => (f[0] === '{' ? JSON.parse(f) : f);
        assert.equal(replayed.frames.map(parsed), live.frames.map(parsed));
        assert.is(replayed.frames[0], live.frames[0], 'a text frame byte for byte');
        live.close();
        replayed.close();
      } finally {
        await cleanUp(app, exchange);
      }
    },
  );

  seed("publisher first, then storeflow with ESS_AMPQ_URL: no 406 either way; a deleted stream's key is unbound", async () => {
    const exchange = uniqueName('event_streams');
    const key = uniqueName('abc');
    let app: App | undefined;
    try {
      await seedPublish(AMQP_URL, exchange, key, ['accountserver.MerchantCharge|sqn: 0']); // nobody bound yet: dropped by RabbitMQ, as with the original
      app = await gateway({ ESS_AMPQ_URL: AMQP_URL, AMQP_EXCHANGE: exchange });
      assert.ok(app.gw.amqp?.isConnected(), 'ESS_AMPQ_URL is read');
      const created = await api(app, 'POST', '/event-stream/', { routing_key: key });
      const { id, location } = (await created.json()) as { id: string; location: string };
      const live = await listen(app, location);
      await seedPublish(AMQP_URL, exchange, key, [MERCHANT_CHARGE]);
      await waitFor(() => live.frames.length >= 1, 5000, 'the frame');
      const [t] = await app.eventLog.read({ streamId: `amqp-${key}` });
      assert.equal(live.frames, [`${MERCHANT_CHARGE}|ordinal: ${t.position}|timestamp: ${t.recordedAt}`]);
      assert.is((await api(app, 'DELETE', `/event-stream/${id}`)).status, 204);
      await must(app.gw.amqp, 'app.gw.amqp').sync();
      await seedPublish(AMQP_URL, exchange, key, ['accountserver.MerchantCharge|sqn: 3']);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(
        (await app.eventLog.read({ streamId: `amqp-${key}` })).map((e) => e.data),
        [{ text: MERCHANT_CHARGE }],
      );
      const password = new URL(AMQP_URL).password;
      if (password)
        assert.not.ok(
          app.logs.some((l) => l.includes(`:${password}@`)),
          'password in a log line',
        );
    } finally {
      await cleanUp(app, exchange);
    }
  });

  seed('an exchange already declared as topic: storeflow (direct by default) stops with a clear error naming AMQP_EXCHANGE_TYPE', async () => {
    const exchange = uniqueName('event_streams');
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      await ch.assertExchange(exchange, 'topic', { durable: true });
      let error = '';
      await gateway({ AMQP_URL, AMQP_EXCHANGE: exchange }).then(
        async (a) => {
          await cleanUp(a, exchange);
        },
        (err) => {
          error = String((err as Error).message);
        },
      );
      assert.match(error, `the exchange ${exchange} exists with other settings than direct and durable`);
      assert.match(error, 'Set AMQP_EXCHANGE_TYPE=topic');
      const password = new URL(AMQP_URL).password;
      if (password) assert.not.ok(error.includes(`:${password}@`), 'password in the error');
      await ch.deleteExchange(exchange);
    } finally {
      await conn.close();
    }
  });
}

seed.run();
