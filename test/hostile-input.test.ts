/**
 * Hostile input on every network path (issue 14, item 1): each case reproduced a crash, a 5xx or
 * unbounded buffering before it was fixed. The answers are stated whole.
 */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { startTestApp, collect, sleep, waitFor, type TestApp } from './helpers.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { startEmbeddedBroker } from '../adapters/edges/embedded-broker.ts';
import { mqttOptions } from '../adapters/edges/mqtt.ts';
import { captureLogger, testConfig } from './helpers.ts';
import { MAX_JSON_DEPTH } from '../adapters/process/json-body.ts';
import { mqttPacketLimit, remainingLength } from '../adapters/edges/mqtt-packet-guard.ts';
import { loadCustomer } from '../adapters/edges/cache-store.ts';

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** An HTTP/1.1 exchange with a raw request target (fetch and ws would normalise it). */
function raw(port: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path: target, headers, timeout: 5000 });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      ok({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}
const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

// ---------------------------------------------------------------- the gateway's paths

const gateway = suite('gateway: paths and queries');
let gw: TestApp & { handle: GatewayHandle };
gateway.before(async () => {
  const app = await startTestApp({ ROLES: 'gateway' });
  gw = Object.assign(app, { handle: app.roles.get('gateway') as GatewayHandle });
});
gateway.after(async () => {
  await gw.close();
});

gateway('malformed percent-encoding on the public port: 400 before the upgrade, and the process lives', async () => {
  const got = [];
  for (const target of ['/event-stream/%E0%A4%A', '/event-stream/%', '/event-stream/%ZZ', '/event-stream/%E0%A4%A?from=%', '/event-stream/%C0%80'])
    got.push([target, await raw(gw.handle.streamPort, target, upgrade)]);
  const bad = { status: 400, body: '' };
  assert.equal(got, [
    ['/event-stream/%E0%A4%A', bad],
    ['/event-stream/%', bad],
    ['/event-stream/%ZZ', bad],
    ['/event-stream/%E0%A4%A?from=%', bad],
    ['/event-stream/%C0%80', bad],
  ]);
  assert.equal(await raw(gw.handle.streamPort, 'http://[bad/event-stream/x', upgrade), { status: 400, body: '' });
  const health = await gw.http.inject({ method: 'GET', url: '/healthcheck' });
  assert.is(health.body, 'OK');
});

gateway('malformed percent-encoding on the internal API: 400', async () => {
  const r = await raw(gw.handle.apiPort, '/event-stream/%E0%A4%A');
  assert.is(r.status, 400);
});

gateway('/dashboard/config?since= out of the date range: 400 naming since', async () => {
  const got = [];
  for (const since of ['1e22', '8640000000000001', '-1', 'NaN', 'soon']) {
    const r = await gw.http.inject({ method: 'GET', url: `/dashboard/config?since=${since}` });
    got.push([since, r.statusCode, r.json().error, /since/.test(r.json().message)]);
  }
  assert.equal(got, [
    ['1e22', 400, 'schema', true],
    ['8640000000000001', 400, 'schema', true],
    ['-1', 400, 'schema', true],
    ['NaN', 400, 'schema', true],
    ['soon', 400, 'schema', true],
  ]);
  const fine = await gw.http.inject({ method: 'GET', url: '/dashboard/config?since=0' });
  assert.is(fine.statusCode, 200);
});

gateway('deep JSON on the internal API: 400 too deep', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.handle.apiPort}/event-stream/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"routing_key":${deep(5000)}}`,
  });
  assert.equal(
    { status: res.status, body: await res.json() },
    {
      status: 400,
      body: { error: 'too_deep', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` },
    },
  );
});

// ---------------------------------------------------------------- the control plane's bodies

const control = suite('control plane: bodies');
let cp: TestApp;
control.before(async () => {
  cp = await startTestApp({ ROLES: 'recommender,simulator,gateway,pump' });
});
control.after(async () => {
  await cp.close();
});

const POSTS = [
  '/mock_entry',
  '/mock_focus',
  '/produce_entry',
  '/produce_move',
  '/produce_exit',
  '/scenario',
  '/scenario_draft',
  '/score',
  '/dashboard/helped',
  '/pump/settings',
  '/simulator/settings',
];

control("nested deeper than the limit: 400 too_deep on every POST, as JSON and as curl's form-encoded -d", async () => {
  const tooDeep = { error: 'too_deep', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
    const got: unknown[] = [];
    for (const url of POSTS) {
      const r = await cp.http.inject({
        method: 'POST',
        url,
        headers: { 'content-type': type },
        payload: `{"id":"1","ts":1700000000,"dep":"Men","x":1,"y":1,"pad":${deep(5000)}}`,
      });
      got.push([url, r.statusCode, r.json()]);
    }
    assert.equal(
      got,
      POSTS.map((u) => [u, 400, tooDeep]),
      type,
    );
  }
  // at the limit it parses (and the route answers as it would anyway)
  const at = await cp.http.inject({
    method: 'POST',
    url: '/mock_entry',
    headers: { 'content-type': 'application/json' },
    payload: `{"id":"1","ts":1700000000,"pad":${deep(MAX_JSON_DEPTH - 1)}}`,
  });
  assert.is(at.statusCode, 200, at.body);
  // brackets inside strings are not nesting
  const inString = await cp.http.inject({
    method: 'POST',
    url: '/mock_entry',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ id: '1', ts: 1700000000, note: `${'['.repeat(5000)}"\\` }),
  });
  assert.is(inString.statusCode, 200, inString.body);
  // prototype poisoning is still refused as before
  const proto = await cp.http.inject({
    method: 'POST',
    url: '/mock_entry',
    headers: { 'content-type': 'application/json' },
    payload: '{"id":"1","ts":1700000000,"__proto__":{"x":1}}',
  });
  assert.is(proto.statusCode, 400);
});

control('/scenario with a timestamp outside the date range: 400 naming the field', async () => {
  const got: unknown[] = [];
  for (const timestamp of [1e22, 8.64e15 + 1, '+275760-09-13T00:00:00.001Z', '9999999999999999999']) {
    const r = await cp.http.inject({
      method: 'POST',
      url: '/scenario',
      payload: { customer: { customer_id: '1' }, path: [{ type: 'ENTER', location: { x: 1, y: 1 }, timestamp }] },
    });
    got.push([r.statusCode, r.json().details]);
  }
  const problem = (t: unknown) => [400, { problems: [`/path/0/timestamp: unreadable ${JSON.stringify(t)} (epoch seconds or ms, or ISO-8601 with an offset)`] }];
  assert.equal(got, [problem(1e22), problem(8.64e15 + 1), problem('+275760-09-13T00:00:00.001Z'), problem('9999999999999999999')]);
  // recalculated to now, a far-future path is fine; a path spanning more than the date range is not
  const span = await cp.http.inject({
    method: 'POST',
    url: '/scenario?recalculate_time=true',
    payload: {
      customer: { customer_id: '1' },
      path: [
        { type: 'ENTER', location: { x: 1, y: 1 }, timestamp: 0 },
        { type: 'EXIT', location: { x: 1, y: 1 }, timestamp: 8.64e15 },
      ],
    },
  });
  assert.equal(
    [span.statusCode, span.json().details],
    [400, { problems: ['/path/1/timestamp: 8640000000000000 is too far after the first step once recalculated to now'] }],
  );
});

control('a customer id beyond the int column is an unknown customer, not a database error', async () => {
  assert.is(await loadCustomer(cp.database.db, 4294967296), null);
  assert.is(await loadCustomer(cp.database.db, -2147483649), null);
  assert.is(await loadCustomer(cp.database.db, 1.5), null);
  const r = await cp.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '99999999999', ts: 1700000000, dep: 'Men' } });
  assert.is(r.statusCode, 200, r.body);
  await sleep(200);
  assert.equal(
    cp
      .entries()
      .filter((e) => e.level >= 50)
      .map((e) => e.msg),
    [],
  );
});

// ---------------------------------------------------------------- MQTT packets above the limit

/** CONNECT, then a PUBLISH whose header announces `announced` bytes; writes until the broker cuts us off. */
async function oversizedPublish(port: number, announced: number, send: number): Promise<{ sent: number; closed: boolean }> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((ok, fail) => {
    socket.once('connect', ok);
    socket.once('error', fail);
  });
  let closed = false;
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  // CONNECT, MQTT 3.1.1, clean session, keepalive 60 s, client id "hostile"
  const id = Buffer.from('hostile');
  const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 60, 0, id.length]), id]);
  socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  await sleep(100);
  // fixed header: PUBLISH QoS 0, remaining length as a variable byte integer; then topic and payload bytes
  const lenBytes = remainingLength(announced);
  const topic = Buffer.from('customer/focus');
  socket.write(Buffer.concat([Buffer.from([0x30, ...lenBytes]), Buffer.from([topic.length >> 8, topic.length & 255]), topic]));
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  while (sent < send && !closed) {
    if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(200)]);
    sent += chunk.length;
    await sleep(1);
  }
  await waitFor(() => closed, 5000, 'the broker to close the connection').catch(() => {});
  socket.destroy();
  return { sent, closed };
}

const mqtt = suite('MQTT: packets above the limit');

mqtt('the embedded broker closes a connection whose packet announces more than its limit, before the packet is buffered', async () => {
  const { log, entries } = captureLogger('warn');
  const broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', log, maxPacketBytes: 100_000 });
  try {
    const r = await oversizedPublish(broker.port, 100 * 1024 * 1024, 16 * 1024 * 1024);
    assert.equal({ closed: r.closed, cutEarly: r.sent < 4 * 1024 * 1024 }, { closed: true, cutEarly: true });
    assert.equal(
      entries().map((e) => [e.msg, e.bytes, e.limit]),
      [['MQTT packet above the size limit: connection closed', 1 + 4 + 100 * 1024 * 1024, 100_000]],
    );
    // a packet within the limit still goes through
    const client = await (await import('mqtt')).default.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    const got = await collect(client, ['ok/#']);
    await client.publishAsync('ok/1', 'x'.repeat(90_000), { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 'the message within the limit');
    assert.is(got[0].raw.length, 90_000);
    await client.endAsync();
  } finally {
    await broker.stop();
  }
});

mqtt("storeflow's embedded broker has the limit, and clients advertise it to MQTT 5 brokers", async () => {
  const config = testConfig({ MQTT_URL: '', MQTT_PORT: '0' });
  assert.is(mqttPacketLimit(config), 4 * 1024 * 1024);
  const v5 = mqttOptions(
    testConfig({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_PROTOCOL_VERSION: '5' }),
    ['mqtt://127.0.0.1:1883'],
    'recommender',
    captureLogger().log,
  );
  assert.is(v5.maximumPacketSize, 4 * 1024 * 1024);
  const small = testConfig({ MQTT_URL: '', MQTT_PORT: '0', MQTT_MAX_PACKET_BYTES: '200000' });
  assert.is(mqttPacketLimit(small), 200_000);
  const app = await startTestApp({ MQTT_URL: '', MQTT_PORT: '0', MQTT_MAX_PACKET_BYTES: '200000' });
  try {
    const port = must(app.infrastructure.embeddedBroker, 'app.infrastructure.embeddedBroker').port;
    const r = await oversizedPublish(port, 50 * 1024 * 1024, 8 * 1024 * 1024);
    assert.equal({ closed: r.closed, cutEarly: r.sent < 4 * 1024 * 1024 }, { closed: true, cutEarly: true });
    assert.is((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  } finally {
    await app.close();
  }
});

gateway.run();
control.run();
mqtt.run();
