/**
 * The whole pipeline on the in-memory event log, no database at all: moves in over the broker → the detector's focus
 * → the recommender's prediction → the gateway's WebSocket streams (live, and replayed from the log).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { PredictionFlatT } from '../schemas/messages.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { must } from '../actors/kernel/must.ts';
import { startTestAppInMemory, connectClient, collect, waitFor } from './helpers.ts';

// now: the synthetic store's coupons are valid around today (COUPON_VALIDITY=check)
const TS = Math.floor(Date.now() / 1000);

interface StreamMessage {
  ess_ordinal: number;
  message_type: string;
  message_body: Record<string, unknown>;
}

async function stream(gw: GatewayHandle, routing_key: string, query = '') {
  const res = await fetch(`http://127.0.0.1:${gw.apiPort}/event-stream/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ routing_key }),
  });
  assert.is(res.status, 201);
  const { id, location } = (await res.json()) as { id: string; location: string };
  const ws = new WebSocket(location + query);
  const messages: StreamMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
  await waitFor(() => gw.clients().get(id) === 1, 5000, 'the client registered');
  const closed = new Promise((ok) => ws.once('close', ok));
  return {
    messages,
    close: () => {
      ws.close();
      return closed;
    },
  };
}

test('moves over the broker → focus → prediction → the gateway streams, all on the in-memory log', async () => {
  const app = await startTestAppInMemory({ ROLES: 'detector,recommender,gateway', PREDICTION_THRESHOLD: '0', FOCUS_MIN_MOVES: '3' });
  const client = await connectClient();
  const gw = app.roles.get('gateway') as GatewayHandle;
  try {
    assert.ok(app.eventLog instanceof InMemoryEventLog);
    assert.not.ok('database' in app);
    const t = app.config.topics;
    const got = await collect(client, [t.focus, t.prediction]);
    const live = await stream(gw, 'prediction');
    await client.publishAsync(t.enter, JSON.stringify({ id: '1', ts: TS }), { qos: 1 });
    for (const [i, [x, y]] of [
      [900, 800],
      [905, 801],
      [910, 802],
    ].entries())
      await client.publishAsync(t.move, JSON.stringify({ id: '1', ts: TS + 1 + i, x, y }), { qos: 1 });
    const prediction = await waitFor(() => got.find((g) => g.topic === t.prediction), 10_000, 'a prediction');
    const focus = must(
      got.find((g) => g.topic === t.focus),
      'the focus',
    );
    assert.equal(focus.body, { id: '1', ts: TS + 3, dep: 'Men', x: 910, y: 802 });
    assert.is((prediction.body as PredictionFlatT).customer.id, '1');
    assert.is((prediction.body as PredictionFlatT).coupon.department, 'Men');
    // the log holds the inputs, the focus and the prediction it caused
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    const types = log.map((e) => e.type);
    assert.equal(types.slice(0, 5), ['entry', 'move', 'move', 'move', 'focus']);
    const logged = must(
      log.find((e) => e.type === 'prediction'),
      'the prediction logged',
    );
    // the gateway streamed it live, as logged
    await waitFor(() => live.messages.length === 1, 5000, 'the prediction streamed');
    assert.equal(
      live.messages.map((m) => [m.ess_ordinal, m.message_type, m.message_body.customer_id]),
      [[logged.position, 'prediction', '1']],
    );
    // and a client asking for history gets the focus replayed from the log (the detector's output, and the same focus
    // heard back as an input when the broker does not keep a client's own publications from it)
    const replayed = await stream(gw, 'focus', '?stream_from_ordinal=1');
    const logFocus = log.filter((e) => e.type === 'focus');
    assert.is(logFocus.length, app.pipeline.handOffLocally ? 1 : 2);
    await waitFor(() => replayed.messages.length >= logFocus.length, 5000, 'the focus replayed');
    assert.equal(
      replayed.messages.map((m) => [m.ess_ordinal, m.message_type, m.message_body.dep]),
      logFocus.map((e) => [e.position, 'focus', 'Men']),
    );
    await live.close();
    await replayed.close();
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
