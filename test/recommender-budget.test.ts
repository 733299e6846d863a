/**
 * DISCOUNT_BUDGET live (issue 34): once a day's offers have spent the budget, a focus whose coupon would overrun it
 * gets no coupon, logged with reason `discount_budget`; after a restart on the same log the day's budget is still
 * spent (read back from the logged predictions), the next day of event time starts afresh, and the log replays identically.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { dropSchema, startTestApp } from './helpers.ts';
import { SMALL_STORE, seedSmallStore } from './fixtures/small-store.ts';
import { replay } from '../adapters/engine/replay.ts';
import { toExported } from '../actors/kernel/event-log.ts';
import { loadCatalogue, loadCustomers } from '../adapters/edges/cache-store.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';

const TS = SMALL_STORE.ts;
type Decision = { type: string; reason?: string; coupon?: { id: number; discount: number } };

test('DISCOUNT_BUDGET 39: the second offer of the day is stopped, and stays stopped after a restart', async () => {
  // Men's valid coupons give 20, 35 and 25: any one fits in 39, no two do
  const first = await startTestApp({ ROLES: 'recommender', DISCOUNT_BUDGET: '39', PREDICTION_THRESHOLD: '0' });
  const focus = (app: typeof first, id: string, ts: number) => app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id, ts, dep: 'Men' } });
  const decisions = async (app: typeof first, customer: string) =>
    (await app.eventLog.read({ streamId: `customer-${customer}` }))
      .filter((e) => e.type === 'prediction' || e.type === 'no_prediction')
      .map((e) => ({ type: e.type, ...(e.data as { reason?: string; coupon?: { id: number; discount: number } }) }) as Decision);
  try {
    await seedSmallStore(first.database.db);
    await (first.roles.get('recommender') as RecommenderHandle).reload();
    const started = (await first.eventLog.read({ streamId: 'process' })).filter((e) => e.type === 'recommender_started');
    assert.equal((started[0].data as { settings: object }).settings, {
      maxCoupons: 5,
      threshold: 0,
      couponValidity: 'check',
      idleTimeoutS: 7200,
      discountBudget: 39,
    });
    await focus(first, '1', TS);
    await focus(first, '1', TS + 60);
    const before = await decisions(first, '1');
    assert.equal(
      before.map((d) => [d.type, d.reason]),
      [
        ['prediction', undefined],
        ['no_prediction', 'discount_budget'],
      ],
    );
    assert.ok(SMALL_STORE.menValid.includes(before[0].coupon?.id ?? 0));
    await first.stop();
    const second = await startTestApp({ ...first.env, ROLES: 'recommender' });
    try {
      await focus(second, '2', TS + 120);
      // the next UTC day of event time has its own budget
      await focus(second, '2', TS + 86_400);
      assert.equal(
        (await decisions(second, '2')).map((d) => [d.type, d.reason]),
        [
          ['no_prediction', 'discount_budget'],
          ['prediction', undefined],
        ],
      );
      // the log replays to the same decisions: the budget comes from the start records, the spending from the decisions
      const db = second.database.db;
      const r = await replay((await second.eventLog.read()).map(toExported), {
        catalogue: await loadCatalogue(db),
        customers: await loadCustomers(db),
        scorer: loadCouponModel(),
        settings: { maxCoupons: 5, threshold: 0.2, couponValidity: 'check', idleTimeoutS: 7200 },
      });
      assert.equal(
        { identical: r.identical, different: r.different, missing: r.missing, extra: r.extra },
        { identical: 4, different: 0, missing: 0, extra: 0 },
      );
    } finally {
      await second.stop();
    }
  } finally {
    await dropSchema(first.config.databaseSchema);
  }
});

test.run();
