/**
 * Live settings have upper bounds a real store needs (issue 14, item 2): `{"averageInStore": 50000}`
 * once took the process from 123 MB to 1.08 GB in 20 s, and a pump rate of 1e6 sent 25k events in
 * 6 s with /pump/stop then taking 23 s. The bounds are in the typebox schemas (400 naming the field)
 * and in the OpenAPI document.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestApp, sleep, type TestApp } from './helpers.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ ROLES: 'recommender,detector,simulator,pump,gateway', CUSTOMERS_AVERAGE_IN_STORE: '0', GENERATOR_AUTO_START: 'false' });
});
test.after(async () => {
  await app?.close();
});

const post = async (url: string, body?: unknown) => {
  const r = await fetch(`${app.url}${url}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
};
/** 200, or the status and which fields the message names. */
const outcome = async (url: string, body: unknown, fields: string[]) => {
  const r = await post(url, body);
  return r.status === 200 ? '200' : `${r.status} ${fields.filter((f) => new RegExp(`\\b${f}\\b`).test(r.body.message)).join('+')}`;
};

test('simulator settings: shoppers ≤ 2,000, speed ≤ 1,000, shoppers × speed ≤ 10,000 (about 1,000 events/s)', async () => {
  const got = [];
  for (const body of [
    { averageInStore: 50000 },
    { averageInStore: 2001 },
    { speed: 1e6 },
    { speed: 1001 },
    { averageInStore: 2000, speed: 10 },
    { averageInStore: 2000, speed: 5 },
    { averageInStore: 10, speed: 1000 },
    { averageInStore: 6, speed: 1 },
  ])
    got.push(await outcome('/simulator/settings', body, ['averageInStore', 'speed']));
  assert.equal(got, ['400 averageInStore', '400 averageInStore', '400 speed', '400 speed', '400 averageInStore+speed', '200', '200', '200']);
});

test('pump settings: rate ≤ 2,000 events/s, and events_per_tick / interval_s no faster', async () => {
  const got = [];
  for (const body of [
    { rate: 1e6 },
    { rate: 2001 },
    { events_per_tick: 2001 },
    { events_per_tick: 2000, interval_s: 0.5 },
    { rate: 2000 },
    { events_per_tick: 2000, interval_s: 1 },
    { rate: 0, events_per_tick: 1, interval_s: 1 },
  ])
    got.push(await outcome('/pump/settings', body, ['rate', 'events_per_tick', 'interval_s']));
  assert.equal(got, ['400 rate', '400 rate', '400 events_per_tick', '400 events_per_tick+interval_s', '200', '200', '200']);
});

test('the bounds are in the OpenAPI document', async () => {
  const doc = await (await fetch(`${app.url}/docs/json`)).json();
  const body = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema.properties;
  const sim = body('/simulator/settings'),
    pump = body('/pump/settings');
  assert.equal([sim.averageInStore.maximum, sim.speed.maximum, pump.rate.maximum, pump.events_per_tick.maximum], [2000, 1000, 2000, 2000]);
});

test('the pump at its top rate, with every role in the process, stops at once', async () => {
  assert.is((await post('/pump/settings', { rate: 2000 })).status, 200);
  assert.is((await post('/pump/start')).status, 200);
  await sleep(3000);
  const t0 = performance.now();
  const stopped = await post('/pump/stop');
  const ms = performance.now() - t0;
  assert.is(stopped.body.state, 'stopped');
  assert.ok(ms < 2000, `/pump/stop took ${Math.round(ms)} ms`);
  assert.ok(stopped.body.events_sent > 3000, `sent ${stopped.body.events_sent}`);
});

test.run();
