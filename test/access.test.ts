/**
 * Access to the control plane (issue 14, item 2). With CONTROL_TOKEN set, every endpoint but the open
 * ones (liveness, readiness, metrics, docs, the page's files, /auth) answers 401 without
 * `Authorization: Bearer <token>` or the cookie POST /auth sets, and 2xx with it: the list is taken
 * from the OpenAPI document, so a new endpoint cannot slip through unclassified. The dashboard's
 * stream carries customer events only and needs the token too (a ticket from /dashboard/config).
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { fileURLToPath } from 'node:url';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import { StreamRecords, type GatewayHandle } from '../adapters/gateway/index.ts';
import { parseConfig } from '../schemas/env.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { secretValues } from '../adapters/process/app.ts';

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));
const ROLES = 'recommender,detector,simulator,pump,gateway';
const TOKEN = 'control-token-for-tests-0123456789';
const ESS_TOKEN = 'ess-api-token-for-tests-0123456789';
const TS = Math.floor(Date.now() / 1000);

interface Call {
  status: number;
  /** JSON read as the fields these tests look at (a refusal's error, the page's stream, the API document), or the text */
  body: { error?: string; stream: { id: string; path: string; ticket: string }; paths: Record<string, Record<string, { description?: string }>> };
  headers: Headers;
}
async function call(app: TestApp, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Call> {
  const res = await fetch(`${app.url}${url}`, {
    method,
    redirect: 'manual',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: json as Call['body'], headers: res.headers };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** How each documented operation is called so that it succeeds (in this order: some need what an earlier one did). */
const CALLS: [op: string, url: string, body?: unknown][] = [
  ['POST /mock_entry', '/mock_entry', { id: 'a1', ts: TS }],
  ['POST /recommender/mock_entry', '/recommender/mock_entry', { id: 'a2', ts: TS }],
  ['POST /mock_focus', '/mock_focus', { id: 'a1', ts: TS + 1, dep: 'Men' }],
  ['POST /recommender/mock_focus', '/recommender/mock_focus', { id: 'a2', ts: TS + 1, dep: 'Men' }],
  ['GET /sessions', '/sessions'],
  ['GET /recommender/sessions', '/recommender/sessions'],
  ['GET /sessions/{id}', '/sessions/a1'],
  ['GET /recommender/sessions/{id}', '/recommender/sessions/a2'],
  ['POST /reload', '/reload'],
  ['POST /recommender/reload', '/recommender/reload'],
  [
    'POST /score',
    '/score',
    {
      customer: {
        customer_id: 3,
        gender: 'F',
        age: 22,
        mean_buy_price: 25,
        total_coupons_used: 150,
        mean_discount_received: 20.5,
        unique_products_bought: 500,
        unique_products_bought_with_coupons: 140,
        total_items_bought: 900,
      },
      coupons: [
        {
          coupon_id: 1,
          coupon_type: 'just_discount',
          department: 'Men',
          discount: 20,
          how_many_products_required: 1,
          product_mean_price: 12.5,
          products_available: 1,
        },
      ],
    },
  ],
  [
    'POST /recommender/score',
    '/recommender/score',
    {
      customer: {
        customer_id: 3,
        gender: 'F',
        age: 22,
        mean_buy_price: 25,
        total_coupons_used: 150,
        mean_discount_received: 20.5,
        unique_products_bought: 500,
        unique_products_bought_with_coupons: 140,
        total_items_bought: 900,
      },
      coupons: [],
    },
  ],
  ['GET /detector/shoppers', '/detector/shoppers'],
  ['GET /detector/shoppers/{id}', '/detector/shoppers/m1'],
  ['GET /simulator/state', '/simulator/state'],
  ['POST /simulator/start', '/simulator/start'],
  ['POST /simulator/stop', '/simulator/stop'],
  ['GET /simulator/settings', '/simulator/settings'],
  ['POST /simulator/settings', '/simulator/settings', { speed: 2 }],
  ['POST /produce_entry', '/produce_entry', { id: 'p1', ts: TS }],
  ['POST /simulator/produce_entry', '/simulator/produce_entry', { id: 'p2', ts: TS }],
  ['POST /produce_move', '/produce_move', { id: 'p1', ts: TS + 1, x: 100, y: 100 }],
  ['POST /simulator/produce_move', '/simulator/produce_move', { id: 'p2', ts: TS + 1, x: 100, y: 100 }],
  ['POST /produce_exit', '/produce_exit', { id: 'p1', ts: TS + 2 }],
  ['POST /simulator/produce_exit', '/simulator/produce_exit', { id: 'p2', ts: TS + 2 }],
  ['POST /scenario', '/scenario', { customer: { customer_id: 's1' }, path: [{ type: 'ENTER', location: { x: 937, y: 50 }, timestamp: TS }] }],
  [
    'POST /simulator/scenario',
    '/simulator/scenario',
    { customer: { customer_id: 's2' }, path: [{ type: 'ENTER', location: { x: 937, y: 50 }, timestamp: TS }] },
  ],
  ['POST /scenario_draft', '/scenario_draft', { customer: { customer_id: 's3' }, path: [{ type: 'move', location: { x: 100, y: 100 } }] }],
  ['POST /simulator/scenario_draft', '/simulator/scenario_draft', { customer: { customer_id: 's4' }, path: [{ type: 'move', location: { x: 100, y: 100 } }] }],
  ['POST /pump/settings', '/pump/settings', { rate: 5 }],
  ['POST /pump/start', '/pump/start'],
  ['POST /pump/stop', '/pump/stop'],
  ['GET /pump/state', '/pump/state'],
  ['POST /start', '/start'],
  ['POST /stop', '/stop'],
  ['GET /state', '/state'],
  ['GET /dashboard/config', '/dashboard/config'],
  ['GET /gateway/dashboard/config', '/gateway/dashboard/config'],
  ['POST /dashboard/helped', '/dashboard/helped', { customer_id: 'b1' }],
  ['POST /gateway/dashboard/helped', '/gateway/dashboard/helped', { customer_id: 'b1' }],
  ['POST /dashboard/phone-link', '/dashboard/phone-link', { customer_id: 'b1' }],
  ['POST /gateway/dashboard/phone-link', '/gateway/dashboard/phone-link', { customer_id: 'b1' }],
  ['GET /dashboard/coupons/{id}', '/dashboard/coupons/1'],
  ['GET /gateway/dashboard/coupons/{id}', '/gateway/dashboard/coupons/1'],
];

/** Open with or without CONTROL_TOKEN: documented ones, then the page's files and the docs. */
const OPEN_DOCUMENTED = ['GET /healthcheck', 'GET /health', 'GET /readyz', 'GET /metrics', 'GET /pump/healthcheck', 'POST /auth', 'DELETE /auth'];
const OPEN_UNDOCUMENTED = [
  '/',
  '/index.html',
  '/dashboard.js',
  '/dashboard.css',
  '/store-state.js',
  '/metrics-text.js',
  '/favicon.ico',
  '/phone/42',
  '/phone.js',
  '/events.html',
  '/events.js',
  '/docs',
  '/docs/json',
];

async function operations(app: TestApp): Promise<string[]> {
  const doc = (await call(app, 'GET', '/docs/json')).body;
  // a root alias is not listed again: its operation's description names it ("Also at `POST /mock_focus`")
  return Object.entries<Record<string, { description?: string }>>(doc.paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([m, op]) => [
        `${m.toUpperCase()} ${path}`,
        ...[...(/Also at (.*) \(an alias/.exec(op.description ?? '')?.[1] ?? '').matchAll(/`(\w+) (\/[^`]*)`/g)].map(
          (a) => `${a[1]} ${a[2].replace(/:(\w+)/g, '{$1}')}`,
        ),
      ]),
    )
    .sort();
}

let app: TestApp;

test.before(async () => {
  app = await startTestApp({ ROLES, CONTROL_TOKEN: TOKEN, CUSTOMERS_AVERAGE_IN_STORE: '0', PREDICTION_THRESHOLD: '0' }, { webDir: WEB_DIR });
});
test.after(async () => {
  await app?.close();
});

test('with CONTROL_TOKEN, every documented operation but the open ones answers 401 without the token and 2xx with it', async () => {
  assert.equal(await operations(app), [...CALLS.map(([op]) => op), ...OPEN_DOCUMENTED].sort(), 'every documented operation is classified here');
  // what some calls need: a tracked shopper (m1), a browsing alert (b1), a coupon (1)
  await seedSmallStore(app.database.db);
  await app.pipeline.ingest('move', { id: 'm1', ts: TS, x: 300, y: 300 }, { source: 'http' });
  await waitFor(async () => (await call(app, 'GET', '/detector/shoppers/m1', undefined, bearer(TOKEN))).status === 200, 5000, 'the detector tracks m1');
  await app.pipeline.ingest('browsing', { id: 'b1', ts: TS, x: 300, y: 300 }, { source: 'http' });

  const without: string[] = [],
    withToken: string[] = [];
  for (const [op, url, body] of CALLS) {
    const method = op.split(' ')[0];
    const refused = await call(app, method, url, body);
    without.push(`${op} ${refused.status} ${refused.body?.error} ${refused.headers.get('www-authenticate')}`);
    const r = await call(app, method, url, body, bearer(TOKEN));
    withToken.push(`${op} ${r.status >= 200 && r.status < 300 ? '2xx' : `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`}`);
  }
  assert.equal(
    without,
    CALLS.map(([op]) => `${op} 401 unauthorized Bearer`),
  );
  assert.equal(
    withToken,
    CALLS.map(([op]) => `${op} 2xx`),
  );

  const open: string[] = [];
  for (const op of OPEN_DOCUMENTED.filter((o) => o.startsWith('GET'))) open.push(`${op} ${(await call(app, 'GET', op.slice(4))).status}`);
  for (const url of OPEN_UNDOCUMENTED) {
    const s = (await call(app, 'GET', url)).status;
    open.push(`GET ${url} ${s >= 200 && s < 400 ? 'open' : s}`);
  }
  assert.equal(open, [
    'GET /healthcheck 200',
    'GET /health 200',
    'GET /readyz 200',
    'GET /metrics 200',
    'GET /pump/healthcheck 200',
    ...OPEN_UNDOCUMENTED.map((u) => `GET ${u} open`),
  ]);
  // an unknown path says nothing about what exists
  assert.is((await call(app, 'GET', '/nope')).status, 401);
  assert.is((await call(app, 'GET', '/nope', undefined, bearer(TOKEN))).status, 404);
});

test('a wrong, truncated or differently cased token is refused; the scheme is case-insensitive', async () => {
  const statuses = [];
  for (const h of [
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer ${TOKEN.toUpperCase()}`,
    `Basic ${TOKEN}`,
    TOKEN,
    'Bearer ',
    `bearer ${TOKEN}`,
    `BEARER  ${TOKEN}`,
  ])
    statuses.push((await call(app, 'POST', '/reload', undefined, { authorization: h })).status);
  assert.equal(statuses, [401, 401, 401, 401, 401, 401, 200, 200]);
});

test('a browser logs in once: POST /auth sets an HttpOnly, SameSite=Strict cookie the same check accepts; DELETE /auth forgets it', async () => {
  const wrong = await call(app, 'POST', '/auth', { token: 'nope' });
  assert.equal([wrong.status, wrong.body.error, wrong.headers.get('set-cookie')], [401, 'unauthorized', null]);
  assert.is((await call(app, 'POST', '/auth', {})).status, 400);
  const ok = await call(app, 'POST', '/auth', { token: TOKEN });
  assert.is(ok.status, 204);
  const cookie = must(ok.headers.get('set-cookie'), 'ok.headers.get("set-cookie")');
  assert.match(cookie, /^storeflow_control=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
  assert.not.ok(cookie.includes(TOKEN), 'the cookie is not the token');
  const value = cookie.split(';')[0];
  assert.is((await call(app, 'GET', '/sessions', undefined, { cookie: value })).status, 200);
  assert.is((await call(app, 'POST', '/reload', undefined, { cookie: `other=1; ${value}` })).status, 200);
  assert.is((await call(app, 'POST', '/reload', undefined, { cookie: `${value.slice(0, -2)}xx` })).status, 401);
  assert.is((await call(app, 'POST', '/reload', undefined, { cookie: 'storeflow_control=' })).status, 401);
  const out = await call(app, 'DELETE', '/auth');
  assert.is(out.status, 204);
  assert.match(must(out.headers.get('set-cookie'), 'out.headers.get("set-cookie")'), /^storeflow_control=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
});

/** One event on the stream, as far as these tests read it. */
interface StreamMessage {
  message_type: string;
  message_body: { id: string };
}

/** Opens a WebSocket; resolves with the HTTP status of a refused upgrade, or the messages until `until` says enough. */
function stream(
  url: string,
  headers: Record<string, string> = {},
  until: (msgs: StreamMessage[]) => boolean = () => true,
): Promise<{ status: number; messages: StreamMessage[] }> {
  return new Promise((ok) => {
    const ws = new WebSocket(url, { headers });
    const messages: StreamMessage[] = [];
    const done = () => {
      ws.terminate();
      ok({ status: 101, messages });
    };
    ws.on('unexpected-response', (_req, res) => {
      ok({ status: res.statusCode ?? 0, messages });
      ws.terminate();
    });
    ws.on('error', () => {});
    ws.on('open', () => {
      if (until(messages)) setTimeout(done, 300);
    });
    ws.on('message', (d) => {
      messages.push(JSON.parse(d.toString()));
      if (until(messages)) done();
    });
  });
}

test("the dashboard's stream: customer events only, and only with the token (a short-lived ticket from /dashboard/config, or the cookie)", async () => {
  const gw = app.roles.get('gateway') as GatewayHandle;
  const head = await app.eventLog.head();
  await app.eventLog.append([
    { streamId: 'process', type: 'tick', data: { n: 1 } },
    { streamId: 'rejected', type: 'rejected', data: { reason: 'test', payload: 'secret stuff' } },
    { streamId: 'customer-z9', type: 'entry', data: { id: 'z9', ts: TS } },
  ]);
  assert.is((await call(app, 'GET', '/dashboard/config')).status, 401);
  const cfg = (await call(app, 'GET', '/dashboard/config', undefined, bearer(TOKEN))).body;
  assert.equal(Object.keys(cfg.stream).sort(), ['id', 'location', 'path', 'port', 'routing_key', 'ticket']);
  assert.match(cfg.stream.ticket, /^\d+\.[A-Za-z0-9_-]{43}$/);
  assert.is((await new StreamRecords(app.database.db).get(cfg.stream.id))?.routing_key, 'customer.#', "the page folds customers' events: no more");

  const base = `ws://127.0.0.1:${gw.streamPort}${cfg.stream.path}?stream_from_ordinal=${head + 1}`;
  const withTicket = await stream(`${base}&ticket=${cfg.stream.ticket}`, {}, (m) => m.some((x) => x.message_type === 'entry'));
  assert.is(withTicket.status, 101);
  assert.equal(
    withTicket.messages.map((m) => [m.message_type, m.message_body.id]),
    [['entry', 'z9']],
  );

  assert.is((await stream(base)).status, 401);
  const [expires, mac] = cfg.stream.ticket.split('.');
  assert.is((await stream(`${base}&ticket=${Number(expires) + 1000}.${mac}`)).status, 401, 'a ticket with another expiry');
  assert.is((await stream(`${base}&ticket=${Date.now() - 1}.${mac}`)).status, 401, 'an expired ticket');
  const cookie = must((await call(app, 'POST', '/auth', { token: TOKEN })).headers.get('set-cookie'), 'the set-cookie header').split(';')[0];
  assert.is((await stream(base, { cookie })).status, 101);
  assert.is((await stream(base, bearer(TOKEN))).status, 101);

  // a stream made through the internal API is reached by its id alone, as seed 004 has it
  const made = await (
    await fetch(`http://127.0.0.1:${gw.apiPort}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: 'entry' }),
    })
  ).json();
  assert.is((await stream(made.location.replace('localhost', '127.0.0.1'))).status, 101);
});

test('without CONTROL_TOKEN the control plane is open as before (a laptop bound to 127.0.0.1)', async () => {
  const open = await startTestApp({ ROLES: 'recommender,pump,gateway' });
  try {
    assert.is((await call(open, 'POST', '/reload')).status, 200);
    assert.is((await call(open, 'GET', '/sessions')).status, 200);
    assert.is((await call(open, 'POST', '/pump/stop')).status, 200);
    const cfg = await call(open, 'GET', '/dashboard/config');
    assert.is(cfg.status, 200);
    assert.is(cfg.body.stream.ticket, undefined);
    const gw = open.roles.get('gateway') as GatewayHandle;
    assert.is((await stream(`ws://127.0.0.1:${gw.streamPort}${cfg.body.stream.path}`)).status, 101);
    assert.is((await call(open, 'POST', '/auth', { token: 'anything' })).status, 204);
  } finally {
    await open.close();
  }
});

test('ESS_API_TOKEN alone: what reveals the log (dashboard config and stream, sessions, shoppers) needs it; the rest stays as before', async () => {
  const ess = await startTestApp({ ROLES: 'recommender,detector,gateway', ESS_API_TOKEN: ESS_TOKEN });
  try {
    const refused: string[] = [];
    for (const url of [
      '/dashboard/config',
      '/dashboard/config?customer=1',
      '/dashboard/config?scope=log',
      '/gateway/dashboard/config',
      '/sessions',
      '/recommender/sessions',
      '/sessions/x',
      '/detector/shoppers',
      '/detector/shoppers/x',
      '/phone/1/config',
    ])
      refused.push(`${url} ${(await call(ess, 'GET', url)).status}`);
    refused.push(`POST /dashboard/phone-link ${(await call(ess, 'POST', '/dashboard/phone-link', { customer_id: '1' })).status}`);
    assert.equal(refused, [
      '/dashboard/config 401',
      '/dashboard/config?customer=1 401',
      '/dashboard/config?scope=log 401',
      '/gateway/dashboard/config 401',
      '/sessions 401',
      '/recommender/sessions 401',
      '/sessions/x 401',
      '/detector/shoppers 401',
      '/detector/shoppers/x 401',
      '/phone/1/config 401',
      'POST /dashboard/phone-link 401',
    ]);
    assert.is((await call(ess, 'POST', '/reload')).status, 200);
    assert.is((await call(ess, 'GET', '/sessions', undefined, bearer(ESS_TOKEN))).status, 200);
    const cfg = await call(ess, 'GET', '/dashboard/config', undefined, bearer(ESS_TOKEN));
    assert.is(cfg.status, 200);
    const gw = ess.roles.get('gateway') as GatewayHandle;
    const base = `ws://127.0.0.1:${gw.streamPort}${cfg.body.stream.path}`;
    assert.is((await stream(base)).status, 401);
    assert.is((await stream(`${base}?ticket=${cfg.body.stream.ticket}`)).status, 101);
  } finally {
    await ess.close();
  }
});

test('CONTROL_TOKEN never reaches a log line', () => {
  const lines: string[] = [];
  const log = createLogger({
    level: 'info',
    json: true,
    stdout: false,
    secrets: secretValues({ CONTROL_TOKEN: TOKEN }),
    stream: {
      write: (l: string) => {
        lines.push(l);
      },
    },
  });
  log.info({ headers: { authorization: `Bearer ${TOKEN}` }, body: { token: TOKEN } }, `token ${TOKEN}`);
  assert.is(lines.length, 1);
  assert.not.ok(lines[0].includes(TOKEN), lines[0]);
});

test('a CONTROL_TOKEN under 16 characters is a configuration error that does not repeat it', () => {
  assert.equal(parseConfig({ CONTROL_TOKEN: 'short-secret' }), { ok: false, problems: ['CONTROL_TOKEN: expected at least 16 characters'] });
});

test.run();
