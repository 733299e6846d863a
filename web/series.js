// The day in pictures: what the fold counts per minute of log time (focus and offers by department,
// declined decisions by reason, the pump's load, shoppers in store, dwell time per spot of the plan),
// kept for the last WINDOW_BINS minutes. Pure: no DOM, no clock of its own.

export const BIN_MS = 60_000;
/** The charts and the "15 min" figures cover the current minute and the 14 before it. */
export const WINDOW_BINS = 15;
/** Heat map cells, in plan units. */
export const HEAT_CELL = 50;
/** A shopper standing still longer than this between two moves counts this long (a lost exit is no dwell). */
export const MAX_DWELL_MS = 60_000;

export function createSeries() {
  /** `since`: log time from which the fold has seen everything (the replay's start); earlier minutes have no data. */
  /** `lastBefore`: the latest event of the minutes already forgotten (tells a store that ran before the window from one that just opened). */
  return { bins: new Map(), since: undefined, carry: undefined, lastBefore: undefined };
}

function emptyBin(key) {
  return {
    key,
    start: key * BIN_MS,
    first: undefined,
    last: undefined,
    inStore: undefined,
    focus: {},
    offers: {},
    declined: {},
    loadFocus: 0,
    loadOffers: 0,
    loadDeclined: 0,
    heat: new Map(),
  };
}

function bin(series, t) {
  const key = Math.floor(t / BIN_MS);
  let b = series.bins.get(key);
  if (!b) {
    b = emptyBin(key);
    series.bins.set(key, b);
  }
  return b;
}

const add = (o, k) => {
  o[k] = (o[k] ?? 0) + 1;
};

/** Counts one event at log time `t`: focus / offer (by department), declined (by reason), or the pump's load. */
export function record(series, t, kind, key) {
  const b = bin(series, t);
  switch (kind) {
    case 'focus':
      add(b.focus, key);
      break;
    case 'offer':
      add(b.offers, key);
      break;
    case 'declined':
      add(b.declined, key);
      break;
    case 'loadFocus':
      b.loadFocus++;
      break;
    case 'loadOffer':
      b.loadOffers++;
      break;
    case 'loadDeclined':
      b.loadDeclined++;
      break;
    default:
      break;
  }
}

/** An event of the store (any kind) at log time `t`: the minutes with data start at the first one. */
export function touch(series, t) {
  const b = bin(series, t);
  if (b.first === undefined || t < b.first) b.first = t;
  if (b.last === undefined || t > b.last) b.last = t;
}

/** Shoppers in store at log time `t` (the minute keeps its last value). */
export function sampleInStore(series, t, n) {
  bin(series, t).inStore = n;
}

/** `ms` spent at (x, y), ending at log time `t`. */
export function addDwell(series, t, x, y, ms) {
  if (!(ms > 0)) return;
  const heat = bin(series, t).heat;
  const cell = `${Math.floor(x / HEAT_CELL)},${Math.floor(y / HEAT_CELL)}`;
  heat.set(cell, (heat.get(cell) ?? 0) + Math.min(ms, MAX_DWELL_MS));
}

/** Forgets the minutes before the window. */
export function pruneSeries(series, now) {
  const oldest = Math.floor(now / BIN_MS) - WINDOW_BINS + 1;
  for (const [k, b] of series.bins) {
    if (k >= oldest) continue;
    if (b.inStore !== undefined) series.carry = b.inStore; // the count before the window carries into it
    if (b.last !== undefined && !(series.lastBefore >= b.last)) series.lastBefore = b.last;
    series.bins.delete(k);
  }
}

/**
 * The window's minutes, oldest first, ending with the current one. A minute with no sample of
 * shoppers in store carries the previous one's; `covered` is false for minutes before the fold saw
 * everything (the page opened, or the replay was capped, after they began).
 */
export function windowBins(series, now) {
  const last = Math.floor(now / BIN_MS);
  const out = [];
  let inStore = series.carry;
  // the value before the window, if any, carries into it
  for (const [k, b] of series.bins) if (k < last - WINDOW_BINS + 1 && b.inStore !== undefined) inStore = b.inStore;
  for (let k = last - WINDOW_BINS + 1; k <= last; k++) {
    const b = series.bins.get(k) ?? emptyBin(k);
    const covered = series.since !== undefined && (k + 1) * BIN_MS > series.since;
    if (b.inStore !== undefined) inStore = b.inStore;
    out.push({ ...b, inStore: covered ? inStore : undefined, covered });
  }
  return out;
}

/**
 * How many minutes of the window have data, for rates "a minute": from the window's first event to
 * now, at least 1, rounded to a tenth (the page shows the figure it divides by). A store that had
 * events in the minute before the window ran through all of it: the whole window (WINDOW_BINS).
 * Dividing by the whole window when the store opened 4 minutes ago would show a quarter of the rate.
 */
export function minutesWithData(series, now) {
  const oldest = Math.floor(now / BIN_MS) - WINDOW_BINS + 1;
  const before = (oldest - 1) * BIN_MS; // the minute before the window
  let first = Infinity;
  let reachesBack = series.lastBefore !== undefined && series.lastBefore >= before;
  for (const [k, b] of series.bins) {
    if (b.first === undefined) continue;
    if (k < oldest)
      reachesBack ||= b.last >= before; // not pruned yet
    else if (b.first < first) first = b.first;
  }
  if (reachesBack) return WINDOW_BINS;
  if (first === Infinity) return 1;
  return Math.min(WINDOW_BINS, Math.max(1, Math.round((now - first) / 6000) / 10));
}

const sumObject = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/** Totals over the window: offers, declined, focus (store), and the pump's load. */
export function totals(bins) {
  const t = { focus: 0, offers: 0, declined: 0, loadFocus: 0, loadOffers: 0, loadDeclined: 0, byReason: {}, byDepartment: {} };
  for (const b of bins) {
    t.focus += sumObject(b.focus);
    t.offers += sumObject(b.offers);
    t.declined += sumObject(b.declined);
    t.loadFocus += b.loadFocus;
    t.loadOffers += b.loadOffers;
    t.loadDeclined += b.loadDeclined;
    for (const [r, n] of Object.entries(b.declined)) t.byReason[r] = (t.byReason[r] ?? 0) + n;
    for (const [d, n] of Object.entries(b.offers)) t.byDepartment[d] = (t.byDepartment[d] ?? 0) + n;
  }
  return t;
}

/** Dwell time per cell over the window: Map "cx,cy" → ms. */
export function heatOver(bins) {
  const out = new Map();
  for (const b of bins) for (const [cell, ms] of b.heat) out.set(cell, (out.get(cell) ?? 0) + ms);
  return out;
}
