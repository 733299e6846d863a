/** The simulator role end to end: a real broker, the HTTP API, the real-time timeline. */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startTestApp, connectClient, collect, waitFor, sleep, type Collected, type TestApp } from './helpers.ts';
import { insidePlan } from '../actors/data/store-plan.ts';
import type { SimulatorHandle } from '../adapters/simulator/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sim-'));
const csv = join(dir, 'customer_info.csv');
// the original customer_info.csv format
writeFileSync(
  csv,
  'customer_id,gender,age,mean_buy_price,total_coupons_used,mean_discount_received,unique_products_bought,unique_products_bought_with_coupons,total_items_bought\n' +
    Array.from({ length: 40 }, (_, i) => `${501 + i},${i % 2 ? 'M' : 'F'},${20 + i},10.5,3,12.0,40,5,90`).join('\n') +
    '\n',
);

let app: TestApp;
let client: MqttClient;
let got: Collected<{ id: string; ts: number; x: number; y: number }>[];
let topics: { enter: string; move: string; exit: string };

test.before(async () => {
  app = await startTestApp({
    ROLES: 'simulator',
    SIM_SPEED: '600',
    CONSUME_FREQUENCY: '0.05',
    CONSUME_BATCH_SIZE: '100000',
    CUSTOMERS_AVERAGE_IN_STORE: '15',
    CUSTOMERS_LIST_FILE: csv,
    SIMULATOR_AUTO_START: 'false',
    SEED: '11',
  });
  topics = app.config.topics;
  client = await connectClient();
  got = await collect(client, [topics.enter, topics.move, topics.exit]);
});

test.after(async () => {
  await client?.endAsync();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body?: unknown, query = '') =>
  fetch(`${app.url}${path}${query}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
/** The simulator's answers, as far as these tests read them (each endpoint fills its own fields). */
interface Answer {
  state: string;
  customerSource: string;
  customers: { state: string; x: number; y: number }[];
  inStore: number;
  speed: number;
  averageInStore: number;
  batchSize: number;
  scheduled: number;
  path: { timestamp: number; at: string }[];
  simulatedTime: string;
  message: string;
  timeline: { scheduled: number };
}
const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Answer });

test('stopped at first: nothing published; the simulator owns /state when no pump runs', async () => {
  const s = await json(await fetch(`${app.url}/state`));
  assert.is(s.status, 200);
  assert.is(s.body.state, 'stopped');
  assert.is(s.body.customerSource, 'file');
  assert.equal(s.body.customers, []);
  const p = await json(await fetch(`${app.url}/simulator/state`));
  assert.is(p.body.state, 'stopped');
  await sleep(200);
  assert.is(got.length, 0);
});

test('started, shoppers from CUSTOMERS_LIST_FILE walk the store and their events arrive on the broker', async () => {
  assert.equal(await json(await post('/simulator/start')), { status: 200, body: { state: 'started' } });
  await waitFor(() => got.filter((m) => m.topic === topics.exit).length >= 3, 20_000, 'three exits on the broker');
  const ids = new Set(got.map((m) => m.body.id));
  for (const id of ids) assert.ok(Number(id) >= 501 && Number(id) <= 540, `customer ${id} comes from the file`);
  for (const m of got) {
    assert.type(m.body.id, 'string');
    assert.ok(Number.isInteger(m.body.ts));
    if (m.topic === topics.move) {
      assert.equal(Object.keys(m.body).sort(), ['id', 'ts', 'x', 'y']);
      assert.ok(insidePlan(m.body), m.raw);
    } else assert.equal(Object.keys(m.body).sort(), ['id', 'ts']);
  }
  // every exited customer entered first
  for (const exit of got.filter((m) => m.topic === topics.exit)) {
    const first = must(
      got.find((m) => m.body.id === exit.body.id),
      'got.find((m) => m.body.id === exit.body.id)',
    );
    assert.is(first.topic, topics.enter, `customer ${exit.body.id} entered before anything else`);
  }
  const s = await json(await fetch(`${app.url}/state`));
  assert.is(s.body.state, 'started');
  assert.ok(s.body.inStore > 0);
  for (const c of s.body.customers) {
    assert.ok(['entering', 'walking', 'dwelling', 'browsing', 'leaving'].includes(c.state), JSON.stringify(c));
    assert.ok(insidePlan(c));
  }
});

test('settings change live; bad settings are 400; stop pauses publication', async () => {
  const r = await json(await post('/simulator/settings', { speed: 120, averageInStore: 3, batchSize: 500 }));
  assert.is(r.status, 200);
  assert.is(r.body.speed, 120);
  assert.is(r.body.averageInStore, 3);
  assert.is(r.body.batchSize, 500);
  assert.is((await post('/simulator/settings', { speed: -1 })).status, 400);
  assert.is((await post('/simulator/settings', { colour: 'red' })).status, 400);
  assert.is((await post('/simulator/settings', '{nope')).status, 400);
  assert.is((await post('/settings', { speed: 2 })).status, 404, 'settings live under /simulator only');
  assert.equal(await json(await post('/stop')), { status: 200, body: { state: 'stopped' } });
  // publications already on their way drain first (at SIM_SPEED 600 a loaded machine's broker can be seconds behind)
  let n = -1;
  await waitFor(
    async () => {
      const m = got.length;
      await sleep(150);
      n = m;
      return got.length === m;
    },
    15_000,
    'in-flight publications delivered',
  );
  await sleep(300);
  assert.is(got.length, n, 'nothing published while stopped');
  assert.is((await json(await fetch(`${app.url}/simulator/state`))).body.state, 'stopped');
});

test('a scenario with recalculate_time is published exactly, in order, while stopped shoppers stay put', async () => {
  (app.roles.get('simulator') as SimulatorHandle).settings({ speed: 1, averageInStore: 0 });
  assert.equal(await json(await post('/start')), { status: 200, body: { state: 'started' } });
  const before = got.length;
  const r = await json(
    await post(
      '/scenario',
      {
        customer: { customer_id: 'scenario-1' },
        path: [
          { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: 1000 },
          { type: 'MOVE', location: { x: 700, y: 500 }, timestamp: 1000.2 },
          { type: 'MOVE', location: { x: 701, y: 502 }, timestamp: 1000.2 },
          { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: 1000.4 },
        ],
      },
      '?recalculate_time=true',
    ),
  );
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.is(r.body.scheduled, 4);
  await waitFor(() => got.slice(before).filter((m) => m.body.id === 'scenario-1').length === 4, 10_000, 'the scenario on the broker');
  const mine = got.slice(before).filter((m) => m.body.id === 'scenario-1');
  const t0 = r.body.path[0].timestamp;
  assert.equal(
    mine.map((m) => [m.topic, m.body]),
    [
      [topics.enter, { id: 'scenario-1', ts: t0 }],
      [topics.move, { id: 'scenario-1', ts: r.body.path[1].timestamp, x: 700, y: 500 }],
      [topics.move, { id: 'scenario-1', ts: r.body.path[2].timestamp, x: 701, y: 502 }],
      [topics.exit, { id: 'scenario-1', ts: r.body.path[3].timestamp }],
    ],
  );
  const simulated = Date.parse((await json(await fetch(`${app.url}/state`))).body.simulatedTime) / 1000;
  assert.ok(Math.abs(t0 - simulated) < 5, `recalculated to the simulator's now (${t0} vs ${simulated})`);
});

test('bad scenario bodies get clear 400s and the timeline keeps running', async () => {
  const cases: [string, unknown, string][] = [
    ['/scenario', { customer: { customer_id: '1' }, path: [{ type: 'JUMP', location: { x: 1, y: 1 }, timestamp: 1 }] }, 'unknown step type "JUMP"'],
    ['/scenario', { customer: { customer_id: '1' }, path: [{ type: 'MOVE', location: { x: 1, y: 1 } }] }, 'timestamp: missing'],
    ['/scenario', { customer: { customer_id: '1' }, path: [] }, '/path: empty'],
    ['/scenario_draft', { customer: { customer_id: '1' }, path: [{ type: 'dance', location: { x: 1, y: 1 } }] }, 'expected move or focus'],
    ['/scenario_draft', { customer: {}, path: [{ type: 'move', location: { x: 1, y: 1 } }] }, 'customer_id'],
    ['/scenario', '{"customer": ', 'JSON'],
  ];
  for (const [path, body, text] of cases) {
    const r = await json(await post(path, body));
    assert.is(r.status, 400, `${path} ${JSON.stringify(body)}`);
    assert.match(r.body.message, text);
  }
  const draft = await json(
    await post('/simulator/scenario_draft', { customer: { customer_id: 'draft-1' }, path: [{ type: 'focus', location: { x: 700, y: 500 } }] }),
  );
  assert.is(draft.status, 200);
  assert.is(draft.body.scheduled, 6);
  assert.equal(
    draft.body.path.map((p) => Date.parse(p.at) - Date.parse(draft.body.path[0].at)),
    [0, 7500, 15000, 22500, 30000, 37500],
  );
  const s = await json(await fetch(`${app.url}/simulator/state`));
  assert.is(s.body.state, 'started');
  assert.ok(s.body.timeline.scheduled >= 6, 'the draft waits on the timeline');
});

test('produce endpoints publish the seed bodies as given and refuse bad ones', async () => {
  const before = got.length;
  const curl = (path: string, body: string) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  assert.is((await curl('/produce_entry', '{"id": "997", "ts": 192326400}')).status, 200);
  assert.is((await curl('/produce_move', '{"id": "997", "ts": 192326400, "x": 2, "y": 3}')).status, 200);
  assert.is((await curl('/produce_exit', '{"id": 997, "ts": 192326400}')).status, 200);
  await waitFor(() => got.slice(before).filter((m) => String(m.body.id) === '997').length === 3, 5000, 'produced events');
  assert.equal(
    got
      .slice(before)
      .filter((m) => String(m.body.id) === '997')
      .map((m) => [m.topic, m.raw]),
    [
      [topics.enter, '{"id":"997","ts":192326400}'],
      [topics.move, '{"id":"997","ts":192326400,"x":2,"y":3}'],
      [topics.exit, '{"id":997,"ts":192326400}'],
    ],
  );
  assert.is((await post('/produce_move', { id: '1', ts: 5 })).status, 400);
  assert.is((await post('/produce_entry', { id: '1', ts: 'soon' })).status, 400);
  assert.is((await post('/produce_entry', '{"id":')).status, 400);
  assert.is((await post('/produce_entry', { id: 'x'.repeat(70_000), ts: 1 })).status, 413);
});

test('TESTING_MOCK_MQTT: publications are logged, not sent; the simulator still runs', async () => {
  const mock = await startTestApp({
    ROLES: 'simulator',
    TESTING_MOCK_MQTT: 'true',
    LOG_LEVEL: 'info',
    SIM_SPEED: '600',
    CONSUME_FREQUENCY: '0.05',
    CONSUME_BATCH_SIZE: '100000',
    SIMULATOR_AUTO_START: 'true',
  });
  try {
    const r = await fetch(`${mock.url}/produce_entry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "997", "ts": 192326400}',
    });
    assert.is(r.status, 200);
    const would = () => mock.entries().filter((e) => e.msg?.includes('would publish'));
    assert.ok(would().some((e) => e.topic === mock.config.topics.enter && e.payload === '{"id":"997","ts":192326400}'));
    await waitFor(() => would().some((e) => e.topic === mock.config.topics.move), 10_000, 'a logged move');
    assert.is(((await (await fetch(`${mock.url}/state`)).json()) as { state: string }).state, 'started');
  } finally {
    await mock.close();
  }
});

test.run();
