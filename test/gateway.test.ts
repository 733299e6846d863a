/**
 * The event-stream gateway end to end: its own API and WebSocket servers on free ports, real
 * PostgreSQL, events appended to the log as the other roles would.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { NewEvent } from '../actors/kernel/event-log.ts';
import { CLOSE, createGateway, type GatewayHandle, type GatewayOptions } from '../adapters/gateway/index.ts';
import { startTestApp, waitFor, sleep, dropSchema, uniqueName, type TestApp } from './helpers.ts';
import type { Env } from '../schemas/env.ts';
import { sql } from '../adapters/edges/database.ts';
import { must } from '../actors/kernel/must.ts';

// ---------- helpers

async function gatewayApp(env: Env = {}, opts: GatewayOptions = {}): Promise<TestApp & { gw: GatewayHandle }> {
  const app = await startTestApp({ ROLES: 'gateway', ...env }, { factories: { gateway: createGateway({ heartbeatMs: 60_000, closeGraceMs: 1000, ...opts }) } });
  return Object.assign(app, { gw: app.roles.get('gateway') as GatewayHandle });
}

/** What the stream API answers: each endpoint fills its own fields, a refusal names its error. */
interface ApiBody {
  id: string;
  location: string;
  routing_key: string;
  version: string;
  error: string;
  event_streams: { id: string; routing_key: string; location: string }[];
}

/** One event as a stream listener receives it. */
interface StreamMessage {
  ess_ordinal: number;
  message_type: string;
  stream_id: string;
  message_body: unknown;
  metadata: unknown;
}

async function api(app: { gw: GatewayHandle }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${app.gw.apiPort}${path}`, {
    method,
    headers: { ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json as ApiBody, headers: res.headers };
}

async function createStream(app: { gw: GatewayHandle }, routing_key: string): Promise<{ id: string; location: string }> {
  const r = await api(app, 'POST', '/event-stream/', { routing_key });
  assert.is(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

interface Listener {
  ws: WebSocket;
  messages: StreamMessage[];
  ordinals: () => number[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
}

function listen(url: string, opts: WebSocket.ClientOptions = {}): Listener {
  const ws = new WebSocket(url, opts);
  const messages: StreamMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((ok) => ws.on('close', (code, reason) => ok({ code, reason: reason.toString() })));
  const opened = new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
  });
  opened.catch(() => {}); // awaited by the tests that expect a refusal
  return { ws, messages, ordinals: () => messages.map((m) => m.ess_ordinal), closed, opened };
}

/** A listener on a stream, resolved once the server has registered it (so live events reach it). */
async function joined(app: { gw: GatewayHandle }, location: string, query = '', want = 1): Promise<Listener> {
  const id = must(location.split('/').pop(), 'the stream id');
  const before = app.gw.clients().get(id) ?? 0;
  const l = listen(location + query);
  await l.opened;
  await waitFor(() => (app.gw.clients().get(id) ?? 0) >= before + want, 5000, 'client registered');
  return l;
}

const move = (customer: string, n: number): NewEvent => ({ streamId: `customer-${customer}`, type: 'move', data: { id: customer, ts: n, x: n % 7, y: n % 5 } });
const entry = (customer: string): NewEvent => ({ streamId: `customer-${customer}`, type: 'entry', data: { id: customer, ts: 1 } });
const prediction = (customer: string): NewEvent => ({
  streamId: `customer-${customer}`,
  type: 'prediction',
  data: {
    customer_id: customer,
    ts: 2,
    coupon: { id: 1, type: 'just_discount', department: 'Men', discount: 10, how_many: 1, start_date: '2020-01-01', end_date: '2020-01-05', products_count: 1 },
    score: 0.5,
  },
});

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// ---------- the internal API

const apiSuite = suite('internal API');
let app: Awaited<ReturnType<typeof gatewayApp>>;
apiSuite.before(async () => {
  app = await gatewayApp();
});
apiSuite.after(async () => {
  await app.close();
});

apiSuite('create, list, get, delete; version', async () => {
  const v = await api(app, 'GET', '/event-stream/version/');
  assert.is(v.status, 200);
  assert.match(v.body.version, /^\d+\.\d+\.\d+/);
  assert.equal(v.body, { protocol: 'WEBSOCKET', name: 'storeflow', version: v.body.version }, "seed 004's answer: protocol, name, version");
  const created = await api(app, 'POST', '/event-stream/', { routing_key: 'prediction' });
  assert.is(created.status, 201);
  assert.match(created.body.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(created.body.location, `ws://localhost:${app.gw.streamPort}/event-stream/${created.body.id}`);
  const other = await createStream(app, 'customer.*');
  const list = await api(app, 'GET', '/event-stream/');
  assert.is(list.status, 200);
  assert.equal(
    list.body.event_streams.map((s) => [s.id, s.routing_key, s.location]).sort(),
    [
      [created.body.id, 'prediction', created.body.location],
      [other.id, 'customer.*', other.location],
    ].sort(),
  );
  const one = await api(app, 'GET', `/event-stream/${other.id}`);
  assert.is(one.status, 200);
  assert.is(one.body.routing_key, 'customer.*');
  assert.is((await api(app, 'DELETE', `/event-stream/${created.body.id}`)).status, 204);
  assert.is((await api(app, 'DELETE', `/event-stream/${created.body.id}`)).status, 404);
  assert.is((await api(app, 'GET', `/event-stream/${created.body.id}`)).status, 404);
  assert.equal(
    (await api(app, 'GET', '/event-stream')).body.event_streams.map((s) => s.id),
    [other.id],
  );
});

apiSuite('bad requests: invalid keys, missing or mistyped fields, malformed JSON, oversized body, unknown or malformed ids', async () => {
  for (const routing_key of ['', 'a..b', 'cust*', 'x'.repeat(300)]) {
    const r = await api(app, 'POST', '/event-stream/', { routing_key });
    assert.is(r.status, 400, routing_key);
    assert.is(r.body.error, 'bad_request');
  }
  assert.is((await api(app, 'POST', '/event-stream/', {})).status, 400);
  assert.is((await api(app, 'POST', '/event-stream/', { routing_key: 42 })).status, 400);
  const malformed = await api(app, 'POST', '/event-stream/', '{"routing_key":', { 'content-type': 'application/json' });
  assert.is(malformed.status, 400);
  assert.is(malformed.body.error, 'invalid_json');
  assert.is((await api(app, 'POST', '/event-stream/', { routing_key: 'x', pad: 'y'.repeat(20_000) })).status, 413);
  assert.is((await api(app, 'GET', '/event-stream/00000000-0000-4000-8000-000000000000')).status, 404);
  assert.is((await api(app, 'DELETE', '/event-stream/00000000-0000-4000-8000-000000000000')).status, 404);
  assert.is((await api(app, 'GET', "/event-stream/1'%20OR%20'1'='1")).status, 404);
  assert.is((await api(app, 'DELETE', '/event-stream/not-a-uuid')).status, 404);
  assert.is((await api(app, 'GET', '/nowhere')).status, 404);
  // a seed client's curl -d sends form-encoded JSON
  const curl = await api(app, 'POST', '/event-stream/', '{"routing_key":"entry"}', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.is(curl.status, 201);
});

apiSuite('token required when configured; ingress location and wss', async () => {
  const secured = await gatewayApp({ ESS_API_TOKEN: 's3cret-token', ESS_INGRESS_LOCATION: 'streams.example.com', ESS_INGRESS_SECURE: 'true' });
  try {
    assert.is((await api(secured, 'GET', '/event-stream/')).status, 401);
    const wrong = await api(secured, 'POST', '/event-stream/', { routing_key: 'entry' }, { authorization: 'Bearer nope' });
    assert.is(wrong.status, 401);
    assert.is(wrong.headers.get('www-authenticate'), 'Bearer');
    assert.is((await api(secured, 'GET', '/event-stream/version/')).status, 401);
    const ok = await api(secured, 'POST', '/event-stream/', { routing_key: 'entry' }, { authorization: 'Bearer s3cret-token' });
    assert.is(ok.status, 201);
    assert.is(ok.body.location, `wss://streams.example.com/event-stream/${ok.body.id}`);
    assert.not.ok(secured.logs.join('').includes('s3cret-token'));
  } finally {
    await secured.close();
  }
});

// ---------- WebSocket streams

const streams = suite('WebSocket streams');
streams.before(async () => {
  app = await gatewayApp({}, { pageSize: 100 });
});
streams.after(async () => {
  await app.close();
});

streams('unknown stream, malformed id, bad parameters, wrong path: distinct codes', async () => {
  const unknown = listen(`ws://127.0.0.1:${app.gw.streamPort}/event-stream/00000000-0000-4000-8000-000000000000`);
  assert.equal(await unknown.closed, { code: CLOSE.unknownStream, reason: 'unknown stream' });
  const malformed = listen(`ws://127.0.0.1:${app.gw.streamPort}/event-stream/nope`);
  assert.is((await malformed.closed).code, CLOSE.unknownStream);
  const s = await createStream(app, '#');
  for (const query of [
    '?stream_from_ordinal=-3',
    '?stream_from_timestamp=later',
    '?stream_from_datetime=2024-99-01',
    '?stream_from_ordinal=1&stream_from_timestamp=5',
  ]) {
    const bad = listen(s.location + query);
    const c = await bad.closed;
    assert.is(c.code, CLOSE.badParameters, query);
    assert.match(c.reason, /^bad parameters: /);
  }
  const wrongPath = listen(`ws://127.0.0.1:${app.gw.streamPort}/other/${s.id}`);
  const refused = await wrongPath.opened.then(
    () => 'opened',
    (err: Error) => err.message,
  );
  assert.is(refused, 'HTTP 404');
  const plain = await fetch(`http://127.0.0.1:${app.gw.streamPort}/event-stream/${s.id}`);
  assert.is(plain.status, 426);
});

streams('no parameter: only new events, selected by routing key, in the documented shape', async () => {
  await app.eventLog.append([entry('old')]);
  const byKind = await createStream(app, 'prediction');
  const byCustomer = await createStream(app, 'customer.42');
  const everything = await createStream(app, '#');
  const [a, b, c] = await Promise.all([joined(app, byKind.location), joined(app, byCustomer.location), joined(app, everything.location)]);
  const logged = await app.eventLog.append([
    entry('42'),
    prediction('42'),
    prediction('7'),
    move('7', 1),
    { streamId: 'pump', type: 'rejected', data: { code: 'schema' } },
  ]);
  await waitFor(() => c.messages.length >= 5, 5000, 'all five');
  await sleep(50);
  assert.equal(a.ordinals(), [logged[1].position, logged[2].position]);
  assert.equal(b.ordinals(), [logged[0].position, logged[1].position]);
  assert.equal(
    c.ordinals(),
    logged.map((e) => e.position),
  );
  assert.equal(a.messages[0], {
    ess_ordinal: logged[1].position,
    ess_timestamp: logged[1].recordedAt,
    message_type: 'prediction',
    message_body: logged[1].data,
    stream_id: 'customer-42',
    version: logged[1].version,
    metadata: {},
  });
  for (const l of [a, b, c]) l.ws.close();
});

streams('no parameter: an event logged before the client joined never reaches it, even when the tail delivers it after the join', async () => {
  // a position taken and never committed (a rolled-back append): the tail holds what follows it for up to 2 s
  await app.database.db.query(sql`SELECT nextval(pg_get_serial_sequence('events', 'position'))`);
  const [old] = await app.eventLog.append([entry('before-join')]);
  const s = await createStream(app, 'customer.before-join');
  const l = await joined(app, s.location);
  const [fresh] = await app.eventLog.append([move('before-join', 1)]);
  await waitFor(() => l.ordinals().includes(fresh.position), 5000, 'the event logged after the join');
  await sleep(50);
  assert.equal(l.ordinals(), [fresh.position], `only the event logged after the join (${old.position} was logged before)`);
  l.ws.close();
});

streams('replay from 0, from the middle, by timestamp and by datetime with an offset; then live', async () => {
  const s = await createStream(app, 'customer.r1');
  const first = await app.eventLog.append(range(1, 250).map((n) => move('r1', n)));
  await app.eventLog.append(range(1, 30).map((n) => move('noise', n)));
  await sleep(30);
  const second = await app.eventLog.append(range(251, 300).map((n) => move('r1', n)));
  const all = [...first, ...second].map((e) => e.position);

  const fromZero = await joined(app, s.location, '?stream_from_ordinal=0');
  await waitFor(() => fromZero.messages.length === 300, 5000, 'replay from 0');
  const mid = first[120].position;
  const fromMiddle = await joined(app, s.location, `?stream_from_ordinal=${mid}`);
  await waitFor(() => fromMiddle.messages.length === all.filter((p) => p >= mid).length, 5000, 'replay from the middle');
  const t = second[0].recordedAt;
  assert.ok(first[249].recordedAt < t);
  const fromTime = await joined(app, s.location, `?stream_from_timestamp=${t}`);
  await waitFor(() => fromTime.messages.length === 50, 5000, 'replay by timestamp');
  // the same instant written at +05:30 (and the + left unencoded, as a hand-typed URL would)
  const local = new Date(t + 330 * 60_000).toISOString().replace('Z', '+05:30');
  const fromDatetime = await joined(app, s.location, `?stream_from_datetime=${local}`);
  // ISO text has ms precision, recorded_at has µs: the instant floors to the event's own ms
  await waitFor(() => fromDatetime.messages.length === 50, 5000, 'replay by datetime');

  const live = await app.eventLog.append([move('r1', 301)]);
  for (const l of [fromZero, fromMiddle, fromTime, fromDatetime]) await waitFor(() => l.ordinals().at(-1) === live[0].position, 5000, 'live after replay');
  assert.equal(fromZero.ordinals(), [...all, live[0].position]);
  assert.equal(fromMiddle.ordinals(), [...all.filter((p) => p >= mid), live[0].position]);
  assert.equal(fromTime.ordinals(), [...second.map((e) => e.position), live[0].position]);
  assert.equal(fromDatetime.ordinals(), fromTime.ordinals());
  assert.equal(fromTime.messages[0].message_body, { id: 'r1', ts: 251, x: 251 % 7, y: 251 % 5 });
  for (const l of [fromZero, fromMiddle, fromTime, fromDatetime]) l.ws.close();
});

streams('replay to live under concurrent appends: no gap, no duplicate', async () => {
  const s = await createStream(app, 'customer.*');
  const before = await app.eventLog.append(range(1, 2000).map((n) => move(`c${n % 13}`, n)));
  let writing = true;
  const during: number[] = [];
  const writer = (async () => {
    for (let n = 0; writing && n < 400; n++) {
      const batch = await app.eventLog.append(range(1, 5).map((k) => move(`w${k}`, n)));
      during.push(...batch.map((e) => e.position));
      if (n % 10 === 0) await sleep(1);
    }
  })();
  const clients = await Promise.all(range(1, 4).map(() => joined(app, s.location, `?stream_from_ordinal=${before[0].position}`, 0)));
  await sleep(100);
  writing = false;
  await writer;
  const expected = [...before.map((e) => e.position), ...during];
  for (const c of clients) {
    await waitFor(() => c.messages.length >= expected.length, 10_000, 'every event');
    await sleep(20);
    assert.equal(c.ordinals(), expected);
    c.ws.close();
  }
});

streams('seam with a tiny client buffer: held live events overflow and are re-read from the log', async () => {
  const small = await gatewayApp({ STREAM_CLIENT_BUFFER: '10' }, { pageSize: 20 });
  try {
    const s = await createStream(small, '#');
    const before = await small.eventLog.append(range(1, 300).map((n) => move('s', n)));
    const during: number[] = [];
    const c = listen(`${s.location}?stream_from_ordinal=0`);
    await c.opened;
    for (let n = 0; n < 60; n++) during.push(...(await small.eventLog.append([move('t', n), move('u', n)])).map((e) => e.position));
    const expected = [...before.map((e) => e.position), ...during];
    await waitFor(() => c.messages.length >= expected.length, 10_000, 'every event');
    await sleep(50);
    assert.equal(c.ordinals(), expected);
    c.ws.close();
  } finally {
    await small.close();
  }
});

streams('many clients on one stream and on others', async () => {
  const shared = await createStream(app, 'entry');
  const other = await createStream(app, 'customer.m5');
  const many = await Promise.all(range(1, 25).map(() => joined(app, shared.location, '', 0)));
  await waitFor(() => app.gw.clients().get(shared.id) === 25, 5000, '25 clients');
  const lone = await joined(app, other.location);
  const logged = await app.eventLog.append(range(1, 40).map((n) => entry(`m${n}`)));
  const entries = logged.map((e) => e.position);
  for (const c of many) await waitFor(() => c.messages.length === 40, 5000, 'all entries');
  for (const c of many) assert.equal(c.ordinals(), entries);
  await waitFor(() => lone.messages.length === 1, 5000, 'its one event');
  assert.equal(lone.ordinals(), [logged[4].position]);
  for (const c of [...many, lone]) c.ws.close();
  await waitFor(() => !app.gw.clients().has(shared.id), 2000, 'disconnects noticed');
});

streams('delete while connected: every socket closed at once with the deleted code', async () => {
  const s = await createStream(app, '#');
  const a = await joined(app, s.location);
  const b = await joined(app, s.location, '?stream_from_ordinal=0');
  const started = Date.now();
  assert.is((await api(app, 'DELETE', `/event-stream/${s.id}`)).status, 204);
  assert.equal(await a.closed, { code: CLOSE.deleted, reason: 'stream deleted' });
  assert.equal(await b.closed, { code: CLOSE.deleted, reason: 'stream deleted' });
  assert.ok(Date.now() - started < 1000);
  const again = listen(s.location);
  assert.is((await again.closed).code, CLOSE.unknownStream);
});

streams('client disconnect noticed at once; heartbeat keeps live peers', async () => {
  const hb = await gatewayApp({}, { heartbeatMs: 100 });
  try {
    const s = await createStream(hb, '#');
    const alive = await joined(hb, s.location);
    const dead = await joined(hb, s.location, '', 1);
    // a peer that stops answering pings (autoPong off) is dropped by the heartbeat
    const mute = listen(s.location, { autoPong: false });
    await mute.opened;
    assert.is((await mute.closed).code, 1006);
    dead.ws.terminate();
    await waitFor(() => hb.gw.clients().get(s.id) === 1, 1000, 'dead peers gone');
    await sleep(350);
    assert.is(alive.ws.readyState, WebSocket.OPEN);
    assert.is(hb.gw.clients().get(s.id), 1);
    alive.ws.close();
    await waitFor(() => !hb.gw.clients().has(s.id), 1000, 'clean close noticed');
  } finally {
    await hb.close();
  }
});

streams('slow client: bounded buffer, closed with the too-slow code', async () => {
  const slow = await gatewayApp({ STREAM_CLIENT_BUFFER: '50' }, { closeGraceMs: 5000 });
  try {
    const s = await createStream(slow, '#');
    const fast = await joined(slow, s.location);
    const lazy = await joined(slow, s.location);
    lazy.ws.pause(); // stops reading: the kernel buffers fill, then ours
    const big = 'x'.repeat(64 * 1024);
    for (let n = 0; n < 40 && slow.gw.clients().get(s.id) === 2; n++) {
      await slow.eventLog.append(range(1, 10).map((k) => ({ streamId: 'bulk', type: 'bulk', data: { n, k, big } })));
      await sleep(5);
    }
    await waitFor(() => slow.gw.clients().get(s.id) === 1, 5000, 'slow client dropped');
    lazy.ws.resume();
    assert.equal(await lazy.closed, { code: CLOSE.tooSlow, reason: 'client too slow' });
    assert.is(fast.ws.readyState, WebSocket.OPEN);
    fast.ws.close();
  } finally {
    await slow.close();
  }
});

streams('restart keeps the stream records; shutdown closes clients with 1001', async () => {
  const schema = uniqueName();
  const first = await gatewayApp({ DATABASE_SCHEMA: schema });
  let second: Awaited<ReturnType<typeof gatewayApp>> | undefined;
  try {
    const s = await createStream(first, 'focus');
    const c = await joined(first, s.location);
    await first.stop();
    assert.equal(await c.closed, { code: CLOSE.shutdown, reason: 'server shutting down' });
    second = await gatewayApp({ DATABASE_SCHEMA: schema });
    const list = await api(second, 'GET', '/event-stream/');
    assert.equal(
      list.body.event_streams.map((x) => [x.id, x.routing_key]),
      [[s.id, 'focus']],
    );
    const again = await joined(second, `ws://127.0.0.1:${second.gw.streamPort}/event-stream/${s.id}`);
    const logged = await second.eventLog.append([{ streamId: 'customer-9', type: 'focus', data: { id: '9', ts: 1, dept: 'Men' } }]);
    await waitFor(() => again.messages.length === 1, 5000, 'event after restart');
    assert.is(again.messages[0].ess_ordinal, logged[0].position);
    again.ws.close();
  } finally {
    await first.stop();
    await second?.stop();
    await dropSchema(schema);
  }
});

apiSuite.run();
streams.run();
