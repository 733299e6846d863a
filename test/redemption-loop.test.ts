/**
 * Shoppers use the coupons they are offered (issue 23), over a real broker: predictions for a
 * simulated shopper in the store (flat, and an envelope whose coupon the simulator looks up) → the
 * simulator redeems by the shopper's preferences → the redemption topic → the recommender's pipeline
 * logs it in the customer's stream. Offers are chosen (by the same pure function) so that some are
 * redeemed and some declined, whoever the shopper is: the whole expected output is stated.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { startTestApp, connectClient, collect, waitFor } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import { defaultCustomers } from '../adapters/simulator/simulation.ts';
import { loadCatalogue } from '../adapters/edges/cache-store.ts';
import { shopperRedemption, type PublishedOffer, type RedemptionPayload } from '../actors/simulator/redemption.ts';
import type { SimulatorHandle } from '../adapters/simulator/index.ts';

test('predictions for a shopper in the store → redemptions by their preferences, published and logged', async () => {
  const app = await startTestApp({
    ROLES: 'recommender,simulator',
    CUSTOMERS_AVERAGE_IN_STORE: '6',
    SIM_SPEED: '20',
    CONSUME_FREQUENCY: '0.05',
    CONSUME_BATCH_SIZE: '1000',
  });
  const client = await connectClient();
  try {
    await seedSmallStore(app.database.db);
    const t = app.config.topics;
    const got = await collect<RedemptionPayload>(client, [t.redemption]);
    const simulator = app.roles.get('simulator') as SimulatorHandle;
    assert.is(simulator.customerSource, 'default');
    simulator.startSimulation();
    const sim = must(simulator.simulation(), 'the simulation');
    const id = await waitFor(() => sim.registry.ids()[0], 20_000, 'a shopper inside');
    simulator.stopSimulation(); // paused: the shopper keeps their place while the offers arrive
    const shopper = must(
      defaultCustomers(app.config.seed).find((c) => c.customerId === id),
      `shopper ${id}`,
    );

    // flat offers: the first three redeemed and the first two declined, by the outcome the seed gives
    const coupon = (n: number): PublishedOffer => ({
      id: n,
      type: 'just_discount',
      department: 'Women',
      discount: 50,
      how_many: 1,
      products: [{ category: 'Dress', buy_price: 4 }],
    });
    const outcome = (ts: number, c: PublishedOffer) => shopperRedemption(app.config.seed, shopper, { ts, coupon: c }).redemption;
    const redeemed: number[] = [],
      declined: number[] = [];
    for (let ts = 1780000000; redeemed.length < 3 || declined.length < 2; ts++) {
      const list = outcome(ts, coupon((ts % 7) + 1)) ? redeemed : declined;
      if (list.length < (list === redeemed ? 3 : 2)) list.push(ts);
    }
    // an envelope offer (its coupon looked up in the catalogue): one that is redeemed
    const entry = JSON.parse(must((await loadCatalogue(app.database.db)).get(1), 'coupon 1').json) as PublishedOffer;
    let envelopeTs = 1780000000;
    while (!outcome(envelopeTs, entry)) envelopeTs++;

    for (const ts of [...redeemed, ...declined].sort())
      await client.publishAsync(t.prediction, JSON.stringify({ customer: { id }, coupon: coupon((ts % 7) + 1), ts }), { qos: 1 });
    await client.publishAsync(
      t.prediction,
      JSON.stringify({
        event_type: 'prediction result',
        event_timestamp: new Date(envelopeTs * 1000).toISOString(),
        payload: { customer_id: Number(id), coupon_id: 1, prediction: 0.5 },
      }),
      { qos: 1 },
    );
    await client.publishAsync(t.prediction, JSON.stringify({ customer: { id: 'not-inside' }, coupon: coupon(1), ts: 1780000000 }), { qos: 1 });

    const expected: RedemptionPayload[] = [
      ...redeemed.sort().map((ts) => must(outcome(ts, coupon((ts % 7) + 1)), `the outcome at ${ts}`)),
      must(outcome(envelopeTs, entry), 'the envelope outcome'),
    ];
    const byTime = (a: RedemptionPayload, b: RedemptionPayload) => a.ts - b.ts || a.coupon_id - b.coupon_id;
    await waitFor(() => got.length >= expected.length, 10_000, 'the redemptions on their topic');
    const metrics = async () => (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
    await waitFor(async () => /storeflow_simulator_offers_total\{outcome="not_in_store"\} 1/.test(await metrics()), 10_000, 'every offer considered');
    assert.equal(got.map((g) => g.body).sort(byTime), [...expected].sort(byTime));
    assert.ok(expected.every((r) => r.id === id && r.amount > 0));
    const m = await metrics();
    assert.match(m, new RegExp(`storeflow_simulator_offers_total\\{outcome="redeemed"\\} ${expected.length}`));
    assert.match(m, /storeflow_simulator_offers_total\{outcome="declined"\} 2/);

    // in the customer's log stream, as inputs from MQTT
    const logged = await waitFor(
      async () => {
        const rs = await app.eventLog.read({ streamId: `customer-${id}`, types: ['redemption'] });
        return rs.length === expected.length ? rs : undefined;
      },
      10_000,
      'the redemptions logged',
    );
    assert.equal(logged.map((e) => e.data as RedemptionPayload).sort(byTime), [...expected].sort(byTime));
    assert.ok(logged.every((e) => e.metadata.source === 'mqtt' && e.metadata.topic === t.redemption));
    assert.match(await metrics(), new RegExp(`storeflow_redemptions_total ${expected.length}`));
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
