/**
 * A shopper's phone (/phone/:customerId) in a real browser: Debian's Chromium driven by
 * playwright-core, against an in-process storeflow (recommender, detector, gateway) on the real
 * broker and PostgreSQL. The shopper's entry and focus go over the broker like any MQTT producer's,
 * and the coupon must be on the phone within a second of its publication. Screenshot:
 * test/artifacts/phone.png (UPDATE_SCREENSHOT=1 copies it to docs/).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { startTestApp, connectClient, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { browser, browserTest, newPage, closeBrowser, WEB_DIR, ARTIFACTS, DOCS } from './browser.ts';
import { STORE_PLAN } from '../actors/data/store-plan.ts';
// @ts-expect-error plain browser JavaScript, no type declarations
import { createPhone, applyPhone } from '../web/phone-state.js';
// @ts-expect-error plain browser JavaScript, no type declarations
import { discountText, offerTerms, validity, productLines, noOfferLine } from '../web/coupon-words.js';
import { must } from '../actors/kernel/must.ts';
import type { PredictionFlatT } from '../schemas/messages.ts';

/** Wide enough for the page to draw the phone's frame (a phone itself gets the page full screen). */
const PHONE = { width: 540, height: 940 };
let clock = Math.floor(Date.now() / 1000); // coupons of the small store are valid 2020–2030
const next = () => ++clock;

async function phoneApp(env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ ROLES: 'recommender,detector,gateway', PREDICTION_THRESHOLD: '0', ...env }, { webDir: WEB_DIR });
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

/** Every prediction published on the broker, with the time it arrived here. */
async function listen(app: TestApp, client: MqttClient) {
  const got: { at: number; body: PredictionFlatT }[] = [];
  client.on('message', (topic, payload) => {
    if (topic === app.config.topics.prediction) got.push({ at: Date.now(), body: JSON.parse(payload.toString()) });
  });
  await client.subscribeAsync(app.config.topics.prediction, { qos: 1 });
  return got;
}

const send = (client: MqttClient, topic: string, body: object) => client.publishAsync(topic, JSON.stringify({ ...body, ts: next() }), { qos: 1 });
const enter = (client: MqttClient, app: TestApp, id: string) => send(client, app.config.topics.enter, { id });
const focus = (client: MqttClient, app: TestApp, id: string, dep: string) => send(client, app.config.topics.focus, { id, dep });
const exit = (client: MqttClient, app: TestApp, id: string) => send(client, app.config.topics.exit, { id });

async function openPhone(app: TestApp, id: string): Promise<Page & { problems: string[] }> {
  const page = await newPage(PHONE);
  await page.goto(`${app.url}/phone/${id}`);
  await page.waitForFunction(() => window.storeflowPhone?.status === 'live', null, { timeout: 15_000 });
  return page;
}

/** The phone's screen, read at one instant: the visit line and every card, field by field. */
const screen = (page: Page) =>
  page.evaluate(() => ({
    greeting: document.querySelector('#greeting')?.textContent,
    visit: document.querySelector('#visit')?.textContent,
    count: document.querySelector('#offer-count')?.textContent,
    empty: document.querySelector('#offers li.empty')?.textContent ?? null,
    offers: [...document.querySelectorAll<HTMLElement>('#offers li.offer')].map((li) => ({
      coupon: Number(li.dataset.coupon),
      discount: li.querySelector('.discount')?.textContent,
      terms: li.querySelector('.terms')?.textContent,
      department: li.querySelector('.department')?.textContent,
      products: [...li.querySelectorAll('.products li')].map((p) => p.textContent),
      validity: li.querySelector('.validity')?.textContent,
      when: li.querySelector('.when')?.textContent?.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS'),
    })),
  }));

/** What a card must say about a published prediction (flat, seed 002: the coupon with its products). */
function expectedCard(p: PredictionFlatT) {
  const c = p.coupon;
  const terms: Record<string, string> = {
    just_discount: 'on 1 product',
    buy_more: `when you buy ${c.how_many}`,
    buy_all: `when you buy all ${c.how_many} together`,
    department: `on the whole ${c.department} department`,
  };
  const coupon = must(
    SMALL_STORE.coupons.find((k) => k[0] === c.id),
    `coupon ${c.id} of the small store`,
  );
  assert.equal([c.start_date, c.end_date], ['2020-01-01', '2030-12-31'], 'a coupon of the small store valid now');
  return {
    coupon: c.id,
    discount: `−${coupon[3]} %`,
    terms: terms[c.type],
    department: 'Men',
    products: c.products.map((x) => x.name),
    validity: 'valid 1 Jan 2020 – 31 Dec 2030',
    when: `offered at HH:MM:SS · coupon #${c.id}`,
  };
}

const EMPTY = 'No offers yet. Look around: an offer appears here the moment it is made for you.';

browserTest(
  "a customer's phone waits, shows the coupon published for them within a second, keeps the visit's coupons across a reload, and says goodbye",
  async () => {
    const app = await phoneApp();
    const client = await connectClient();
    let page: (Page & { problems: string[] }) | undefined;
    try {
      const published = await listen(app, client);
      page = await openPhone(app, '1');
      assert.equal(await screen(page), {
        greeting: 'Hello, customer 1',
        visit: 'Not in the store yet: your offers appear here while you shop.',
        count: '0',
        empty: EMPTY,
        offers: [],
      });

      // another shopper's coupon never reaches this phone
      await enter(client, app, '2');
      await focus(client, app, '2', 'Men');
      await waitFor(() => published.some((p) => p.body.customer.id === '2'), 10_000, "customer 2's coupon");

      await enter(client, app, '1');
      await page.waitForFunction(() => document.querySelector('#visit')?.textContent === 'In the store', null, { timeout: 10_000 });
      await focus(client, app, '1', 'Men');
      const first = await waitFor(() => published.find((p) => p.body.customer.id === '1'), 10_000, "customer 1's coupon");
      await page.waitForSelector('#offers li.offer[data-products="loaded"]', { timeout: 5000 });
      const shownAt = await page.evaluate(() => Object.values(window.storeflowPhone?.shown ?? {})[0]);
      assert.ok(shownAt - first.at < 1000, `on the phone ${shownAt - first.at} ms after its publication`);
      assert.equal(await screen(page), {
        greeting: 'Hello, customer 1',
        visit: 'In the store · Men',
        count: '1',
        empty: null,
        offers: [expectedCard(first.body)],
      });

      // a reload during the visit replays it from the entry: the same card, then live again
      await page.reload();
      await page.waitForFunction(() => window.storeflowPhone?.status === 'live', null, { timeout: 10_000 });
      await page.waitForSelector('#offers li.offer[data-products="loaded"]', { timeout: 5000 });
      assert.equal((await screen(page)).offers, [expectedCard(first.body)]);

      // a second focus, a second coupon (never the same one twice in a visit), newest first
      await focus(client, app, '1', 'Men');
      const second = await waitFor(() => published.filter((p) => p.body.customer.id === '1')[1], 10_000, "customer 1's second coupon");
      await page.waitForFunction(() => document.querySelectorAll('#offers li.offer[data-products="loaded"]').length === 2, null, { timeout: 5000 });
      const shown = await screen(page);
      assert.equal(shown.offers, [expectedCard(second.body), expectedCard(first.body)]);
      assert.is(shown.count, '2');
      assert.not.equal(second.body.coupon.id, first.body.coupon.id);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'phone.png');
      await page.screenshot({ path: shot, animations: 'disabled' });
      if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(DOCS, 'phone.png'));

      await exit(client, app, '1');
      await page.waitForFunction(() => /^You left at \d\d:\d\d\. Thank you for visiting!$/.test(document.querySelector('#visit')?.textContent ?? ''), null, {
        timeout: 10_000,
      });
      assert.is((await screen(page)).offers.length, 2, "the visit's coupons stay on the phone");
      assert.equal(page.problems, []);
    } finally {
      await page?.close().catch(() => {});
      await client.endAsync();
      await app.close();
    }
  },
);

browserTest(
  "with CONTROL_TOKEN and no signed link the phone asks for the shopper's link, staff log in with the token once, then it shows the coupons",
  async () => {
    const TOKEN = 'phone-control-token-0123456789';
    const app = await phoneApp({ CONTROL_TOKEN: TOKEN });
    const client = await connectClient();
    const page = await newPage(PHONE);
    try {
      const published = await listen(app, client);
      await page.goto(`${app.url}/phone/3`);
      await page.waitForSelector('#refused:not([hidden])', { timeout: 10_000 });
      assert.is(await page.textContent('#connection'), 'link needed');
      assert.is(await page.textContent('#refused-text'), 'This page opens with your own phone link: ask the store staff for it.');
      assert.ok(await page.$('#login[hidden]'), "a shopper is not asked for the operator's token");
      await page.click('#staff-login');
      await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
      await page.fill('#login input[name="token"]', TOKEN);
      await page.click('#login button[type="submit"]');
      await page.waitForFunction(() => (window as unknown as { storeflowPhone: { status: string } }).storeflowPhone.status === 'live', null, {
        timeout: 10_000,
      });
      await enter(client, app, '3');
      await focus(client, app, '3', 'Men');
      const p = await waitFor(() => published.find((x) => x.body.customer.id === '3'), 10_000, "customer 3's coupon");
      await page.waitForSelector('#offers li.offer[data-products="loaded"]', { timeout: 5000 });
      assert.equal((await screen(page)).offers, [expectedCard(p.body)]);
      assert.equal(page.problems, []);
    } finally {
      await must(browser, 'the browser').clearCookies();
      await page.close().catch(() => {});
      await client.endAsync();
      await app.close();
    }
  },
);

test("the phone's routes: the page at the root only and open, a coupon's terms and products, the customer's stream and visit", async () => {
  const TOKEN = 'phone-routes-token-0123456789';
  const app = await phoneApp({ CONTROL_TOKEN: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    const page = await app.http.inject({ method: 'GET', url: '/phone/42' });
    assert.is(page.statusCode, 200, 'open like the page files');
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.body, /<base href="\.\.\/">/);
    assert.match(page.body, /<script type="module" src="phone.js">/);
    for (const f of ['phone.js', 'phone-state.js', 'coupon-words.js', 'stream.js', 'phone.css', 'page.css'])
      assert.is((await app.http.inject({ method: 'GET', url: `/${f}` })).statusCode, 200, f);
    assert.is((await app.http.inject({ method: 'GET', url: '/phone/a.b' })).statusCode, 400);
    assert.is((await app.http.inject({ method: 'GET', url: '/gateway/phone/42', headers: auth })).statusCode, 404, 'one address');

    assert.is((await app.http.inject({ method: 'GET', url: '/dashboard/coupons/2' })).statusCode, 401);
    const coupon = await app.http.inject({ method: 'GET', url: '/dashboard/coupons/2', headers: auth });
    assert.equal(coupon.json(), {
      id: 2,
      type: 'buy_all',
      department: 'Men',
      discount: 35,
      how_many_products_required: 2,
      start_date: '2020-01-01',
      end_date: '2030-12-31',
      products_count: 2,
      products: [
        { id: 101, name: 'ALPHA - Navy Shirt for Men', category: 'Shirt', sizes: 'S-XL', buy_price: 12.5 },
        { id: 102, name: 'BETA - Grey Jeans for Men', category: 'Jeans', sizes: '28-38', buy_price: 30 },
      ],
    });
    assert.is((await app.http.inject({ method: 'GET', url: '/dashboard/coupons/99', headers: auth })).statusCode, 404);
    assert.is((await app.http.inject({ method: 'GET', url: '/dashboard/coupons/x', headers: auth })).statusCode, 400);

    // the customer's stream; the visit starts at their last entry while they are inside
    const config = async (q: string) => (await app.http.inject({ method: 'GET', url: `/dashboard/config?${q}`, headers: auth })).json();
    const before = await config('customer=7');
    assert.is(before.stream.routing_key, 'customer.7');
    assert.ok(before.stream.ticket, 'a ticket for the guarded stream');
    assert.is(before.visit_from, before.replay_from, 'never inside: the replay window');
    assert.is(before.today, undefined, "the counters are the manager's");
    const [entry] = await app.eventLog.append([{ streamId: 'customer-7', type: 'entry', data: { id: '7', ts: next() }, metadata: { source: 'http' } }]);
    await app.eventLog.append([{ streamId: 'customer-7', type: 'move', data: { id: '7', ts: next(), x: 900, y: 300 }, metadata: { source: 'http' } }]);
    const inside = await config('customer=7');
    assert.is(inside.visit_from, Number(entry.position));
    assert.is(inside.stream.id, before.stream.id, 'one stream per customer and process');
    const [left] = await app.eventLog.append([{ streamId: 'customer-7', type: 'exit', data: { id: '7', ts: next() }, metadata: { source: 'http' } }]);
    assert.is((await config('customer=7')).visit_from, Number(left.position) + 1);
    assert.is((await app.http.inject({ method: 'GET', url: '/dashboard/config?customer=a.b', headers: auth })).statusCode, 400);
  } finally {
    await app.close();
  }
});

test("the phone's fold: a visit from an entry (or a first move) to the exit; offers outside a visit are not the shopper's", () => {
  let ordinal = 0;
  const msg = (type: string, body: object) => ({ ess_ordinal: ++ordinal, ess_timestamp: 1_750_000_000_000 + ordinal, message_type: type, message_body: body });
  const offer = (id: number, customer = '5') =>
    msg('prediction', { customer_id: customer, coupon: { id, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 } });
  const p = createPhone('5', STORE_PLAN);
  const seen = (m: object) => [applyPhone(p, m), p.presence, p.dep, p.coupons.map((c: { id: number }) => c.id)];
  assert.equal(seen(offer(9)), [false, 'waiting', null, []], "the pump's offer to someone not inside");
  assert.equal(seen(msg('entry', { id: '5' })), [true, 'inside', null, []]);
  assert.equal(seen(msg('move', { id: '5', x: 900, y: 750 })), [true, 'inside', 'Men', []]);
  assert.equal(seen(offer(1, '6')), [false, 'inside', 'Men', []], "another customer's");
  assert.equal(seen(offer(1)), [true, 'inside', 'Men', [1]]);
  assert.equal(seen(msg('focus', { id: '5', dep: 'Women' })), [true, 'inside', 'Women', [1]]);
  assert.equal(seen(offer(2)), [true, 'inside', 'Women', [2, 1]]);
  // a focus without a coupon is said, with its reason (never silence)
  assert.equal(seen(msg('no_prediction', { customer_id: '5', dep: 'Women', reason: 'below_threshold' })), [true, 'inside', 'Women', [2, 1]]);
  assert.equal(
    p.declined.map((d: { dep: string; reason: string }) => noOfferLine(d)),
    ['Looked at Women: no coupon scored above the threshold for you.'],
  );
  assert.equal(seen(msg('redemption', { id: '5', coupon_id: 1, amount: 10 })), [true, 'inside', 'Women', [2, 1]]);
  assert.equal(
    p.coupons.map((c: { redeemed: boolean }) => c.redeemed),
    [false, true],
  );
  const replayed = { ...offer(3), ess_ordinal: 2 };
  assert.equal(seen(replayed), [false, 'inside', 'Women', [2, 1]], 'an ordinal already seen');
  assert.equal(seen(msg('exit', { id: '5' })), [true, 'left', null, [2, 1]]);
  assert.equal(seen(offer(4)), [false, 'left', null, [2, 1]]);
  // a scenario draft walks in without an entry: its first move starts a new visit
  assert.equal(seen(msg('move', { id: '5', x: 300, y: 300 })), [true, 'inside', null, []]);

  assert.equal([discountText(31), discountText(12.5), discountText(14.0)], ['−31 %', '−12.5 %', '−14 %']);
  assert.equal(
    [
      { type: 'just_discount' },
      { type: 'buy_more', how_many: 3 },
      { type: 'buy_all', how_many: 2 },
      { type: 'department', department: 'Sport', how_many: -1 },
    ].map(offerTerms),
    ['on 1 product', 'when you buy 3', 'when you buy all 2 together', 'on the whole Sport department'],
  );
  assert.equal(
    [validity('2010-01-01', '2010-01-09'), validity('2025-06-02', '2025-06-02'), validity(undefined, undefined)],
    ['valid 1 Jan 2010 – 9 Jan 2010', 'valid on 2 Jun 2025', ''],
  );
  assert.equal(productLines(['a', 'b', 'c', 'd'], 600), { shown: ['a', 'b', 'c'], more: 'and 597 more' });
  assert.equal(productLines(['a', 'b'], 2), { shown: ['a', 'b'], more: undefined });
});

test.after(async () => {
  await closeBrowser();
});

test.run();
