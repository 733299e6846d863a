/**
 * The events view (events.html) in a real browser (Debian's Chromium, playwright-core): the log,
 * live and newest first, with human times; filtered by customer and by type; resumed from an ordinal
 * (the gateway's stream_from_ordinal), from its form and from its address. Against an in-process
 * storeflow on the real PostgreSQL and broker. Screenshot: test/artifacts/events.png
 * (UPDATE_SCREENSHOT=1 copies it to docs/). Also the config's filtered streams and their cap.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import pgModule, { sql } from '@databases/pg';
import { startTestApp, waitFor, DATABASE_URL, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { LoggedEvent } from '../actors/kernel/event-log.ts';
import { PageStreams } from '../adapters/dashboard/streams.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { browserTest, newPage, closeBrowser, WEB_DIR, ARTIFACTS, DOCS } from './browser.ts';
// @ts-expect-error plain browser JavaScript, no type declarations
import { clock } from '../web/words.js';
import { must } from '../actors/kernel/must.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);
let ts = Math.floor(Date.now() / 1000); // coupons of the small store are valid 2020–2030

async function eventsApp(): Promise<TestApp> {
  const app = await startTestApp({ ROLES: 'recommender,detector,gateway', PREDICTION_THRESHOLD: '0' }, { webDir: WEB_DIR });
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

const ingest = (app: TestApp, kind: 'entry' | 'move' | 'focus' | 'exit', body: object | string) =>
  app.pipeline.ingest(kind, typeof body === 'string' ? body : JSON.stringify({ ...body, ts: ++ts }), { source: 'http' });

/** The rows as shown, newest first: ordinal, time, type, customer, what. */
const rows = (page: Page) =>
  page.$$eval('#events tr[data-ordinal]', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td, i) => (i === 3 ? (td.querySelector('a.filter-customer')?.textContent ?? '') : td.textContent))),
  );

const COUPON_TYPES: Record<string, string> = { just_discount: 'just discount', buy_more: 'buy more', buy_all: 'buy all', department: 'department' };

/** What a row must say about a logged event, written out for every kind this test logs. */
function expectedRow(e: LoggedEvent, now: number): string[] {
  // the fields of the kinds below (each kind reads only its own)
  const d = e.data as {
    x: number;
    y: number;
    dep: string;
    coupon: { id: number; type: string; department: string; discount: number };
    score: number;
    reason: unknown;
    topic: string;
    coupons: number;
    catalogue: string;
  };
  const customer = e.streamId.startsWith('customer-') ? e.streamId.slice('customer-'.length) : '';
  const places: Record<string, string> = { '900,300': 'aisle by Boys', '700,500': 'Boys' };
  const what: Record<string, () => string> = {
    entry: () => 'entered the store',
    exit: () => 'left the store',
    move: () => `moved to ${places[`${d.x},${d.y}`]} (${d.x}, ${d.y})`,
    focus: () => `looking at ${d.dep}`,
    prediction: () =>
      `offered coupon #${d.coupon.id} (${COUPON_TYPES[d.coupon.type]}, ${d.coupon.department}) −${d.coupon.discount} % · score ${d.score.toFixed(2)}`,
    no_prediction: () => `no coupon: ${{ no_coupons: 'no coupons' }[d.reason as string]} (${d.dep})`,
    rejected: () => `rejected on ${d.topic}: ${d.reason}`,
    recommender_started: () => 'recommender started',
    catalogue_loaded: () => `catalogue loaded: ${d.coupons} coupons (version ${d.catalogue})`,
    detector_started: () => 'detector started',
  };
  assert.ok(what[e.type], `a row for ${e.type}`);
  return [String(e.position), clock(e.recordedAt, now), e.type, customer, what[e.type]()];
}

async function openEvents(app: TestApp, query = ''): Promise<Page & { problems: string[] }> {
  const page = await newPage({ width: 1280, height: 800 });
  await page.goto(`${app.url}/events.html${query}`);
  await page.waitForFunction(() => window.storeflowEvents?.status === 'live', null, { timeout: 10_000 });
  return page;
}

const showing = (page: Page, n: number) =>
  page.waitForFunction((n) => document.querySelectorAll('#events tr[data-ordinal]').length === n, n, { timeout: 10_000 });

browserTest('the events view: the log live with human times, filtered by customer and by type, resumed from an ordinal', async () => {
  const app = await eventsApp();
  let page: (Page & { problems: string[] }) | undefined;
  try {
    await ingest(app, 'entry', { id: '1' });
    await ingest(app, 'move', { id: '1', x: 900, y: 300 });
    await ingest(app, 'entry', { id: '2' });
    await ingest(app, 'focus', { id: '1', dep: 'Men' });
    await ingest(app, 'focus', 'not json at all');
    await ingest(app, 'move', { id: '2', x: 700, y: 500 });
    await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 1, 10_000, 'the coupon for customer 1');
    // the small store has no coupon in Boys, one in Women
    await ingest(app, 'focus', { id: '2', dep: 'Boys' });
    await waitFor(async () => (await app.eventLog.read({ types: ['no_prediction'] })).length === 1, 10_000, 'no coupon for customer 2 in Boys');
    await ingest(app, 'focus', { id: '2', dep: 'Women' });
    await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 2, 10_000, 'the coupon for customer 2 in Women');
    const log = await app.eventLog.read({});
    const expected = (events: LoggedEvent[]) => events.map((e) => expectedRow(e, Date.now())).reverse();

    // everything, newest first
    page = await openEvents(app);
    await showing(page, log.length);
    assert.equal(await rows(page), expected(log));
    assert.match(must(await page.textContent('#summary'), 'the summary'), new RegExp(`^every event · ${log.length} received from ordinal ${log[0].position}$`));

    // live: a new event comes in on top
    await ingest(app, 'exit', { id: '1' });
    const [exit] = (await app.eventLog.read({ streamId: 'customer-1', types: ['exit'] })).slice(-1);
    await showing(page, log.length + 1);
    assert.equal((await rows(page))[0], expectedRow(exit, Date.now()));
    const all = [...log, exit];

    // one customer's events
    await page.fill('#filter input[name="customer"]', '1');
    await page.click('#filter button[type="submit"]');
    const mine = all.filter((e) => e.streamId === 'customer-1');
    await showing(page, mine.length);
    assert.equal(await rows(page), expected(mine));
    assert.equal(
      mine.map((e) => e.type),
      ['entry', 'move', 'focus', 'prediction', 'exit'],
    );
    assert.is(new URL(page.url()).search, '?customer=1');

    // one type's
    await page.fill('#filter input[name="customer"]', '');
    await page.fill('#filter input[name="type"]', 'prediction');
    await page.click('#filter button[type="submit"]');
    await showing(page, 2);
    assert.equal(await rows(page), expected(all.filter((e) => e.type === 'prediction')));

    // from an ordinal: that event and every one after it
    const from = must(
      all.find((e) => e.type === 'focus'),
      'a focus event',
    ).position;
    await page.fill('#filter input[name="type"]', '');
    await page.fill('#filter input[name="from"]', String(from));
    await page.click('#filter button[type="submit"]');
    const after = all.filter((e) => e.position >= from);
    await showing(page, after.length);
    assert.equal(await rows(page), expected(after));
    assert.is(await page.evaluate(() => window.storeflowEvents?.stats.lastConnectFrom), from);
    assert.is(new URL(page.url()).search, `?from=${from}`);
    mkdirSync(ARTIFACTS, { recursive: true });

    // the address resumes it too: a reload, a shared link
    await page.reload();
    await page.waitForFunction(() => window.storeflowEvents?.status === 'live', null, { timeout: 10_000 });
    await showing(page, after.length);
    assert.equal(await rows(page), expected(after));
    assert.is(await page.inputValue('#filter input[name="from"]'), String(from));

    await page.click('#clear-filter');
    await showing(page, all.length);
    const shot = join(ARTIFACTS, 'events.png');
    await page.screenshot({ path: shot, animations: 'disabled' });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(DOCS, 'events.png'));
    assert.equal(page.problems, []);
  } finally {
    await page?.close().catch(() => {});
    await app.close();
  }
});

test("the config's filtered streams: a routing key each, shared, refused when unaddressable, deleted with the process", async () => {
  const app = await startTestApp({ ROLES: 'gateway' }, { webDir: WEB_DIR });
  try {
    const config = (q: string) => app.http.inject({ method: 'GET', url: `/dashboard/config?${q}` });
    const keys: Record<string, string> = {
      '': 'customer.#',
      'scope=log': '#',
      'scope=log&type=prediction': 'prediction',
      'type=prediction': 'customer.*.prediction',
      'customer=1': 'customer.1',
      'scope=log&customer=1': 'customer.1',
      'customer=1&type=move': 'customer.1.move',
    };
    const got: Record<string, string> = {};
    const ids = new Map<string, string>();
    for (const q of Object.keys(keys)) {
      const c = (await config(q)).json();
      got[q] = c.stream.routing_key;
      ids.set(c.stream.routing_key, c.stream.id);
      assert.is(c.today !== undefined, q === '', `counters for "${q}"`);
    }
    assert.equal(got, keys);
    assert.is(new Set(ids.values()).size, 6, 'a stream per routing key');
    for (const q of ['scope=nope', 'type=a.b', 'customer=a%20b', `customer=${'x'.repeat(65)}`]) assert.is((await config(q)).statusCode, 400, q);

    await app.stop();
    const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1 });
    try {
      assert.equal(await db.query(sql`SELECT id FROM ${sql.ident(app.config.databaseSchema, 'event_streams')}`), []);
    } finally {
      await db.dispose();
    }
  } finally {
    await app.close();
  }
});

browserTest(
  "the customer filter finds that customer's newest 200 events in the whole log (server-side); the pump's focus events are marked as load",
  async () => {
    const app = await eventsApp();
    let page: (Page & { problems: string[] }) | undefined;
    try {
      // customer 1 walks in early, then 250 moves of customer 2 bury them; then the pump's focus for customer 3 (never inside)
      await ingest(app, 'entry', { id: '1' });
      await ingest(app, 'move', { id: '1', x: 900, y: 300 });
      await ingest(app, 'entry', { id: '2' });
      for (let i = 0; i < 250; i++) await ingest(app, 'move', { id: '2', x: 900 + (i % 5), y: 300 });
      await ingest(app, 'focus', { id: '3', dep: 'Men' });
      await ingest(app, 'focus', { id: '1', dep: 'Men', x: 900, y: 750 });
      await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 2, 10_000, 'the coupons for customers 3 and 1');
      const mine = await app.eventLog.read({ streamId: 'customer-1' });
      assert.is(mine.length, 4, "customer 1's entry, move, focus and coupon");

      page = await openEvents(app, '?customer=1');
      await showing(page, mine.length);
      assert.equal(
        (await rows(page)).map((r) => [r[0], r[2], r[3]]),
        mine.map((e) => [String(e.position), e.type, '1']).reverse(),
        "all of customer 1's events, the first long before the log's latest 200",
      );
      assert.ok(mine[0].position < (await app.eventLog.head()) - 200);

      // the whole log's latest: customer 3's focus and coupon are the pump's, customer 1's are a shopper's
      await page.goto(`${app.url}/events.html?type=focus`);
      await page.waitForFunction(() => (window as unknown as { storeflowEvents: { status: string } }).storeflowEvents?.status === 'live');
      await showing(page, 2);
      const marks = () =>
        page?.$$eval('#events tr[data-ordinal]', (trs) =>
          trs.map((tr) => [
            (tr as HTMLElement).dataset.type,
            tr.querySelector('a.filter-customer')?.textContent,
            tr.hasAttribute('data-pump'),
            tr.querySelector('.pump-mark, .phone')?.textContent,
          ]),
        );
      assert.equal(await marks(), [
        ['focus', '1', false, 'phone ↗'],
        ['focus', '3', true, 'pump'],
      ]);
      await page.goto(`${app.url}/events.html?type=prediction`);
      await showing(page, 2);
      assert.equal(await marks(), [
        ['prediction', '1', false, 'phone ↗'],
        ['prediction', '3', true, 'pump'],
      ]);
      assert.equal(page.problems, []);
    } finally {
      await page?.close().catch(() => {});
      await app.close();
    }
  },
);

test('page streams: created once per routing key, the least recently used deleted past the cap', async () => {
  const made: string[] = [];
  const deleted: string[] = [];
  const guarded: string[] = [];
  const unguarded: string[] = [];
  const streams = new PageStreams({
    records: {
      create: async (key: string) => {
        made.push(key);
        return { id: `id-${key}`, routing_key: key, created_at: '' };
      },
      delete: async (id: string) => {
        deleted.push(id);
        return true;
      },
    },
    log: createLogger({ level: 'silent' }),
    guard: (id) => guarded.push(id),
    unguard: (id) => unguarded.push(id),
    max: 2,
  });
  assert.equal(await Promise.all([streams.get('a'), streams.get('a')]), [{ id: 'id-a' }, { id: 'id-a' }]);
  await streams.get('b');
  await streams.get('a'); // a is used again: b is now the oldest
  await streams.get('c');
  await waitFor(() => deleted.length === 1, 1000);
  assert.equal(deleted, ['id-b']);
  assert.equal(unguarded, ['id-b'], 'a deleted stream keeps no guard');
  await streams.forget();
  assert.equal(made, ['a', 'b', 'c']);
  assert.equal(guarded, ['id-a', 'id-b', 'id-c']);
  assert.equal(deleted.sort(), ['id-a', 'id-b', 'id-c']);
  assert.equal(unguarded.sort(), ['id-a', 'id-b', 'id-c']);
});

test.after(async () => {
  await closeBrowser();
});

test.run();
