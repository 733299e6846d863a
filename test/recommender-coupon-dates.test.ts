/**
 * Coupon dates explain themselves (issue 19.2): the original data set's coupons are of 2010–2013 and
 * the original never filtered by date; storeflow still checks dates by default, and says so: a focus
 * whose department has coupons but none valid at its time gets `no_valid_coupons` with the window and
 * a hint (log record and mock endpoint answer); at start and on /reload, one warning when no coupon is
 * valid within 30 days of now.
 */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { sql } from '../adapters/edges/database.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { COUPON_VALIDITY_HINT, couponDatesWarning } from '../actors/recommender/coupon-validity.ts';
import { scoreFocus } from '../actors/recommender/score-focus.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../actors/data/store-data.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { startTestApp, type TestApp } from './helpers.ts';
import { SMALL_STORE, seedSmallStore } from './fixtures/small-store.ts';

const coupons: CouponInfo[] = SMALL_STORE.coupons.map(
  (c) =>
    ({
      coupon_id: c[0],
      coupon_type: c[1],
      department: c[2],
      discount: c[3],
      how_many_products_required: c[4],
      start_date: c[5],
      end_date: c[6],
      product_mean_price: c[7],
      products_available: c[8],
    }) as CouponInfo,
);
const old = (c: CouponInfo): CouponInfo => ({ ...c, start_date: '2010-01-01', end_date: '2013-01-01' });
const everyone: CouponScorer = { score: (_c, list) => list.map(() => 0.9) } as CouponScorer;
const customer = { customer_id: 1 } as CustomerInfo;
const SEED_TS = 192322800; // seed 002's example ts (1976)
const NOW = Date.UTC(2026, 10, 24);

const pure = suite('no_valid_coupons and the start-up warning, as functions');

pure('a department with coupons, none valid at the event: no_valid_coupons; a department without coupons: no_coupons; ignore: any date', () => {
  const catalogue = new CouponCatalogue(coupons.map(old), [], []);
  const s = { maxCoupons: 5, threshold: 0.2, couponValidity: 'check' as const };
  const focus = (dep: 'Men' | 'Sport', ts: number) => scoreFocus(catalogue, everyone, s, { customer, focus: { inputId: 'i', ts, dep }, offered: [] });
  assert.equal(
    [focus('Men', SEED_TS), focus('Men', NOW / 1000), focus('Sport', SEED_TS), focus('Men', Date.UTC(2011, 5, 1) / 1000)],
    [{ reason: 'no_valid_coupons' }, { reason: 'no_valid_coupons' }, { reason: 'no_coupons' }, { couponId: 1, score: 0.9, policy: 'model', propensity: 1 }],
  );
  assert.equal(
    scoreFocus(catalogue, everyone, { ...s, couponValidity: 'ignore' }, { customer, focus: { inputId: 'i', ts: SEED_TS, dep: 'Men' }, offered: [] }),
    { couponId: 1, score: 0.9, policy: 'model', propensity: 1 },
  );
  assert.equal(catalogue.validity('Men'), { from: '2010-01-01', to: '2013-01-01' });
  assert.is(catalogue.validity('Sport'), undefined);
});

pure('the warning: only when no coupon is valid within 30 days of now, dates are checked, and coupons are loaded', () => {
  const stale = new CouponCatalogue(coupons.map(old), [], []);
  assert.equal(couponDatesWarning(stale, 'check', NOW), {
    window: { from: '2010-01-01', to: '2013-01-01' },
    message:
      'no loaded coupon is valid within 30 days of now (the coupons are valid from 2010-01-01 to 2013-01-01): live focus events will get no prediction (no_valid_coupons). Set COUPON_VALIDITY=ignore to offer coupons whatever their dates (as the original did), or load coupons for today',
  });
  assert.is(couponDatesWarning(stale, 'ignore', NOW), undefined);
  assert.is(couponDatesWarning(new CouponCatalogue([], [], []), 'check', NOW), undefined);
  const soon = new CouponCatalogue([...coupons.map(old), { ...coupons[0], coupon_id: 9, start_date: '2026-12-20', end_date: '2026-12-31' }], [], []);
  assert.is(couponDatesWarning(soon, 'check', NOW), undefined, 'a coupon valid in 26 days');
  const lately = new CouponCatalogue([...coupons.map(old), { ...coupons[0], coupon_id: 9, start_date: '2026-10-01', end_date: '2026-10-30' }], [], []);
  assert.is(couponDatesWarning(lately, 'check', NOW), undefined, 'a coupon valid 25 days ago');
  const far = new CouponCatalogue([...coupons.map(old), { ...coupons[0], coupon_id: 9, start_date: '2027-01-01', end_date: '2027-01-31' }], [], []);
  assert.ok(couponDatesWarning(far, 'check', NOW), 'a coupon valid in 38 days only');
});

const live = suite('no_valid_coupons end to end');
let app: TestApp;
const warnings = (a: TestApp) =>
  a
    .entries()
    .filter((e) => e.COUPON_VALIDITY !== undefined)
    .map((e) => ({ level: e.level, role: e.role, COUPON_VALIDITY: e.COUPON_VALIDITY, couponValidity: e.couponValidity, msg: e.msg }));
const WARNING = (from: string, to: string) => ({
  level: 40,
  role: 'recommender',
  COUPON_VALIDITY: 'check',
  couponValidity: { from, to },
  msg: `no loaded coupon is valid within 30 days of now (the coupons are valid from ${from} to ${to}): live focus events will get no prediction (no_valid_coupons). Set COUPON_VALIDITY=ignore to offer coupons whatever their dates (as the original did), or load coupons for today`,
});

live.before(async () => {
  app = await startTestApp({ ROLES: 'recommender' });
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
});
live.after(async () => {
  await app?.close();
});

live(
  "the seed's example ts against coupons of other years: no_valid_coupons with the window and the hint, in the log and in /mock_focus's answer",
  async () => {
    assert.equal(warnings(app), [], 'coupons valid now: no warning');
    const r = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: SEED_TS, dep: 'Men' } });
    const detail = { coupon_validity: { from: '2010-01-01', to: '2030-12-31' }, hint: COUPON_VALIDITY_HINT };
    assert.equal(r.json(), { predictions: [], reason: 'no_valid_coupons', ...detail });
    const none = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: SEED_TS + 60, dep: 'Sport' } });
    assert.equal(none.json(), { predictions: [], reason: 'no_coupons' });
    const logged = (await app.eventLog.read({ streamId: 'customer-1' })).filter((e) => e.type === 'no_prediction').map((e) => e.data);
    assert.equal(logged, [
      { v: 2, policy: 'model', propensity: 1, customer_id: '1', ts: SEED_TS, dep: 'Men', reason: 'no_valid_coupons', ...detail },
      { v: 2, policy: 'model', propensity: 1, customer_id: '1', ts: SEED_TS + 60, dep: 'Sport', reason: 'no_coupons' },
    ]);
  },
);

live('coupons all of 2010–2013 (the original data set): one warning on /reload and one at start, naming COUPON_VALIDITY and the window', async () => {
  await app.database.db.query(sql`UPDATE coupon_info SET start_date = '2010-01-01', end_date = '2013-01-01'`);
  assert.is((await app.http.inject({ method: 'POST', url: '/reload' })).statusCode, 200);
  assert.equal(warnings(app), [WARNING('2010-01-01', '2013-01-01')]);
  // a second process on the same tables warns once at start
  const again = await startTestApp({ ROLES: 'recommender', DATABASE_SCHEMA: must(app.env.DATABASE_SCHEMA, 'app.env.DATABASE_SCHEMA') });
  try {
    assert.equal(warnings(again), [WARNING('2010-01-01', '2013-01-01')]);
  } finally {
    await again.stop();
  }
  const ignoring = await startTestApp({
    ROLES: 'recommender',
    DATABASE_SCHEMA: must(app.env.DATABASE_SCHEMA, 'app.env.DATABASE_SCHEMA'),
    COUPON_VALIDITY: 'ignore',
  });
  try {
    assert.equal(warnings(ignoring), [], 'COUPON_VALIDITY=ignore: dates do not matter');
  } finally {
    await ignoring.stop();
  }
});

pure.run();
live.run();
