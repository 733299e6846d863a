/** The dashboard's fold of stream messages (web/store-state.js), the same module the page runs. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STORE_PLAN } from '../actors/data/store-plan.ts';
// @ts-ignore plain browser JavaScript, no type declarations
import { createStore, apply, prune, counters, STALE_MS } from '../web/store-state.js';

const T = 1_750_000_000_000;
let ordinal = 0;
const msg = (type: string, body: unknown, t = T) => ({ ess_ordinal: ++ordinal, ess_timestamp: t, message_type: type, message_body: body });

test('a visit: entry at the entrance, moves, focus while in the department, exit removes the dot', () => {
  const s = createStore(STORE_PLAN);
  apply(s, msg('entry', { id: '7', ts: 1 }));
  assert.equal(s.shoppers.get('7'), { id: '7', x: 937, y: 50, state: 'walking', dep: null, seen: T });
  apply(s, msg('move', { id: '7', ts: 2, x: 900, y: 700 }));
  apply(s, msg('move', { id: '7', ts: 3, x: 915, y: 712 }));
  // the focus is logged after the move that completed it: its older position never moves the dot back
  apply(s, msg('focus', { id: '7', ts: 2, dep: 'Men', x: 900, y: 700 }));
  assert.equal([s.shoppers.get('7').x, s.shoppers.get('7').y, s.shoppers.get('7').state, s.shoppers.get('7').dep], [915, 712, 'focused', 'Men']);
  // a pump focus in a department the shopper is not in changes nothing on the plan
  apply(s, msg('focus', { id: '7', ts: 4, dep: 'Women' }));
  assert.is(s.shoppers.get('7').dep, 'Men');
  apply(s, msg('move', { id: '7', ts: 5, x: 1400, y: 300 }));
  assert.is(s.shoppers.get('7').state, 'walking');
  const changed = apply(s, msg('exit', { id: '7', ts: 6 }));
  assert.ok(changed.shoppers.has('7'));
  assert.is(s.shoppers.size, 0);
});

test('browsing raises an alert; helped clears the flag; a replayed or repeated ordinal is ignored', () => {
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
});

test('redemptions: counted today past the server\'s head, and the offer they answer is marked redeemed once', () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN, { head: 0, since: T - 1000, redemptionsToday: 4 });
  const coupon = { id: 3, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 };
  for (const id of ['5', '6']) {
    // shoppers on the plan, focused in Men, offered a Men coupon
    apply(s, msg('entry', { id, ts: 1 }));
    apply(s, msg('move', { id, ts: 2, x: 800, y: 750 }));
    apply(s, msg('focus', { id, ts: 3, dep: 'Men', x: 800, y: 750 }));
    apply(s, msg('prediction', { customer_id: id, ts: 3, score: 0.5, coupon }));
  }
  const changed = apply(s, msg('redemption', { id: '6', ts: 11, coupon_id: 3, amount: 12.5 }));
  assert.ok(changed.predictions);
  assert.equal(s.predictions.map((x: any) => [x.customer, !!x.redeemed]), [['6', true], ['5', false]]);
  apply(s, msg('redemption', { id: '9', ts: 12, coupon_id: 3, amount: 1 })); // an offer no longer listed: counted only
  assert.is(counters(s, T).redemptionsToday, 6);
});

test('predictions: newest first, counted today only past the server\'s head; rates and stale shoppers by log time', () => {
  ordinal = 0;
  const s = createStore(STORE_PLAN, { head: 2, since: T - 1000, predictionsToday: 1 });
  const p = (customer: string) => msg('prediction', { customer_id: customer, ts: 1, score: 0.5, coupon: { id: 3, type: 'buy_more', department: 'Men', discount: 25, how_many: 3, products_count: 1 } });
  apply(s, p('1')); apply(s, p('2')); // ordinals 1, 2: already in the server's count
  apply(s, p('3'));
  assert.equal(s.predictions.map((x: any) => x.customer), ['3', '2', '1']);
  assert.is(s.predictionsToday, 2);
  assert.is(counters(s, T).predictionsPerSecond, 3 / 5);
  assert.is(counters(s, T + 10_000).predictionsPerSecond, 0);
  apply(s, msg('move', { id: '9', ts: 1, x: 10, y: 10 }));
  assert.equal(prune(s, T + STALE_MS + 1), ['9']);
  assert.is(s.recentEvents.length, 0);
  // malformed bodies change nothing and break nothing
  for (const bad of [msg('move', { id: '5' }), msg('entry', {}), msg('browsing', null), { message_type: 'move' }]) apply(s, bad);
  assert.is(s.shoppers.size, 0);
});

test.run();
