// The dashboard's model of the store, folded from the gateway's stream messages
// ({ess_ordinal, ess_timestamp, message_type, message_body, message_id, metadata}). Pure: no DOM, no
// clock of its own, so the page and a Node test fold the same way.
//
// Who is in the store is what the page saw enter (or move): the shoppers on the plan. A focus about
// someone not on the plan (the focus pump of seed 000 draws random ids and knows no positions) is
// load, not a shopper: it is counted (a counter, a rate, a chart), and the decision it causes is
// never shown as a coupon card or an alert.
import { departmentAt } from './words.js';
import { createSeries, record, sampleInStore, addDwell, pruneSeries, windowBins, totals, touch, minutesWithData } from './series.js';

export { departmentAt };
export const MAX_PREDICTIONS = 12;
export const MAX_ALERTS = 30;
/** Shoppers with no event for this long (ms, by log time) are dropped: a lost exit must not leave a ghost. */
export const STALE_MS = 5 * 60_000;
/** The load's rate is counted over this window (ms, by log time). */
export const RATE_WINDOW_MS = 10_000;
/** Focus ids remembered to tell a decision for a shopper from one for load. */
const MAX_FOCUS_IDS = 5000;

/** @typedef {'walking' | 'focused' | 'browsing'} ShopperState */

/** `head`: the log's head when the page opened; `since`: the start of today (ms); `redemptionsToday`: the server's count up to `head`. */
export function createStore(plan, { head = 0, since = 0, redemptionsToday = 0 } = {}) {
  return {
    plan,
    /** @type {Map<string, {id: string, x: number, y: number, state: ShopperState, dep: string | null, seen: number, at: number}>} */
    shoppers: new Map(),
    /** coupon cards: decisions for shoppers on the plan, newest first */
    predictions: [],
    /** @type {Map<string, {id: string, x: number, y: number, dep: string | null, ts: number, ordinal: number, time: number, helped: boolean}>} */
    alerts: new Map(),
    /** events up to `head` were in the log when the page opened (and counted by the server) */
    head,
    since,
    redemptionsToday,
    lastOrdinal: 0,
    duplicates: 0,
    /** focus id → whether it was a shopper's (true) or load (false) */
    focusKinds: new Map(),
    /** the pump's load as the page saw it: log times of recent load focus events (for the rate) */
    loadTimes: [],
    series: createSeries(),
    latestTime: 0,
  };
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function remember(store, key, isStore) {
  store.focusKinds.set(key, isStore);
  if (store.focusKinds.size > MAX_FOCUS_IDS) store.focusKinds.delete(store.focusKinds.keys().next().value);
}

/** A decision (prediction or no_prediction) is a shopper's when its focus was; without the focus at hand, when its customer is focused on the plan. */
function decidedForShopper(store, msg, customer) {
  const cause = msg.metadata?.cause;
  const known = cause === undefined ? undefined : store.focusKinds.get(String(cause));
  if (known !== undefined) return known;
  return store.shoppers.get(customer)?.state === 'focused';
}

/**
 * Folds one message into the store. Returns what changed: `shoppers` (ids), `predictions`, `alerts`,
 * `series`, or null for a message already seen (ordinals only go up: a resumed stream never double counts).
 */
export function apply(store, msg) {
  const ordinal = msg.ess_ordinal;
  if (typeof ordinal !== 'number' || ordinal <= store.lastOrdinal) {
    store.duplicates++;
    return null;
  }
  store.lastOrdinal = ordinal;
  const t = typeof msg.ess_timestamp === 'number' ? msg.ess_timestamp : store.latestTime;
  if (t > store.latestTime) store.latestTime = t;
  if (store.series.since === undefined) store.series.since = t;
  const body = msg.message_body ?? {};
  const changed = { shoppers: new Set(), predictions: false, alerts: false, series: false };
  const id = body.id == null ? undefined : String(body.id);
  const x = num(body.x),
    y = num(body.y);
  const shopper = id === undefined ? undefined : store.shoppers.get(id);
  // focus and browsing are logged after the move that completed them: their x, y is where it was
  // detected, not where the shopper is now, so they never move a dot back

  switch (msg.message_type) {
    case 'entry': {
      if (id === undefined) break;
      const s = shopper ?? { id, x: store.plan.entrance.x, y: store.plan.entrance.y, state: 'walking', dep: null, seen: t, at: t };
      if (!shopper) store.shoppers.set(id, s);
      s.x = store.plan.entrance.x;
      s.y = store.plan.entrance.y;
      s.state = 'walking';
      s.dep = null;
      s.seen = t;
      s.at = t;
      changed.shoppers.add(id);
      break;
    }
    case 'move': {
      if (id === undefined || x === undefined || y === undefined) break;
      const s = shopper ?? { id, x, y, state: 'walking', dep: null, seen: t, at: t };
      if (!shopper) store.shoppers.set(id, s);
      else addDwell(store.series, t, s.x, s.y, t - s.at); // the time since the last position was spent there
      s.x = x;
      s.y = y;
      s.seen = t;
      s.at = t;
      // a focus lasts while the shopper stays in its department; a browsing shopper needs help until helped
      if (s.state === 'focused' && departmentAt(store.plan, s.x, s.y) !== s.dep) {
        s.state = 'walking';
        s.dep = null;
      }
      changed.shoppers.add(id);
      changed.series = true;
      break;
    }
    case 'focus': {
      // a shopper's focus: someone on the plan, detected where they are (a position) or where their dot is
      const mine = !!shopper && (x !== undefined || departmentAt(store.plan, shopper.x, shopper.y) === body.dep);
      remember(store, msg.message_id ?? `position-${ordinal}`, mine);
      changed.series = true;
      if (!mine) {
        record(store.series, t, 'loadFocus');
        store.loadTimes.push(t);
        break;
      }
      record(store.series, t, 'focus', body.dep ?? '?');
      shopper.seen = t;
      shopper.state = 'focused';
      shopper.dep = body.dep ?? null;
      const a = store.alerts.get(id);
      if (a && !a.helped) {
        store.alerts.delete(id);
        changed.alerts = true;
      }
      changed.shoppers.add(id);
      break;
    }
    case 'browsing': {
      if (id === undefined) break;
      const s = shopper ?? (x !== undefined && y !== undefined ? { id, x, y, state: 'walking', dep: null, seen: t, at: t } : undefined);
      if (!s) break; // someone not on the plan needs no help in this store
      if (!shopper) store.shoppers.set(id, s);
      s.seen = t;
      s.state = 'browsing';
      s.dep = null;
      changed.shoppers.add(id);
      store.alerts.delete(id); // a new alert goes to the top
      store.alerts.set(id, { id, x: x ?? s.x, y: y ?? s.y, dep: body.dep ?? null, ts: num(body.ts) ?? 0, ordinal, time: t, helped: false });
      while (store.alerts.size > MAX_ALERTS) store.alerts.delete(store.alerts.keys().next().value);
      changed.alerts = true;
      break;
    }
    case 'helped': {
      if (id === undefined) break;
      const a = store.alerts.get(id);
      if (a) {
        a.helped = true;
        a.helpedAt = t;
        changed.alerts = true;
      }
      if (shopper?.state === 'browsing') {
        shopper.state = 'walking';
        changed.shoppers.add(id);
      }
      break;
    }
    case 'exit': {
      if (id === undefined) break;
      if (shopper) addDwell(store.series, t, shopper.x, shopper.y, t - shopper.at);
      if (store.shoppers.delete(id)) changed.shoppers.add(id);
      if (store.alerts.delete(id)) changed.alerts = true;
      break;
    }
    case 'prediction': {
      const customer = String(body.customer_id ?? '?');
      changed.series = true;
      if (!decidedForShopper(store, msg, customer)) {
        record(store.series, t, 'loadOffer');
        break;
      }
      const c = body.coupon ?? {};
      record(store.series, t, 'offer', c.department ?? '?');
      store.predictions.unshift({
        ordinal,
        time: t,
        customer,
        score: num(body.score),
        ts: num(body.ts),
        coupon: {
          id: c.id,
          type: c.type,
          department: c.department,
          discount: num(c.discount),
          how_many: c.how_many,
          products_count: c.products_count,
          start_date: c.start_date,
          end_date: c.end_date,
        },
      });
      if (store.predictions.length > MAX_PREDICTIONS) store.predictions.length = MAX_PREDICTIONS;
      changed.predictions = true;
      break;
    }
    case 'redemption': {
      // a shopper used an offered coupon (issue 23): the latest card of that offer says so, once
      const coupon = num(body.coupon_id);
      const card = store.predictions.find((p) => p.customer === id && p.coupon.id === coupon && !p.redeemed);
      if (card) {
        card.redeemed = true;
        changed.predictions = true;
      }
      if (ordinal > store.head && t >= store.since) {
        store.redemptionsToday++;
        changed.series = true;
      }
      break;
    }
    case 'no_prediction': {
      const customer = String(body.customer_id ?? '?');
      record(store.series, t, decidedForShopper(store, msg, customer) ? 'declined' : 'loadDeclined', body.reason ?? 'other');
      changed.series = true;
      break;
    }
    default:
      break; // rejected inputs, process records: nothing to show
  }
  if (changed.shoppers.size) sampleInStore(store.series, t, store.shoppers.size);
  // the store's (or the pump's) activity: where "a minute" rates start counting
  if (changed.shoppers.size || changed.series || changed.predictions || changed.alerts) touch(store.series, t);
  return changed;
}

/** Drops old samples and stale shoppers; returns the ids removed. `now` is log time (ms). */
export function prune(store, now) {
  const from = now - RATE_WINDOW_MS;
  let i = 0;
  while (i < store.loadTimes.length && store.loadTimes[i] < from) i++;
  if (i) store.loadTimes.splice(0, i);
  const gone = [];
  for (const [id, s] of store.shoppers)
    if (s.seen < now - STALE_MS) {
      store.shoppers.delete(id);
      store.alerts.delete(id);
      gone.push(id);
    }
  sampleInStore(store.series, now, store.shoppers.size);
  pruneSeries(store.series, now);
  return gone;
}

/** The figures the page shows; every one agrees with the charts (the same window, the same fold). */
export function counters(store, now) {
  const bins = windowBins(store.series, now);
  const t = totals(bins);
  const from = now - RATE_WINDOW_MS;
  const minutes = minutesWithData(store.series, now);
  return {
    inStore: store.shoppers.size,
    openAlerts: [...store.alerts.values()].filter((a) => !a.helped).length,
    offers: t.offers,
    /** the minutes of the window with data (a store open 4 minutes: 4), and the offers a minute over them */
    minutes,
    offersPerMinute: t.offers / minutes,
    declined: t.declined,
    focus: t.focus,
    byReason: t.byReason,
    loadFocus: t.loadFocus,
    loadOffers: t.loadOffers,
    loadDeclined: t.loadDeclined,
    loadPerSecond: store.loadTimes.filter((x) => x >= from && x <= now + 1000).length / (RATE_WINDOW_MS / 1000),
    redemptionsToday: store.redemptionsToday,
  };
}
