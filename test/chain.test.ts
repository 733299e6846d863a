/**
 * The whole loop in one process, over a real broker: a simulated shopper dwells in Men (simulator →
 * move topic) → the detector announces a focus (focus topic) → the recommender publishes a Men coupon
 * (prediction topic). The original never closed this loop without an external rules engine.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import type { PredictionFlatT } from '../schemas/messages.ts';
import * as assert from 'uvu/assert';
import { startTestApp, connectClient, collect, waitFor } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';

test('a shopper who dwells in Men gets a Men coupon on the prediction topic', async () => {
  const app = await startTestApp({
    ROLES: 'recommender,detector,simulator',
    PREDICTION_THRESHOLD: '0',
    CUSTOMERS_AVERAGE_IN_STORE: '0',
    CONSUME_FREQUENCY: '0.05',
    CONSUME_BATCH_SIZE: '100',
  });
  const client = await connectClient();
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const t = app.config.topics;
    const got = await collect(client, [t.enter, t.move, t.exit, t.focus, t.prediction]);
    assert.is((await app.http.inject({ method: 'POST', url: '/simulator/start' })).statusCode, 200);
    const now = Math.floor(Date.now() / 1000);
    const path = [
      { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: now },
      { type: 'MOVE', location: { x: 900, y: 300 }, timestamp: now + 1 },
      { type: 'MOVE', location: { x: 800, y: 750 }, timestamp: now + 2 },
      { type: 'MOVE', location: { x: 803, y: 752 }, timestamp: now + 3 },
      { type: 'MOVE', location: { x: 806, y: 749 }, timestamp: now + 4 },
      { type: 'MOVE', location: { x: 1000, y: 300 }, timestamp: now + 5 },
      { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: now + 6 },
    ];
    const r = await app.http.inject({ method: 'POST', url: '/scenario?recalculate_time=true', payload: { customer: { customer_id: '1' }, path } });
    assert.is(r.statusCode, 200, r.body);
    const prediction = await waitFor(() => got.find((g) => g.topic === t.prediction), 20_000, 'a prediction');
    assert.is((prediction.body as PredictionFlatT).customer.id, '1');
    assert.is((prediction.body as PredictionFlatT).coupon.department, 'Men');
    const focus = must(
      got.find((g) => g.topic === t.focus),
      'got.find((g) => g.topic === t.focus)',
    );
    assert.equal([focus.body.id, focus.body.dep], ['1', 'Men']);
    await waitFor(() => got.some((g) => g.topic === t.exit), 10_000, 'the exit');
    // the test's client can hear the exit before storeflow has logged it: wait for the log
    await waitFor(async () => (await app.eventLog.read({ streamId: 'customer-1', types: ['exit'] })).length === 1, 10_000, 'the exit logged');
    // in the log: the simulator's inputs, the detector's focus (caused by the third move in Men), the prediction it
    // caused. The focus reaches the recommender by one path: handed over locally when the broker keeps the
    // process's own publications from it (MQTT 5 no-local), else back through the broker, logged as an input
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    const types = log.map((e) => e.type);
    const local = app.pipeline.handOffLocally;
    assert.equal(
      types.filter((x) => x !== 'move'),
      local ? ['entry', 'focus', 'prediction', 'exit'] : ['entry', 'focus', 'focus', 'prediction', 'exit'],
    );
    const [f, back] = log.filter((e) => e.type === 'focus');
    const p = must(
      log.find((e) => e.type === 'prediction'),
      'log.find((e) => e.type === "prediction")',
    );
    assert.is(f.metadata.cause, log.filter((e) => e.type === 'move')[3].messageId);
    assert.is(f.metadata.source, 'output');
    if (local) assert.is(p.messageId, `${f.messageId}:prediction`);
    else {
      assert.equal([back.metadata.source, back.data], ['mqtt', f.data]);
      assert.is(p.messageId, `${back.messageId}:prediction`);
    }
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
