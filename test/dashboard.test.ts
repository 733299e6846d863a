/**
 * The live store dashboard in a real browser: Debian's Chromium driven by playwright-core, against an
 * in-process storeflow (recommender, detector, gateway, and the simulator when this build has it) on
 * the real broker and PostgreSQL. Shoppers are walked over the move topic like any MQTT producer.
 * Skips (never fails) only when Chromium cannot be launched.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { MqttClient } from 'mqtt';
import pgModule, { sql } from '@databases/pg';
import { startTestApp, connectClient, waitFor, dropSchema, DATABASE_URL, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { STORE_PLAN } from '../actors/data/store-plan.ts';
import { browser, browserTest, newPage, openDashboard, closeBrowser, WEB_DIR } from './browser.ts';
import { must } from '../actors/kernel/must.ts';

const ROLES = 'recommender,detector,gateway,simulator,pump';
const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);
const TS = Math.floor(Date.now() / 1000); // coupons of the small store are valid 2020–2030

const SHOPPERS_CSV = join(mkdtempSync(join(tmpdir(), 'storeflow-shoppers-')), 'customers.csv');
writeFileSync(SHOPPERS_CSV, ['customer_id,gender,age', ...Array.from({ length: 40 }, (_, i) => `${101 + i},${i % 2 ? 'M' : 'F'},${20 + i}`)].join('\n'));

async function dashboardApp(env: Record<string, string> = {}, port = 0): Promise<TestApp> {
  const app = await startTestApp(
    {
      ROLES,
      PREDICTION_THRESHOLD: '0',
      SIM_SPEED: '60',
      CUSTOMERS_AVERAGE_IN_STORE: '8',
      SIMULATOR_AUTO_START: 'false',
      // simulated shoppers 101–140 never collide with the ones the test walks (1–3, 77); the pump focuses on the known 1–3
      CUSTOMERS_LIST_FILE: SHOPPERS_CSV,
      GENERATOR_AUTO_START: 'false',
      MIN_CUSTOMER_ID: '1',
      MAX_CUSTOMER_ID: '3',
      ...env,
    },
    { webDir: WEB_DIR, port },
  );
  await seedSmallStore(app.database.db).catch(() => {
    /* a restarted app finds the store already there */
  });
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

const openPage = (app: TestApp): Promise<Page> => openDashboard(app.url);

// event time only moves forward, as in a store (the detector drops a move older than the latest it has seen)
let clock = TS;
const next = () => (clock += 2);
const move = (client: MqttClient, app: TestApp, id: string, x: number, y: number) =>
  client.publishAsync(app.config.topics.move, JSON.stringify({ id, ts: next(), x, y }), { qos: 1 });
const enter = (client: MqttClient, app: TestApp, id: string) => client.publishAsync(app.config.topics.enter, JSON.stringify({ id, ts: next() }), { qos: 1 });
const exit = (client: MqttClient, app: TestApp, id: string) => client.publishAsync(app.config.topics.exit, JSON.stringify({ id, ts: next() }), { qos: 1 });

/** A dot's position as drawn (data attributes follow the model; the transform glides to it). */
const dotAt = (page: Page, id: string) =>
  page.evaluate((id) => {
    const g = document.querySelector(`#shoppers g[data-id="${id}"]`) as SVGGElement | null;
    return g ? { x: Number(g.dataset.x), y: Number(g.dataset.y), state: g.dataset.state, transform: g.style.transform } : null;
  }, id);

browserTest("shoppers appear and move, a coupon card appears, an alert is marked helped (recorded in the log), a shopper's session opens", async () => {
  const app = await dashboardApp();
  const client = await connectClient();
  let page: Page | undefined;
  try {
    page = await openPage(app);
    // the plan: five labelled departments, entrance and exit
    const labels = await page.$$eval('.department-names text', (ts) => ts.map((t) => t.textContent));
    assert.equal(labels.sort(), ['Boys', 'Girls', 'Men', 'Sport', 'Women']);
    assert.ok((await page.$('g.door.entrance')) && (await page.$('g.door.exit')));

    // customer 1 walks from the entrance into Men and dwells there (→ focus → a coupon)
    await enter(client, app, '1');
    await waitFor(() => dotAt(must(page, 'the page'), '1'), 10_000, 'the dot of customer 1');
    assert.equal(
      await dotAt(page, '1').then((d) => [must(d, 'the dot of customer 1').x, must(d, 'the dot of customer 1').y, must(d, 'the dot of customer 1').state]),
      [STORE_PLAN.entrance.x, STORE_PLAN.entrance.y, 'walking'],
    );
    const walk: [number, number][] = [
      [937, 200],
      [937, 400],
      [900, 700],
      [905, 705],
      [910, 710],
      [915, 712],
    ];
    for (let i = 0; i < walk.length; i++) await move(client, app, '1', ...walk[i]);
    await waitFor(async () => (await dotAt(must(page, 'the page'), '1'))?.x === 915, 10_000, 'customer 1 to move').catch(async (err) => {
      console.log(
        JSON.stringify(await dotAt(must(page, 'the page'), '1')),
        JSON.stringify((await app.eventLog.read({})).map((e) => [e.position, e.type, e.data])),
        await must(page, 'the page').evaluate(() => JSON.stringify(window.storeflowDashboard.stats)),
      );
      throw err;
    });
    const d1 = must(await dotAt(page, '1'), 'the dot of customer 1');
    assert.equal([d1.x, d1.y], [915, 712]);
    assert.match(d1.transform, /translate\(915px, 712px\)/);
    await waitFor(async () => (await dotAt(must(page, 'the page'), '1'))?.state === 'focused', 10_000, 'customer 1 focused');

    const card = await page.waitForSelector('#coupons li.coupon[data-customer="1"]', { timeout: 10_000 });
    const cardText = must(await card.textContent(), 'the coupon card text');
    assert.match(cardText, /Customer 1/);
    assert.match(cardText, /Men/);
    assert.match(cardText, /−\d+%/);
    const [prediction] = (await app.eventLog.read({ streamId: 'customer-1' })).filter((e) => e.type === 'prediction');
    const coupon = (prediction.data as { coupon: { id: number; products_count: number } }).coupon;
    assert.match(cardText, new RegExp(`coupon #${coupon.id}\\b`));
    assert.match(cardText, new RegExp(`${coupon.products_count} products?`));
    assert.is(await page.textContent('#c-offers'), '1');

    // customer 2 lingers in the aisles (six moves outside every department, within BROWSING_RADIUS → browsing → an alert)
    await enter(client, app, '2');
    for (let i = 0; i < 7; i++) await move(client, app, '2', 300 + 15 * i, 250 + (i % 2) * 30);
    const alert = await page.waitForSelector('#alerts li.alert[data-customer="2"]:not(.helped)', { timeout: 10_000 }).catch(async (err) => {
      console.log(
        JSON.stringify((await app.eventLog.read({ streamId: 'customer-2' })).map((e) => [e.position, e.type, e.data])),
        await must(page, 'the page').evaluate(() => JSON.stringify([...window.storeflowDashboard.store.alerts.values()])),
        await must(page, 'the page').innerHTML('#alerts'),
      );
      throw err;
    });
    assert.is(must(await dotAt(page, '2'), 'the dot of customer 2').state, 'browsing');
    assert.is(await page.textContent('#alert-count'), '1');
    await must(await alert.$('button'), 'the alert button').click();
    await page.waitForSelector('#alerts li.alert.helped[data-customer="2"]', { timeout: 10_000 });
    const helped = (await app.eventLog.read({ streamId: 'customer-2' })).filter((e) => e.type === 'helped');
    assert.is(helped.length, 1);
    assert.is((helped[0].data as { id?: unknown }).id, '2');
    await waitFor(async () => (await dotAt(must(page, 'the page'), '2'))?.state === 'walking', 5000, 'customer 2 no longer flagged');
    assert.is(await page.textContent('#alert-count'), '0');

    // the customer view: session state, profile, path, offered coupons
    await page.click('#shoppers g[data-id="1"]');
    await page.waitForSelector('#customer-body[data-customer="1"] [data-field="state"]', { timeout: 5000 });
    const offered = must(await page.textContent('#customer-body [data-field="offered"]'), 'the offered field');
    assert.match(offered, new RegExp(`#${coupon.id}`));
    const path = await page.$$eval('#customer-body [data-field="path"] li', (ls) => ls.length);
    assert.ok(path >= 2, `the session path has ${path} steps`);
    assert.match(must(await page.textContent('#customer-body'), 'the customer body'), /age/);

    // exit removes the dot
    await exit(client, app, '2');
    await waitFor(async () => (await dotAt(must(page, 'the page'), '2')) === null, 5000, 'customer 2 gone');

    // the simulator from the page: settings, start; its shoppers appear and move; stop
    await page.fill('#simulator input[name="speed"]', '90');
    await page.fill('#simulator input[name="shoppers"]', '10');
    await page.click('#simulator button[type="submit"]');
    await waitFor(
      async () => {
        const s = (await app.http.inject({ method: 'GET', url: '/simulator/settings' })).json();
        return s.speed === 90 && s.averageInStore === 10;
      },
      5000,
      'simulator settings applied',
    );
    await page.click('#simulator button[data-action="start"]');
    await page.waitForSelector('#simulator output.state.on', { timeout: 5000 });
    const simulated = () =>
      must(page, 'the page').evaluate(() =>
        Object.fromEntries(
          [...document.querySelectorAll<SVGGElement>('#shoppers g')]
            .filter((g) => Number(g.dataset.id) > 100)
            .map((g) => [g.dataset.id, `${g.dataset.x},${g.dataset.y}`]),
        ),
      );
    const first = await waitFor(
      async () => {
        const s = await simulated();
        return Object.keys(s).length >= 2 && s;
      },
      20_000,
      'simulated shoppers',
    );
    await waitFor(
      async () => {
        const s = await simulated();
        return Object.keys(first).some((id) => s[id] && s[id] !== first[id]);
      },
      20_000,
      'a simulated shopper to move',
    );

    // the pump from the page: a rate, start; its focus events for customers 1–3 are load (3 never entered: no card), stop later
    await page.fill('#pump input[name="rate"]', '4');
    await page.click('#pump button[type="submit"]');
    await page.click('#pump button[data-action="start"]');
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/pump/state' })).json().state === 'started', 5000, 'pump started');
    assert.is((await app.http.inject({ method: 'GET', url: '/pump/state' })).json().target_rate, 4);
    await waitFor(
      async () => (await app.eventLog.read({ streamId: 'customer-3' })).some((e) => e.type === 'prediction'),
      15_000,
      "the pump's offer to customer 3",
    );
    await page.waitForFunction(() => window.storeflowDashboard.figures.loadOffers >= 1, null, { timeout: 5000 });
    assert.equal(await page.$$eval('#coupons li.coupon[data-customer="3"]', (l) => l.length), 0);
    await page.click('#pump button[data-action="stop"]');
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/pump/state' })).json().state === 'stopped', 5000, 'pump stopped');

    await page.click('#customer-close');
    // a second alert that stays open, for the picture
    for (let i = 0; i < 7; i++) await move(client, app, '77', 1450 + 20 * i, 350);
    await page.waitForSelector('#alerts li.alert[data-customer="77"]:not(.helped)', { timeout: 10_000 });
    assert.match((await page.textContent('#alerts li.alert[data-customer="77"]')) ?? '', /^front of the store, \d+ s/);
    await page.click('#simulator button[data-action="stop"]');
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/simulator/state' })).json().state === 'stopped', 5000, 'simulator stopped');
    assert.equal((page as { problems?: unknown }).problems, []);
  } finally {
    await page?.close().catch(() => {});
    await client.endAsync();
    await app.close();
  }
});

browserTest('server restart: the page reconnects by itself and resumes after the last ordinal (no gap, no duplicate)', async () => {
  const [port, streamPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const ports = { PORT: String(port), STREAM_PORT: String(streamPort), STREAM_API_PORT: String(apiPort) };
  let app = await dashboardApp(ports, port);
  const env = app.env as Record<string, string>;
  const client = await connectClient();
  let page: Page | undefined;
  try {
    page = await openPage(app);
    await enter(client, app, '3');
    await move(client, app, '3', 937, 300);
    await waitFor(async () => (await dotAt(must(page, 'the page'), '3'))?.y === 300, 10_000, 'customer 3 at y=300');
    const before = await page.evaluate(() => window.storeflowDashboard.store.lastOrdinal as number);

    await app.stop(); // the schema (and its log) stays: a restart, not a new store
    await page.waitForFunction(() => window.storeflowDashboard.status === 'reconnecting', null, { timeout: 10_000 });
    app = await dashboardApp(env, port);
    await page.waitForFunction(() => window.storeflowDashboard.status === 'live', null, { timeout: 20_000 });
    await move(client, app, '3', 1000, 320);
    await waitFor(async () => (await dotAt(must(page, 'the page'), '3'))?.x === 1000, 10_000, 'customer 3 after the restart');
    const stats = await page.evaluate(() => {
      const d = window.storeflowDashboard;
      return { connects: d.stats.connects, from: d.stats.lastConnectFrom, duplicates: d.store.duplicates, closes: d.stats.closes, last: d.store.lastOrdinal };
    });
    assert.ok(stats.connects >= 2, `connected ${stats.connects} times`);
    assert.is(stats.from, before + 1);
    assert.is(stats.duplicates, 0);
    assert.is(stats.closes[0], 1001);
    // every event after the restart point reached the page: its last ordinal is the log's head
    assert.is(stats.last, await app.eventLog.head());
    assert.equal((page as { problems?: unknown }).problems, []);
  } finally {
    await page?.close().catch(() => {});
    await client.endAsync();
    await app.stop();
    await dropSchema(env.DATABASE_SCHEMA);
  }
});

browserTest('with CONTROL_TOKEN the page asks for the token once, the browser keeps an HttpOnly cookie, and the page works as before', async () => {
  const TOKEN = 'dashboard-control-token-0123456789';
  const app = await dashboardApp({ CONTROL_TOKEN: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const client = await connectClient();
  const page = await newPage();
  const problems = page.problems;
  const status = () => page.evaluate(() => window.storeflowDashboard.status as string);
  try {
    await page.goto(`${app.url}/`);
    await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
    assert.is(await status(), 'login');
    assert.is(await page.textContent('#connection'), 'token needed');

    await page.fill('#login input[name="token"]', 'not-the-token-at-all');
    await page.click('#login button[type="submit"]');
    await page.waitForSelector('#login .error:not([hidden])', { timeout: 5000 });
    assert.is(await page.textContent('#login .error'), 'That is not the token.');

    await page.fill('#login input[name="token"]', TOKEN);
    await page.click('#login button[type="submit"]');
    await page.waitForFunction(() => window.storeflowDashboard.status === 'live', null, { timeout: 10_000 });
    assert.ok(await page.$('#login[hidden]'), 'the form is gone');
    assert.is(await page.inputValue('#login input[name="token"]'), '', 'the token is not left in the form');
    // the cookie stands for the token: HttpOnly (the page cannot read it), SameSite=Strict
    assert.not.match(await page.evaluate(() => document.cookie), /storeflow_control/);
    const cookies = (await must(browser, 'the browser').cookies(app.url)).filter((c) => c.name === 'storeflow_control');
    assert.equal(
      cookies.map((c) => [c.httpOnly, c.sameSite, c.value.includes(TOKEN)]),
      [[true, 'Strict', false]],
    );

    // the stream (with its ticket) and the controls work
    await enter(client, app, '5');
    await waitFor(() => dotAt(page, '5'), 10_000, 'the dot of customer 5');
    await page.click('#pump button[data-action="start"]');
    await waitFor(
      async () => (await app.http.inject({ method: 'GET', url: '/pump/state', headers: auth })).json().state === 'started',
      5000,
      'pump started from the page',
    );
    await page.click('#pump button[data-action="stop"]');
    await waitFor(
      async () => (await app.http.inject({ method: 'GET', url: '/pump/state', headers: auth })).json().state === 'stopped',
      5000,
      'pump stopped from the page',
    );

    // a reload needs no token: the cookie is kept
    await page.reload();
    await page.waitForFunction(() => window.storeflowDashboard.status === 'live', null, { timeout: 10_000 });
    assert.ok(await page.$('#login[hidden]'));
    assert.equal(problems, []);
  } finally {
    await must(browser, 'the browser').clearCookies();
    await page.close().catch(() => {});
    await client.endAsync();
    await app.close();
  }
});

test('dashboard endpoints: config, helped with bad input and unknown customers', async () => {
  const app = await startTestApp({ ROLES: 'gateway' }, { webDir: WEB_DIR });
  try {
    const page = await app.http.inject({ method: 'GET', url: '/' });
    assert.is(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="dashboard.js">/);
    for (const f of ['dashboard.js', 'store-state.js', 'series.js', 'words.js', 'dashboard.css', 'favicon.ico', 'favicon.svg'])
      assert.is((await app.http.inject({ method: 'GET', url: `/${f}` })).statusCode, 200, f);

    const c = (await app.http.inject({ method: 'GET', url: '/dashboard/config?since=0' })).json();
    assert.match(c.stream.path, /^\/event-stream\/[0-9a-f-]{36}$/);
    assert.is(c.stream.port, (app.roles.get('gateway') as GatewayHandle).streamPort);
    assert.is(c.stream.location, null);
    assert.equal(c.plan, JSON.parse(JSON.stringify(STORE_PLAN)));
    assert.equal(c.roles, ['gateway']);
    assert.is(c.head, await app.eventLog.head());
    assert.ok(c.replay_from >= 1 && c.replay_from <= c.head + 1);
    assert.equal(c.today, { since: 0, predictions: 0, redemptions: 0 });
    // one stream per process, under both mounts
    assert.is((await app.http.inject({ method: 'GET', url: '/gateway/dashboard/config' })).json().stream.id, c.stream.id);
    assert.is((await app.http.inject({ method: 'GET', url: '/dashboard/config?since=yesterday' })).statusCode, 400);

    const post = (body: string) => app.http.inject({ method: 'POST', url: '/dashboard/helped', headers: { 'content-type': 'application/json' }, body });
    assert.is((await post('{"customer_id":')).statusCode, 400);
    assert.is((await post('{"customer_id":[1]}')).statusCode, 400);
    assert.is((await post('{"id":"1"}')).statusCode, 400);
    assert.is((await post(JSON.stringify({ customer_id: 'x'.repeat(65) }))).statusCode, 400);
    assert.is((await post(JSON.stringify({ customer_id: 'a b' }))).statusCode, 400);
    const unknown = await post(JSON.stringify({ customer_id: 424242 }));
    assert.is(unknown.statusCode, 404);
    assert.is(unknown.json().error, 'not_found');
    await app.pipeline.ingest('browsing', { id: '9', ts: TS, x: 300, y: 300 }, { source: 'http' });
    const ok = await post(JSON.stringify({ customer_id: 9 }));
    assert.is(ok.statusCode, 201);
    const logged = (await app.eventLog.read({ streamId: 'customer-9' })).map((e) => e.type);
    assert.equal(logged, ['browsing', 'helped']);
    assert.is(ok.json().ess_ordinal, await app.eventLog.head());

    // the stream record goes with the process
    await app.stop();
    const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1 });
    try {
      const left = await db.query(sql`SELECT id FROM ${sql.ident(app.config.databaseSchema, 'event_streams')}`);
      assert.equal(left, []);
    } finally {
      await db.dispose();
    }
  } finally {
    await app.close();
  }
});

test.after(async () => {
  await closeBrowser();
  rmSync(dirname(SHOPPERS_CSV), { recursive: true, force: true });
});

test.run();
