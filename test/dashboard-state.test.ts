/** The dashboard's fold of stream messages (web/store-state.js and its pure helpers), the same modules the page runs. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STORE_PLAN } from '../actors/data/store-plan.ts';
// @ts-expect-error plain browser JavaScript, no type declarations
import { createStore, apply, prune, counters, STALE_MS } from '../web/store-state.js';
// @ts-expect-error
import { windowBins, totals, heatOver, minutesWithData, BIN_MS, WINDOW_BINS } from '../web/series.js';
// @ts-expect-error
import { placeName, duration } from '../web/words.js';
// @ts-expect-error
import { parseHistogram, quantile, createLatency, addSnapshot, windowFigures, observedBetween } from '../web/metrics-text.js';

const T = 1_750_000_000_000;
let ordinal = 0;
const msg = (type: string, body: unknown, t = T, extra: object = {}) => ({
  ess_ordinal: ++ordinal,
  ess_timestamp: t,
  message_type: type,
  message_body: body,
  ...extra,
});

test('a visit: entry at the entrance, moves, focus while in the department, exit removes the dot', () => {
  const s = createStore(STORE_PLAN);
  apply(s, msg('entry', { id: '7', ts: 1 }));
  assert.equal(s.shoppers.get('7'), { id: '7', x: 937, y: 50, state: 'walking', dep: null, seen: T, at: T });
  apply(s, msg('move', { id: '7', ts: 2, x: 900, y: 700 }));
  apply(s, msg('move', { id: '7', ts: 3, x: 915, y: 712 }));
  // the focus is logged after the move that completed it: its older position never moves the dot back
  apply(s, msg('focus', { id: '7', ts: 2, dep: 'Men', x: 900, y: 700 }));
  assert.equal([s.shoppers.get('7').x, s.shoppers.get('7').y, s.shoppers.get('7').state, s.shoppers.get('7').dep], [915, 712, 'focused', 'Men']);
  // a pump focus in a department the shopper is not in changes nothing on the plan: it is load
  apply(s, msg('focus', { id: '7', ts: 4, dep: 'Women' }));
  assert.is(s.shoppers.get('7').dep, 'Men');
  apply(s, msg('move', { id: '7', ts: 5, x: 1400, y: 300 }));
  assert.is(s.shoppers.get('7').state, 'walking');
  const changed = apply(s, msg('exit', { id: '7', ts: 6 }));
  assert.ok(changed.shoppers.has('7'));
  assert.is(s.shoppers.size, 0);
  const c = counters(s, T);
  assert.equal([c.focus, c.loadFocus], [1, 1]);
});

test('browsing raises an alert for a shopper on the plan only; helped clears the flag; a replayed or repeated ordinal is ignored', () => {
  const s = createStore(STORE_PLAN);
  apply(s, msg('move', { id: '8', ts: 1, x: 300, y: 250 }));
  const b = msg('browsing', { id: '8', ts: 1, x: 300, y: 250 });
  apply(s, b);
  assert.is(s.shoppers.get('8').state, 'browsing');
  assert.equal([...s.alerts.keys()], ['8']);
  assert.is(counters(s, T).openAlerts, 1);
  assert.is(apply(s, b), null);
  assert.is(s.duplicates, 1);
  apply(s, msg('helped', { id: '8', ts: 2 }));
  assert.is(s.alerts.get('8').helped, true);
  assert.is(s.shoppers.get('8').state, 'walking');
  assert.is(counters(s, T).openAlerts, 0);
  apply(s, msg('browsing', { id: '404', ts: 3 })); // no position, never seen: no one in this store
  assert.equal([...s.alerts.keys()], ['8']);
});

test("the pump apart from the store: a decision is a coupon card only when its focus was a shopper's", () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN);
  const coupon = { id: 3, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 };
  apply(s, msg('entry', { id: '1', ts: 1 }));
  apply(s, msg('move', { id: '1', ts: 2, x: 900, y: 700 }));
  apply(s, msg('focus', { id: '1', ts: 2, dep: 'Men', x: 900, y: 700 }, T, { message_id: 'm2:focus' }));
  apply(s, msg('focus', { id: '417', ts: 3, dep: 'Boys' }, T + 100, { message_id: 'pump-1' })); // the pump: someone not in the store
  apply(s, msg('focus', { id: '1', ts: 3, dep: 'Girls' }, T + 200, { message_id: 'pump-2' })); // the pump, for a shopper elsewhere
  apply(s, msg('prediction', { customer_id: '417', ts: 3, score: 0.5, coupon }, T + 300, { metadata: { cause: 'pump-1' } }));
  apply(s, msg('prediction', { customer_id: '1', ts: 3, score: 0.5, coupon }, T + 400, { metadata: { cause: 'pump-2' } }));
  apply(s, msg('no_prediction', { customer_id: '417', ts: 3, reason: 'below_threshold' }, T + 500, { metadata: { cause: 'pump-1' } }));
  assert.equal(s.predictions, []);
  apply(s, msg('prediction', { customer_id: '1', ts: 2, score: 0.5, coupon }, T + 600, { metadata: { cause: 'm2:focus' } }));
  apply(s, msg('no_prediction', { customer_id: '1', ts: 2, reason: 'all_offered' }, T + 700, { metadata: { cause: 'm2:focus' } }));
  assert.equal(
    s.predictions.map((p: { customer: string }) => p.customer),
    ['1'],
  );
  const c = counters(s, T + 1000);
  assert.equal([c.offers, c.declined, c.focus, c.loadFocus, c.loadOffers, c.loadDeclined, c.byReason], [1, 1, 1, 2, 2, 1, { all_offered: 1 }]);
  assert.is(c.loadPerSecond, 2 / 10);
  assert.is(counters(s, T + 20_000).loadPerSecond, 0);
  prune(s, T + 20_000);
  assert.is(s.loadTimes.length, 0);
});

test("redemptions: counted today past the server's head, and the offer they answer is marked redeemed once", () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN, { head: 1, since: T - 1000, redemptionsToday: 4 });
  const coupon = { id: 3, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 };
  for (const id of ['5', '6']) apply(s, msg('move', { id, ts: 1, x: 900, y: 700 }));
  for (const id of ['5', '6']) apply(s, msg('focus', { id, ts: 1, dep: 'Men', x: 900, y: 700 }, T, { message_id: `f${id}` }));
  apply(s, msg('prediction', { customer_id: '5', ts: 10, score: 0.5, coupon }, T, { metadata: { cause: 'f5' } }));
  apply(s, msg('prediction', { customer_id: '6', ts: 11, score: 0.5, coupon }, T, { metadata: { cause: 'f6' } }));
  const changed = apply(s, msg('redemption', { id: '6', ts: 11, coupon_id: 3, amount: 12.5 }));
  assert.ok(changed.predictions);
  assert.equal(
    s.predictions.map((x: { customer: string; redeemed?: unknown }) => [x.customer, !!x.redeemed]),
    [
      ['6', true],
      ['5', false],
    ],
  );
  apply(s, msg('redemption', { id: '9', ts: 12, coupon_id: 3, amount: 1 })); // an offer no longer listed: counted only
  assert.is(counters(s, T).redemptionsToday, 6);
});

test("the charts' minutes: counts by minute of log time, shoppers in store carried on, dwell per cell, the 15-minute window", () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN);
  const t0 = Math.floor(T / BIN_MS) * BIN_MS;
  apply(s, msg('move', { id: '1', ts: 1, x: 510, y: 510 }, t0));
  apply(s, msg('move', { id: '1', ts: 2, x: 520, y: 520 }, t0 + 30_000)); // 30 s at (510, 510)
  apply(s, msg('focus', { id: '1', ts: 2, dep: 'Women', x: 520, y: 520 }, t0 + 30_000));
  apply(s, msg('move', { id: '2', ts: 3, x: 100, y: 100 }, t0 + 2 * BIN_MS));
  const bins = windowBins(s.series, t0 + 3 * BIN_MS);
  assert.is(bins.length, 15);
  assert.equal(
    bins.slice(-4).map((b: { inStore?: number }) => [b.inStore, totals([b]).focus]),
    [
      [1, 1],
      [1, 0],
      [2, 0],
      [2, 0],
    ],
  );
  assert.equal([...heatOver(bins)], [['10,10', 30_000]]);
  // minutes before the fold started have no data
  assert.equal(
    bins.slice(0, 11).map((b: { covered: boolean }) => b.covered),
    Array(11).fill(false),
  );
  prune(s, t0 + 20 * BIN_MS);
  assert.equal(
    windowBins(s.series, t0 + 20 * BIN_MS)
      .map((b: { inStore?: number }) => b.inStore)
      .filter((x: number | undefined) => x !== undefined).length,
    15,
  );
  assert.is(s.series.bins.size <= 15, true);
});

test('"a minute" is over the minutes with data: a store open 4 minutes divides by 4, one open all day by the window, said so', () => {
  ordinal = 0;
  const t0 = Math.floor(T / BIN_MS) * BIN_MS + 20_000;
  const coupon = { id: 3, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 };
  /** A shopper entering at `at` and offered a coupon 10 s later. */
  const visit = (s: ReturnType<typeof createStore>, id: string, at: number) => {
    apply(s, msg('move', { id, ts: 1, x: 900, y: 700 }, at));
    apply(s, msg('focus', { id, ts: 1, dep: 'Men', x: 900, y: 700 }, at, { message_id: `f${id}-${at}` }));
    apply(s, msg('prediction', { customer_id: id, ts: 2, score: 0.5, coupon }, at + 10_000, { metadata: { cause: `f${id}-${at}` } }));
  };
  // opened at t0, 12 offers in its first 4 minutes: 3 a minute, not 12 / 15 = 0.8
  const s = createStore(STORE_PLAN);
  for (let i = 0; i < 12; i++) visit(s, String(i), t0 + i * 20_000);
  const now = t0 + 4 * BIN_MS;
  prune(s, now);
  const c = counters(s, now);
  assert.equal([c.offers, c.minutes, c.offersPerMinute], [12, 4, 3]);
  assert.is(counters(s, t0 + 150_000).minutes, 2.5); // a tenth of a minute: the figure the page shows is the one it divides by
  assert.is(counters(s, t0 + 5_000).minutes, 1); // the first seconds: over a minute, not a burst over 5 s
  // the store runs on past the window: the whole window
  for (let m = 4; m < 20; m++) visit(s, `late${m}`, t0 + m * BIN_MS);
  const later = t0 + 20 * BIN_MS;
  prune(s, later);
  const all = counters(s, later);
  assert.equal([all.minutes, all.offersPerMinute], [WINDOW_BINS, all.offers / WINDOW_BINS]);
  // quiet for 16 minutes, then open again for 3: the window's data start 3 minutes ago
  const again = later + 16 * BIN_MS;
  for (let m = 0; m < 3; m++) visit(s, `again${m}`, again + m * BIN_MS);
  const end = again + 3 * BIN_MS;
  for (let t = later; t <= end; t += 5_000) prune(s, t); // the page prunes every second
  assert.is(counters(s, end).minutes, 3);
  assert.is(minutesWithData(s.series, end), 3);
  // a page opened on a busy store replays its last 15 minutes: events before the window's first minute
  const fresh = createStore(STORE_PLAN);
  for (let m = 0; m <= 15; m++) visit(fresh, `r${m}`, end - 15 * BIN_MS + m * BIN_MS);
  assert.is(counters(fresh, end + 11_000).minutes, WINDOW_BINS);
});

test('shoppers with no event for STALE_MS are dropped with their alerts; malformed bodies change nothing', () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN);
  apply(s, msg('move', { id: '9', ts: 1, x: 10, y: 10 }));
  assert.equal(prune(s, T + STALE_MS + 1), ['9']);
  for (const bad of [msg('move', { id: '5' }), msg('entry', {}), msg('browsing', null), { message_type: 'move' }, msg('prediction', null)]) apply(s, bad);
  assert.is(s.shoppers.size, 0);
});

test('words: places, waiting times', () => {
  assert.equal(
    [
      [500, 600],
      [937, 60],
      [1071, 80],
      [400, 600],
      [1400, 300],
      [900, 200],
      [100, 1200],
    ].map(([x, y]) => placeName(STORE_PLAN, x, y)),
    ['Women', 'by the entrance', 'by the exit', 'aisle by Women', 'aisle by Girls', 'front of the store', 'left side of the store'],
  );
  assert.equal([0, 59_999, 120_000, 3_900_000].map(duration), ['0 s', '59 s', '2 min', '1 h 5 min']);
});

test('decision latency as /metrics has it: histogram_quantile, windows from snapshots', () => {
  const text = (n: number[]) =>
    `# HELP x\nprocess_start_time_seconds 1000\n${[0.001, 0.01, 0.1, '+Inf'].map((le, i) => `storeflow_focus_to_prediction_seconds_bucket{le="${le}"} ${n[i]}`).join('\n')}\nstoreflow_focus_to_prediction_seconds_sum 1\nstoreflow_focus_to_prediction_seconds_count ${n[3]}\n`;
  const h = parseHistogram(text([10, 60, 100, 100]), 'storeflow_focus_to_prediction_seconds');
  assert.equal(
    h.buckets.map((b: number[]) => b[1]),
    [10, 60, 100, 100],
  );
  assert.is(quantile(0.05, h), 0.0005); // within the first bucket, from 0
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≈ ${b}`);
  near(quantile(0.5, h), 0.001 + 0.009 * (40 / 50));
  near(quantile(0.99, h), 0.01 + 0.09 * (39 / 40));
  assert.is(quantile(0.5, parseHistogram(text([0, 0, 0, 5]), 'storeflow_focus_to_prediction_seconds')), 0.1); // +Inf: the largest bound
  assert.is(quantile(0.5, { buckets: [[1, 0]], count: 0, sum: 0 }), undefined);
  // the process started at 1000 s: a window reaching back past it needs no older snapshot
  const lat = createLatency();
  addSnapshot(lat, 1_010_000, text([10, 60, 100, 100]));
  assert.equal(windowFigures(lat, 1_010_000, 900_000), { count: 100, p50: quantile(0.5, h), p99: quantile(0.99, h), partial: false });
  addSnapshot(lat, 1_070_000, text([10, 60, 150, 150]));
  assert.is(observedBetween(lat, 1_010_000, 1_070_000).count, 50);
  near(quantile(0.5, observedBetween(lat, 1_010_000, 1_070_000)), 0.01 + 0.09 * 0.5);
});

test.run();
