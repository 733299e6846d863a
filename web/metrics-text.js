// Decision latency as /metrics exposes it: the page reads storeflow_focus_to_prediction_seconds (a
// Prometheus histogram) from the control plane's /metrics every few seconds and derives p50 / p99
// over a window the way Prometheus' histogram_quantile does, so the figures agree with /metrics.
// Pure: parsing, differences and quantiles; the page keeps the snapshots.

export const LATENCY_METRIC = 'storeflow_focus_to_prediction_seconds';
/** prom-client's default process metric (storeflow_-prefixed before the metric names followed Prometheus' conventions). */
export const START_METRICS = ['process_start_time_seconds', 'storeflow_process_start_time_seconds'];

/** A histogram from Prometheus text: cumulative buckets [[le, count]] (le ascending, +Inf last), count and sum; null if absent. */
export function parseHistogram(text, name) {
  const buckets = [];
  let count, sum;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\}\s+(\S+)/.exec(rest);
    if (m) {
      buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
      continue;
    }
    const c = /^_count(?:\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (c) {
      count = Number(c[1]);
      continue;
    }
    const s = /^_sum(?:\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (s) sum = Number(s[1]);
  }
  if (buckets.length === 0 || count === undefined) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  return { buckets, count, sum: sum ?? 0 };
}

/** A gauge's (first) value from Prometheus text, or undefined. */
export function parseGauge(text, name) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(?:\{[^}]*\})?\s+(\S+)/.exec(line.slice(name.length));
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** What was observed between two snapshots (`before` null: since the process started). */
export function difference(after, before) {
  if (!before) return after;
  return {
    buckets: after.buckets.map(([le, n], i) => [le, n - (before.buckets[i]?.[1] ?? 0)]),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile (0..1) of a histogram, as Prometheus' histogram_quantile: the bucket holding the
 * rank, linear within it (from 0 for the first bucket); in the +Inf bucket, the largest finite bound.
 * undefined when nothing was observed.
 */
export function quantile(q, h) {
  if (!h || !(h.count > 0)) return undefined;
  const b = h.buckets;
  const total = b[b.length - 1][1];
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let i = b.findIndex(([, n]) => n >= rank);
  if (i < 0) i = b.length - 1;
  if (b[i][0] === Infinity) return b.length > 1 ? b[b.length - 2][0] : undefined;
  const lower = i === 0 ? 0 : b[i - 1][0];
  const below = i === 0 ? 0 : b[i - 1][1];
  const inBucket = b[i][1] - below;
  if (inBucket <= 0) return b[i][0];
  return lower + (b[i][0] - lower) * ((rank - below) / inBucket);
}

/**
 * Snapshots of the histogram over time, for the window and per minute. `start` is when the process
 * started (ms): before it nothing was observed, so a window reaching back past it needs no older snapshot.
 */
export function createLatency() {
  return { snapshots: [], start: undefined };
}

export function addSnapshot(latency, t, text) {
  const h = parseHistogram(text, LATENCY_METRIC);
  const start = START_METRICS.map((m) => parseGauge(text, m)).find((v) => v !== undefined);
  if (start !== undefined) latency.start = start * 1000;
  if (!h) return false;
  const last = latency.snapshots[latency.snapshots.length - 1];
  // a restarted process counts from zero again: its older snapshots say nothing about it
  if (last && h.count < last.h.count) latency.snapshots.length = 0;
  latency.snapshots.push({ t, h });
  return true;
}

/**
 * The histogram of what was observed in (from, to]: null when the snapshots do not reach back to
 * `from`, unless `partial`: then from the first snapshot after `from` (a minute the page opened in).
 */
export function observedBetween(latency, from, to, { partial = false } = {}) {
  const s = latency.snapshots;
  let after, before, firstIn;
  for (const x of s) {
    if (x.t <= to) after = x;
    if (x.t <= from) before = x;
    else if (!firstIn && x.t <= to) firstIn = x;
  }
  if (!after) return null;
  if (!before) {
    if (latency.start !== undefined && latency.start >= from) return after.h;
    return partial && firstIn && firstIn !== after ? difference(after.h, firstIn.h) : null;
  }
  return difference(after.h, before.h);
}

/** Drops snapshots older than needed for a window of `windowMs` ending now (keeps one before it). */
export function pruneLatency(latency, now, windowMs) {
  const s = latency.snapshots;
  let keepFrom = 0;
  for (let i = 0; i < s.length; i++) if (s[i].t <= now - windowMs) keepFrom = i;
  if (keepFrom > 0) s.splice(0, keepFrom);
}

/** p50, p99 and the count of a window ending at the newest snapshot; `partial` when it reaches back only to the first snapshot. */
export function windowFigures(latency, now, windowMs) {
  const newest = latency.snapshots[latency.snapshots.length - 1];
  if (!newest) return { count: 0, p50: undefined, p99: undefined, partial: true };
  let h = observedBetween(latency, now - windowMs, newest.t);
  let partial = false;
  if (!h) {
    h = difference(newest.h, latency.snapshots[0].h);
    partial = true;
  }
  return { count: h.count, p50: quantile(0.5, h), p99: quantile(0.99, h), partial };
}
