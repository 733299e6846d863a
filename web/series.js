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
  return { bins: new Map(), since: undefined, carry: undefined };
}

function emptyBin(key) {
  return { key, start: key * BIN_MS, inStore: undefined, focus: {}, offers: {}, declined: {}, loadFocus: 0, loadOffers: 0, loadDeclined: 0, heat: new Map() };
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
