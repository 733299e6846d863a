/** The detector role end to end: moves over a real broker → focus / browsing on their topics and in the event log. */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { compile } from '../schemas/normalise.ts';
import { FocusEvent, BrowsingEvent } from '../schemas/messages.ts';
import { startTestApp, connectClient, collect, waitFor, sleep } from './helpers.ts';

const focusSchema = compile(FocusEvent);
const browsingSchema = compile(BrowsingEvent);
const TS = 1_700_000_000;

const detector = (env: Record<string, string> = {}) => startTestApp({ ROLES: 'detector', ...env });
const publishAll = async (client: Awaited<ReturnType<typeof connectClient>>, topic: string, payloads: unknown[]) => {
  for (const p of payloads) await client.publishAsync(topic, typeof p === 'string' ? p : JSON.stringify(p), { qos: 1 });
};

test('a shopper dwelling in Men: one focus {id, ts, dep, x, y} on the focus topic, logged after its moves', async () => {
  const app = await detector();
  const client = await connectClient();
  try {
    const t = app.config.topics;
    const got = await collect(client, [t.focus, t.browsing]);
    await publishAll(client, t.enter, [{ id: '11', ts: TS }]);
    await publishAll(client, t.move, [
      { id: '11', ts: TS + 1, x: 900, y: 800 },
      { id: 11, ts: (TS + 2) * 1000, x: 905.4, y: 801 }, // number id, ms timestamp, float position: normalised
      { id: '11', ts: TS + 3, x: 910, y: 802 },
      { id: '11', ts: TS + 4, x: 915, y: 803 },
      { id: '11', ts: TS + 5, x: 920, y: 804 },
    ]);
    await waitFor(() => got.length >= 1, 10_000, 'a focus event');
    await sleep(300);
    assert.equal(
      got.map((g) => [g.topic, g.body]),
      [[t.focus, { id: '11', ts: TS + 3, dep: 'Men', x: 910, y: 802 }]],
    );
    assert.ok(focusSchema.check(got[0].body), focusSchema.error(got[0].body));
    await waitFor(async () => (await app.eventLog.read({ streamId: 'customer-11' })).length === 7, 5000, 'seven log entries');
    const log = await app.eventLog.read({ streamId: 'customer-11' });
    // inputs are logged as they arrive; the focus is logged after the move that completed the dwell
    const inputs = log.filter((e) => e.type !== 'focus');
    assert.equal(
      inputs.map((e) => [e.type, (e.data as { ts?: unknown }).ts]),
      [['entry', TS], ...[1, 2, 3, 4, 5].map((i) => ['move', TS + i])],
    );
    const focus = log.filter((e) => e.type === 'focus');
    assert.is(focus.length, 1);
    assert.equal(focus[0].data, { id: '11', ts: TS + 3, dep: 'Men', x: 910, y: 802 });
    assert.is(focus[0].messageId, `${inputs[3].messageId}:focus`);
    assert.ok(focus[0].position > inputs[3].position);
    assert.is(focus[0].metadata.topic, t.focus);
    const s = await app.http.inject({ method: 'GET', url: '/detector/shoppers/11' });
    assert.equal(s.json(), { customer_id: '11', state: 'dwelling', department: 'Men', moves: 5, announced: true, last_ts: TS + 5 });
    const metrics = (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /storeflow_focus_detected_total\{department="Men"\} 1/);
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('wandering the aisles: one browsing; exit ends the tracking; several shoppers at once stay apart', async () => {
  const app = await detector({ FOCUS_MIN_MOVES: '2', BROWSING_MIN_MOVES: '4' });
  const client = await connectClient();
  try {
    const t = app.config.topics;
    const got = await collect(client, [t.focus, t.browsing]);
    // two shoppers interleaved: 21 walks the aisles, 22 goes Boys → Girls → Boys
    const moves: unknown[] = [];
    const path22 = [
      [800, 500],
      [1100, 500],
      [800, 500],
      [801, 501],
    ];
    for (let i = 0; i < 5; i++) {
      moves.push({ id: '21', ts: TS + i, x: 100 + i, y: 100 });
      if (path22[i]) moves.push({ id: '22', ts: TS + i, x: path22[i][0], y: path22[i][1] });
    }
    await publishAll(client, t.move, moves);
    await waitFor(() => got.length >= 2, 10_000, 'browsing and focus');
    await sleep(300);
    assert.equal(
      got.map((g) => [g.topic, g.body]).sort(),
      [
        [t.browsing, { id: '21', ts: TS + 3, x: 103, y: 100 }],
        [t.focus, { id: '22', ts: TS + 3, dep: 'Boys', x: 801, y: 501 }],
      ].sort(),
    );
    assert.ok(
      browsingSchema.check(
        must(
          got.find((g) => g.topic === t.browsing),
          'got.find((g) => g.topic === t.browsing)',
        ).body,
      ),
    );
    const list = (await app.http.inject({ method: 'GET', url: '/detector/shoppers' })).json();
    assert.equal(list.shoppers.map((s: { customer_id: string }) => s.customer_id).sort(), ['21', '22']);
    assert.is(list.focus_min_moves, 2);
    await publishAll(client, t.exit, [
      { id: '21', ts: TS + 10 },
      { id: '999', ts: TS + 10 },
    ]);
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/detector/shoppers/21' })).statusCode === 404, 5000, 'shopper 21 gone');
    assert.is((await app.http.inject({ method: 'GET', url: '/detector/shoppers/999' })).statusCode, 404);
    // the detector's routes are not at the root
    assert.is((await app.http.inject({ method: 'GET', url: '/shoppers' })).statusCode, 404);
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('bad moves (malformed JSON, wrong types, oversized, no position) are rejected and the detector goes on', async () => {
  const app = await detector({ MAX_PAYLOAD_BYTES: '1024' });
  const client = await connectClient();
  try {
    const t = app.config.topics;
    const got = await collect(client, [t.focus]);
    await publishAll(client, t.move, [
      '{"id": "31", "ts": ',
      { id: '31', ts: 'yesterday', x: 900, y: 800 },
      { id: '31', ts: TS, x: '900', y: 800 },
      { id: '31', ts: TS },
      { id: '31', ts: TS, x: 900, y: 800, pad: 'x'.repeat(2000) },
      [1, 2, 3],
    ]);
    await publishAll(
      client,
      t.move,
      [1, 2, 3].map((i) => ({ id: '31', ts: TS + i, x: 700, y: 1000 })),
    );
    await waitFor(() => got.length === 1, 10_000, 'a focus after the bad input');
    assert.equal(got[0].body, { id: '31', ts: TS + 3, dep: 'Sport', x: 700, y: 1000 });
    const rejected = await app.eventLog.read({ streamId: 'rejected' });
    assert.equal(rejected.map((r) => (r.data as { code?: unknown }).code).sort(), ['invalid_json', 'schema', 'schema', 'schema', 'schema', 'too_large'].sort());
    const warnings = app.entries().filter((e) => e.msg === 'input rejected');
    assert.is(warnings.length, 6);
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
