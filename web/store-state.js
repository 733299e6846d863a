// The dashboard's model of the store, folded from the gateway's stream messages
// ({ess_ordinal, ess_timestamp, message_type, message_body}). Pure: no DOM, no clock of its own,
// so the page and a Node test fold the same way.

export const MAX_PREDICTIONS = 12;
export const MAX_ALERTS = 30;
/** Shoppers with no event for this long (ms, by log time) are dropped: a lost exit must not leave a ghost. */
export const STALE_MS = 5 * 60_000;
/** Rates are counted over this window (ms, by log time). */
export const RATE_WINDOW_MS = 5000;

/** @typedef {'walking' | 'focused' | 'browsing'} ShopperState */

export function createStore(plan, { head = 0, since = 0, predictionsToday = 0, redemptionsToday = 0 } = {}) {
  return {
    plan,
    /** @type {Map<string, {id: string, x: number, y: number, state: ShopperState, dep: string | null, seen: number}>} */
    shoppers: new Map(),
    /** newest first */
    predictions: [],
    /** @type {Map<string, {id: string, x: number, y: number, dep: string | null, ts: number, ordinal: number, helped: boolean}>} */
    alerts: new Map(),
    /** events up to `head` were counted by the server already */
    head, since, predictionsToday, redemptionsToday,
    lastOrdinal: 0,
    duplicates: 0,
    /** log times (ms) of recent messages and predictions, for the rates */
    recentEvents: [], recentPredictions: [],
    latestTime: 0,
  };
}

export function departmentAt(plan, x, y) {
  for (const [name, r] of Object.entries(plan.departments)) if (x >= r.x1 && x <= r.x2 && y >= r.y1 && y <= r.y2) return name;
  return null;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Folds one message into the store. Returns what changed: `shoppers` (ids), `predictions`, `alerts`,
 * or null for a message already seen (ordinals only go up: a resumed stream never double counts).
 */
export function apply(store, msg) {
  const ordinal = msg.ess_ordinal;
  if (typeof ordinal !== 'number' || ordinal <= store.lastOrdinal) { store.duplicates++; return null; }
  store.lastOrdinal = ordinal;
  const t = typeof msg.ess_timestamp === 'number' ? msg.ess_timestamp : store.latestTime;
  if (t > store.latestTime) store.latestTime = t;
  store.recentEvents.push(t);
  const body = msg.message_body ?? {};
  const changed = { shoppers: new Set(), predictions: false, alerts: false };
  const id = body.id == null ? undefined : String(body.id);
  const x = num(body.x), y = num(body.y);
  const shopper = id === undefined ? undefined : store.shoppers.get(id);
  // focus and browsing are logged after the move that completed them: their x, y is where it was
  // detected, not where the shopper is now, so they never move a dot back

  switch (msg.message_type) {
    case 'entry': {
      if (id === undefined) break;
      const s = shopper ?? { id, x: store.plan.entrance.x, y: store.plan.entrance.y, state: 'walking', dep: null, seen: t };
      if (!shopper) store.shoppers.set(id, s);
      s.x = store.plan.entrance.x; s.y = store.plan.entrance.y; s.state = 'walking'; s.dep = null; s.seen = t;
      changed.shoppers.add(id);
      break;
    }
    case 'move': {
      if (id === undefined || x === undefined || y === undefined) break;
      const s = shopper ?? { id, x, y, state: 'walking', dep: null, seen: t };
      if (!shopper) store.shoppers.set(id, s);
      s.x = x; s.y = y; s.seen = t;
      // a focus lasts while the shopper stays in its department; a browsing shopper needs help until helped
      if (s.state === 'focused' && departmentAt(store.plan, s.x, s.y) !== s.dep) { s.state = 'walking'; s.dep = null; }
      changed.shoppers.add(id);
      break;
    }
    case 'focus': {
      // the pump's focus events (no position) are about no one on the plan, or somewhere the dot is not: they only count
      if (!shopper) break;
      if (x === undefined && departmentAt(store.plan, shopper.x, shopper.y) !== body.dep) break;
      shopper.seen = t;
      shopper.state = 'focused';
      shopper.dep = body.dep ?? null;
      const a = store.alerts.get(id);
      if (a && !a.helped) { store.alerts.delete(id); changed.alerts = true; }
      changed.shoppers.add(id);
      break;
    }
    case 'browsing': {
      if (id === undefined) break;
      const s = shopper ?? (x !== undefined && y !== undefined ? { id, x, y, state: 'walking', dep: null, seen: t } : undefined);
      if (s) {
        if (!shopper) store.shoppers.set(id, s);
        s.seen = t;
        s.state = 'browsing';
        s.dep = null;
        changed.shoppers.add(id);
      }
      store.alerts.delete(id); // a new alert goes to the top
      store.alerts.set(id, { id, x: x ?? s?.x ?? 0, y: y ?? s?.y ?? 0, dep: body.dep ?? null, ts: num(body.ts) ?? 0, ordinal, time: t, helped: false });
      while (store.alerts.size > MAX_ALERTS) store.alerts.delete(store.alerts.keys().next().value);
      changed.alerts = true;
      break;
    }
    case 'helped': {
      if (id === undefined) break;
      const a = store.alerts.get(id);
      if (a) { a.helped = true; changed.alerts = true; }
      if (shopper?.state === 'browsing') { shopper.state = 'walking'; changed.shoppers.add(id); }
      break;
    }
    case 'exit': {
      if (id === undefined) break;
      if (store.shoppers.delete(id)) changed.shoppers.add(id);
      if (store.alerts.delete(id)) changed.alerts = true;
      break;
    }
    case 'prediction': {
      const c = body.coupon ?? {};
      store.predictions.unshift({
        ordinal, time: t, customer: String(body.customer_id ?? '?'), score: num(body.score), ts: num(body.ts),
        coupon: { id: c.id, type: c.type, department: c.department, discount: num(c.discount), how_many: c.how_many, products_count: c.products_count, start_date: c.start_date, end_date: c.end_date },
      });
      if (store.predictions.length > MAX_PREDICTIONS) store.predictions.length = MAX_PREDICTIONS;
      store.recentPredictions.push(t);
      if (ordinal > store.head && t >= store.since) store.predictionsToday++;
      changed.predictions = true;
      break;
    }
    case 'redemption': {
      // a shopper used an offered coupon (the simulator's shoppers, issue 23)
      if (ordinal > store.head && t >= store.since) store.redemptionsToday++;
      const p = store.predictions.find((x) => x.customer === String(body.id) && x.coupon.id === body.coupon_id && !x.redeemed);
      if (p) { p.redeemed = true; changed.predictions = true; }
      break;
    }
    default:
      break; // no_prediction, rejected, process records: counted in events/s only
  }
  return changed;
}

/** Drops old rate samples and stale shoppers; returns the ids removed. `now` is log time (ms). */
export function prune(store, now) {
  const from = now - RATE_WINDOW_MS;
  const cut = (list) => { let i = 0; while (i < list.length && list[i] < from) i++; if (i) list.splice(0, i); };
  cut(store.recentEvents);
  cut(store.recentPredictions);
  const gone = [];
  for (const [id, s] of store.shoppers) if (s.seen < now - STALE_MS) { store.shoppers.delete(id); gone.push(id); }
  return gone;
}

export function counters(store, now) {
  const from = now - RATE_WINDOW_MS;
  const rate = (list) => list.filter((t) => t >= from && t <= now + 1000).length / (RATE_WINDOW_MS / 1000);
  return {
    inStore: store.shoppers.size,
    eventsPerSecond: rate(store.recentEvents),
    predictionsPerSecond: rate(store.recentPredictions),
    predictionsToday: store.predictionsToday,
    redemptionsToday: store.redemptionsToday,
    openAlerts: [...store.alerts.values()].filter((a) => !a.helped).length,
  };
}
