/**
 * The original scenario player's details (issue 19.3): CONSUME_FROM in any case, `earliest` publishing
 * what is already due at once and in order, and its `GET /state?timestamp=` answer under
 * /simulator/state and on the bare /state where the simulator owns it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestApp, connectClient, collect, waitFor, sleep } from './helpers.ts';
import { pythonIso, stateTimestamp } from '../actors/simulator/state-at.ts';

test("pythonIso and the query timestamp: the original's datetime shapes", () => {
  assert.equal(
    [pythonIso(Date.UTC(2021, 2, 10, 10)), pythonIso(Date.UTC(2021, 2, 10, 10) + 123)],
    ['2021-03-10T10:00:00+00:00', '2021-03-10T10:00:00.123000+00:00'],
  );
  const t = Date.UTC(2021, 2, 10, 10);
  assert.equal(
    ['2021-03-10T10:00:00+00:00', '2021-03-10T10:00:00 00:00', '2021-03-10T12:00:00+02:00', '2021-03-10T10:00:00', '1615370400', '1615370400000', 'soon'].map(
      stateTimestamp,
    ),
    [t, t, t, t, t, t, undefined],
  );
});

test('CONSUME_FROM=EARLIEST: a scenario already due when the simulator starts is published at once, in order, nothing skipped', async () => {
  const app = await startTestApp({
    ROLES: 'simulator',
    CONSUME_FROM: 'EARLIEST',
    CUSTOMERS_AVERAGE_IN_STORE: '0',
    SIMULATOR_AUTO_START: 'false',
    CONSUME_FREQUENCY: '0.1',
    CONSUME_BATCH_SIZE: '1',
  });
  const client = await connectClient();
  try {
    const topics = app.config.topics;
    const got = await collect(client, [topics.enter, topics.move, topics.exit]);
    const t0 = Math.floor(Date.now() / 1000) - 3600; // an hour ago, a minute between steps
    const path = [
      { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: t0 },
      { type: 'MOVE', location: { x: 700, y: 500 }, timestamp: t0 + 60 },
      { type: 'MOVE', location: { x: 701, y: 502 }, timestamp: t0 + 120 },
      { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: t0 + 180 },
    ];
    assert.is((await app.http.inject({ method: 'POST', url: '/scenario', payload: { customer: { customer_id: '42' }, path } })).statusCode, 200);
    const started = Date.now();
    assert.equal((await app.http.inject({ method: 'POST', url: '/simulator/start' })).json(), { state: 'started' });
    await waitFor(() => got.length === 4, 5000, 'the four steps');
    assert.ok(Date.now() - started < 2000, 'at once, not at their original spacing (nor one per check: CONSUME_BATCH_SIZE is 1)');
    await sleep(300);
    assert.equal(
      got.map((m) => [m.topic, m.body]),
      [
        [topics.enter, { id: '42', ts: t0 }],
        [topics.move, { id: '42', ts: t0 + 60, x: 700, y: 500 }],
        [topics.move, { id: '42', ts: t0 + 120, x: 701, y: 502 }],
        [topics.exit, { id: '42', ts: t0 + 180 }],
      ],
    );
    assert.is((await app.http.inject({ method: 'GET', url: '/simulator/settings' })).json().consumeFrom, 'earliest');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test("GET /state?timestamp= answers like the scenario player (prefixed and bare), takes nothing off the timeline; without it, storeflow's state", async () => {
  const app = await startTestApp({ ROLES: 'simulator', SIMULATOR_AUTO_START: 'false', CUSTOMERS_AVERAGE_IN_STORE: '0' });
  try {
    const t = Math.floor(Date.now() / 1000) + 3600;
    const post = (customer: string, path: object[]) =>
      app.http.inject({ method: 'POST', url: '/scenario', payload: { customer: { customer_id: customer }, path } });
    assert.is(
      (
        await post('7', [
          { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: t },
          { type: 'MOVE', location: { x: 700, y: 500 }, timestamp: t + 10 },
          { type: 'MOVE', location: { x: 701, y: 502 }, timestamp: t + 20 },
          { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: t + 30 },
        ])
      ).statusCode,
      200,
    );
    assert.is((await post('10', [{ type: 'ENTER', location: { x: 937, y: 50 }, timestamp: t + 10 }])).statusCode, 200);
    const at = async (url: string) => {
      const r = await fetch(`${app.url}${url}`);
      return { status: r.status, body: (await r.json()) as { error?: string; state: string; timeline: { scheduled: number } } };
    };
    const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', '+00:00');
    const state = (id: string, x: number, y: number, status: string, s: number) => ({
      customer_description: { customer_id: id },
      location: { x, y },
      status,
      timestamp: iso(s),
    });
    assert.equal(await at(`/simulator/state?timestamp=${encodeURIComponent(iso(t - 1))}`), { status: 200, body: [] });
    assert.equal(await at(`/simulator/state?timestamp=${encodeURIComponent(iso(t + 15))}`), {
      status: 200,
      body: [state('7', 700, 500, 'MOVE', t + 10), state('10', 937, 50, 'ENTER', t + 10)],
    });
    assert.equal(
      await at(`/state?timestamp=${t + 30}`),
      { status: 200, body: [state('7', 1071, 50, 'EXIT', t + 30), state('10', 937, 50, 'ENTER', t + 10)] },
      'the bare path (epoch seconds)',
    );
    assert.equal(
      await at(`/state?timestamp=${iso(t + 20).replace('+00:00', '')}`),
      { status: 200, body: [state('7', 701, 502, 'MOVE', t + 20), state('10', 937, 50, 'ENTER', t + 10)] },
      'no offset: UTC',
    );
    const bad = await at('/simulator/state?timestamp=soon');
    assert.equal([bad.status, bad.body.error], [400, 'bad_request']);
    const plain = await at('/simulator/state');
    assert.equal([plain.body.state, plain.body.timeline.scheduled], ['stopped', 5], 'nothing was taken off the timeline');
  } finally {
    await app.close();
  }
});

test.run();
