/**
 * A role's output reaches another role of the same process exactly once, by one path: the detector's
 * focus goes to the recommender locally, and the process never consumes the broker's copy of its own
 * publication (the embedded broker keeps the pipeline client's publications from it, as MQTT 5's
 * no-local does). So an identical focus from an outside publisher, at the same moment, is an input
 * like any other and is decided.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { startTestApp, waitFor, sleep } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { PredictionFlatT } from '../schemas/messages.ts';

const T = SMALL_STORE.ts;

test("the detector's focus is decided once, locally; an identical focus from outside at the same moment is decided too", async () => {
  // MQTT_URL empty: storeflow starts its own embedded broker
  const app = await startTestApp({ ROLES: 'recommender,detector', PREDICTION_THRESHOLD: '0', MQTT_URL: '', MQTT_PORT: '0' });
  const client = await mqtt.connectAsync(app.infrastructure.brokerUrls[0], { clientId: 'outside', protocolVersion: 4, reconnectPeriod: 0 });
  try {
    assert.ok(app.pipeline.handOffLocally, 'the embedded broker offers no-local to the pipeline');
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const predictions: PredictionFlatT[] = [];
    client.on('message', (topic, payload) => {
      if (topic === app.config.topics.prediction) predictions.push(JSON.parse(payload.toString()));
    });
    await client.subscribeAsync(app.config.topics.prediction, { qos: 1 });
    const t = app.config.topics;
    await client.publishAsync(t.enter, JSON.stringify({ id: '1', ts: T }), { qos: 1 });
    const moves = [
      [700, 700],
      [705, 702],
      [710, 700],
    ];
    for (const [i, [x, y]] of moves.entries()) await client.publishAsync(t.move, JSON.stringify({ id: '1', ts: T + 1 + i, x, y }), { qos: 1 });
    // the focus the third move causes, as the detector publishes it, and the same text from outside
    const focus = JSON.stringify({ id: '1', ts: T + 3, dep: 'Men', x: 710, y: 700 });
    await client.publishAsync(t.focus, focus, { qos: 1 });
    const decisions = await waitFor(
      async () => {
        const d = await app.eventLog.read({ types: ['prediction', 'no_prediction'] });
        return d.length >= 2 ? d : null;
      },
      10_000,
      'two decisions',
    );
    await sleep(500);
    const log = await app.eventLog.read({ streamId: 'customer-1' });
    const focuses = log.filter((e) => e.type === 'focus');
    const sources = focuses.map((e) => [e.metadata.source, e.data]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.equal(
      sources,
      [
        ['mqtt', JSON.parse(focus)],
        ['output', JSON.parse(focus)],
      ],
      "the detector's focus (an output) and the outside one (an input), each logged once",
    );
    // one decision per focus, each caused by its own focus
    assert.equal(decisions.map((d) => d.metadata.cause).sort(), focuses.map((f) => f.messageId).sort());
    assert.equal((await app.eventLog.read({ types: ['prediction', 'no_prediction'] })).length, 2, 'nothing decided twice');
    await waitFor(() => predictions.length >= 2, 5000, 'both predictions published');
    assert.is(new Set(predictions.map((p) => p.coupon.id)).size, 2, 'two different coupons in one visit');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
