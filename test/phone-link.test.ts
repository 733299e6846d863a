/**
 * A shopper's own phone link (adapters/dashboard/phone-link.ts): with CONTROL_TOKEN the operator mints
 * it (POST /dashboard/phone-link), and it opens that customer's phone without the operator's token,
 * until it expires. The server hands out that customer's stream and no other; a changed, expired or
 * other customer's link is refused with a clear message. In a real browser (Debian's Chromium,
 * playwright-core) and over the gateway's WebSocket, against an in-process storeflow on the real
 * broker and PostgreSQL.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { MqttClient } from 'mqtt';
import { startTestApp, connectClient, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { signPhoneLink, PHONE_LINK_DEFAULT_S } from '../adapters/dashboard/phone-link.ts';
import { browser, browserTest, newPage, closeBrowser, WEB_DIR } from './browser.ts';

const TOKEN = 'phone-link-token-0123456789';
const PHONE = { width: 390, height: 844 };
let clock = Math.floor(Date.now() / 1000); // coupons of the small store are valid 2020–2030

async function linkApp(env: Record<string, string> = { CONTROL_TOKEN: TOKEN }): Promise<TestApp> {
  const app = await startTestApp({ ROLES: 'recommender,detector,gateway', PREDICTION_THRESHOLD: '0', ...env }, { webDir: WEB_DIR });
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

const send = (client: MqttClient, topic: string, body: object) => client.publishAsync(topic, JSON.stringify({ ...body, ts: ++clock }), { qos: 1 });
const visit = async (client: MqttClient, app: TestApp, id: string) => {
  await send(client, app.config.topics.enter, { id });
  await send(client, app.config.topics.focus, { id, dep: 'Men' });
};

type Message = { ess_ordinal: number; message_type: string; message_body: { id?: string; customer_id?: string } };

/** The stream a config hands out, from ordinal 1, until `enough` says so (or 3 s): its messages. */
function read(cfg: { stream: { port: number; path: string; ticket?: string } }, enough: (m: Message[]) => boolean): Promise<Message[]> {
  return new Promise((ok, fail) => {
    const url = `ws://127.0.0.1:${cfg.stream.port}${cfg.stream.path}?stream_from_ordinal=1${cfg.stream.ticket ? `&ticket=${encodeURIComponent(cfg.stream.ticket)}` : ''}`;
    const ws = new WebSocket(url);
    const got: Message[] = [];
    const done = () => {
      clearTimeout(timer);
      ws.terminate();
      ok(got);
    };
    const timer = setTimeout(done, 3000);
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      fail(new Error(`stream refused: ${res.statusCode}`));
    });
    ws.on('message', (d) => {
      got.push(JSON.parse(d.toString()));
      if (enough(got)) done();
    });
  });
}

test('the operator mints a link; it opens that customer’s config and coupons only, until it expires; a changed, expired or other customer’s link is refused, and says why', async () => {
  const app = await linkApp();
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = async (url: string, headers = {}) => {
    const r = await app.http.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, body: r.json() };
  };
  try {
    const mint = (body: object, headers: Record<string, string> = auth) =>
      app.http.inject({ method: 'POST', url: '/dashboard/phone-link', payload: body, headers });
    assert.is((await mint({ customer_id: '7' }, {})).statusCode, 401, 'only the operator mints links');
    assert.is((await mint({ customer_id: 'a.b' })).statusCode, 400);
    assert.is((await mint({ customer_id: '7', valid_for_s: 10 })).statusCode, 400, 'at least a minute');
    const before = Math.floor(Date.now() / 1000);
    const minted = await mint({ customer_id: 7 }, { ...auth, host: 'shop.test:8000' });
    assert.is(minted.statusCode, 201);
    const link = minted.json();
    const until = Number(new URL(link.url).searchParams.get('until'));
    assert.ok(until >= before + PHONE_LINK_DEFAULT_S && until <= before + PHONE_LINK_DEFAULT_S + 2, 'valid for the default time');
    const sig = signPhoneLink(TOKEN, '7', PHONE_LINK_DEFAULT_S, (until - PHONE_LINK_DEFAULT_S) * 1000).sig;
    assert.equal(link, {
      customer_id: '7',
      path: `/phone/7?until=${until}&sig=${sig}`,
      url: `http://shop.test:8000/phone/7?until=${until}&sig=${sig}`,
      signed: true,
      expires_at: new Date(until * 1000).toISOString(),
    });
    assert.match(link.path, /^\/phone\/7\?until=\d+&sig=[A-Za-z0-9_-]{43}$/);
    assert.not.match(link.url, new RegExp(TOKEN), 'the link never holds the token');
    const query = link.path.slice(link.path.indexOf('?'));

    // the link opens customer 7's phone: their stream, with a ticket
    const page = await app.http.inject({ method: 'GET', url: link.path });
    assert.is(page.statusCode, 200);
    const cfg = await get(`/phone/7/config${query}`);
    assert.is(cfg.status, 200);
    assert.is(cfg.body.stream.routing_key, 'customer.7');
    assert.ok(cfg.body.stream.ticket);
    assert.is(cfg.body.today, undefined, "the manager's counters are not the shopper's");
    assert.is((await get(`/phone/7/coupons/2${query}`)).status, 200);

    // refused, with a clear message: no link, a changed one, another customer's, an expired one
    const changed = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    const expired = signPhoneLink(TOKEN, '7', 60, Date.now() - 3_600_000);
    const otherToken = signPhoneLink('another-token-0123456789', '7', 3600);
    const refusals = [
      await get('/phone/7/config'),
      await get(`/phone/7/config?until=${until}&sig=${changed}`),
      await get(`/phone/7/config?until=${until + 1}&sig=${sig}`),
      await get(`/phone/8/config${query}`),
      await get(`/phone/8/coupons/2${query}`),
      await get(`/phone/7/config?until=${expired.until}&sig=${expired.sig}`),
      await get(`/phone/7/config?until=${otherToken.until}&sig=${otherToken.sig}`),
      await get('/phone/7/config?until=soon&sig=x'),
      await get('/dashboard/config?customer=7'),
    ];
    assert.equal(
      refusals.map((r) => [r.status, r.body.message]),
      [
        [401, 'this phone page needs its signed link (ask the store staff for your link), or the control token'],
        [403, "this phone link is not valid for customer 7 (it was changed, or is another customer's): ask the store staff for your link"],
        [403, "this phone link is not valid for customer 7 (it was changed, or is another customer's): ask the store staff for your link"],
        [403, "this phone link is not valid for customer 8 (it was changed, or is another customer's): ask the store staff for your link"],
        [403, "this phone link is not valid for customer 8 (it was changed, or is another customer's): ask the store staff for your link"],
        [403, `this phone link expired at ${new Date(expired.until * 1000).toISOString()}: ask the store staff for a new link`],
        [403, "this phone link is not valid for customer 7 (it was changed, or is another customer's): ask the store staff for your link"],
        [403, 'this phone link is not valid (it was cut or changed): ask the store staff for a new link'],
        [401, 'CONTROL_TOKEN is set: send Authorization: Bearer <token>, or log in with POST /auth {"token"} (the dashboard shows a form)'],
      ],
    );
    // the operator opens any phone without a link
    assert.is((await get('/phone/8/config', auth)).body.stream.routing_key, 'customer.8');
  } finally {
    await app.close();
  }
});

test("a valid link's stream carries that customer's events only; its ticket opens no other stream", async () => {
  const app = await linkApp();
  const client = await connectClient();
  try {
    await visit(client, app, '1');
    await visit(client, app, '2');
    await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 2, 10_000, 'both coupons logged');
    const link = signPhoneLink(TOKEN, '2', 600);
    const cfg = (await app.http.inject({ method: 'GET', url: `/phone/2/config?until=${link.until}&sig=${link.sig}` })).json();
    const got = await read(cfg, (m) => m.some((x) => x.message_type === 'prediction'));
    const expected = (await app.eventLog.read({ streamId: 'customer-2' })).filter((e) => e.position <= (got.at(-1)?.ess_ordinal ?? 0));
    assert.equal(
      got.map((m) => [m.ess_ordinal, m.message_type, m.message_body.id ?? m.message_body.customer_id]),
      expected.map((e) => [e.position, e.type, '2']),
    );
    assert.ok(
      got.some((m) => m.message_type === 'prediction'),
      "customer 2's coupon",
    );
    // the ticket is for that stream: the manager's stream refuses it
    const auth = { authorization: `Bearer ${TOKEN}` };
    const store = (await app.http.inject({ method: 'GET', url: '/dashboard/config', headers: auth })).json();
    const refused = await read({ stream: { ...store.stream, ticket: cfg.stream.ticket } }, () => true).then(
      () => 'opened',
      (err: Error) => err.message,
    );
    assert.is(refused, 'stream refused: 401');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('without a token the phone needs no link, and a minted link is the plain address', async () => {
  const app = await linkApp({});
  try {
    const r = await app.http.inject({ method: 'POST', url: '/dashboard/phone-link', payload: { customer_id: '7' } });
    assert.is(r.statusCode, 201);
    assert.equal({ ...r.json(), url: undefined }, { customer_id: '7', path: '/phone/7', url: undefined, signed: false, expires_at: null });
    assert.is((await app.http.inject({ method: 'GET', url: '/phone/7/config' })).json().stream.routing_key, 'customer.7');
  } finally {
    await app.close();
  }
});

browserTest("a shopper's signed link opens their phone without the token and shows their coupon only; an expired link says so", async () => {
  const app = await linkApp();
  const client = await connectClient();
  const page = await newPage(PHONE);
  try {
    const link = (
      await app.http.inject({ method: 'POST', url: '/dashboard/phone-link', payload: { customer_id: '3' }, headers: { authorization: `Bearer ${TOKEN}` } })
    ).json();
    await page.goto(`${app.url}${link.path}`);
    await page.waitForFunction(() => (window as unknown as { storeflowPhone: { status: string } }).storeflowPhone.status === 'live', null, { timeout: 10_000 });
    assert.ok(await page.$('#login[hidden]'), 'no token form');
    assert.ok(await page.$('#refused[hidden]'));
    await visit(client, app, '4');
    await visit(client, app, '3');
    const mine = await waitFor(async () => (await app.eventLog.read({ streamId: 'customer-3', types: ['prediction'] }))[0], 10_000, "customer 3's coupon");
    await page.waitForSelector('#offers li.offer[data-products="loaded"]', { timeout: 5000 });
    assert.equal(await page.$$eval('#offers li.offer', (lis) => lis.map((li) => Number((li as HTMLElement).dataset.coupon))), [
      (mine.data as { coupon: { id: number } }).coupon.id,
    ]);
    assert.equal(page.problems, []);

    const expired = signPhoneLink(TOKEN, '3', 60, Date.now() - 3_600_000);
    await page.goto(`${app.url}${expired.path}`);
    await page.waitForSelector('#refused:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => [document.getElementById('refused-text')?.textContent, document.getElementById('connection')?.textContent]), [
      `This phone link expired at ${new Date(expired.until * 1000).toISOString()}: ask the store staff for a new link.`,
      'link refused',
    ]);
    assert.ok(await page.$('#login[hidden]'), 'the token form only for staff, on request');
  } finally {
    await browser?.clearCookies();
    await page.close().catch(() => {});
    await client.endAsync();
    await app.close();
  }
});

test.after(async () => {
  await closeBrowser();
});

test.run();
