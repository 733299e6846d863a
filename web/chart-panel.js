// The day in pictures, last 15 minutes: shoppers in store, focus per minute by department, offers
// (by department) against declined decisions (by reason), and the time to offer p50 / p99 from
// /metrics (offers only: a declined focus is not timed). Every chart and figure reads the same minutes of the same fold.
import { $ } from './api.js';
import { stackedBars, lines, legend } from './charts.js';
import { departmentColour } from './plan-view.js';
import { totals } from './series.js';
import { observedBetween, quantile } from './metrics-text.js';
import { clock, count, millis, reasonName } from './words.js';
import { BIN_MS } from './series.js';

const REASON_COLOURS = {
  below_threshold: '#9aa3b2',
  all_offered: '#c6ccd6',
  no_coupons: '#6b7385',
  no_valid_coupons: '#4f5667',
  unknown_customer: '#c9a25a',
  scorer_failed: '#d9342b',
  customer_left: '#dfe3ea',
};
const reasonColour = (r) => REASON_COLOURS[r] ?? '#b0b6c2';

/** p50 / p99 (seconds) of what /metrics observed in each minute. */
export function latencyPerMinute(latency, bins, now) {
  return bins.map((b) => {
    const h = observedBetween(latency, b.start, Math.min(b.start + BIN_MS, now), { partial: true });
    return h && h.count > 0 ? { p50: quantile(0.5, h), p99: quantile(0.99, h), count: h.count } : undefined;
  });
}

/**
 * Draws the four charts; returns what they show (tests compare it with the figures and /metrics).
 * `lat`: the figures strip's latency over the window, the caption's fallback while no minute has its own
 * (the snapshots start when the page opened: the minutes before it have none, the window may).
 */
export function drawCharts(plan, bins, latency, now, lat) {
  const xLabels = [clock(bins[0].start, now, { seconds: false }), 'now'];
  const departments = Object.keys(plan.departments);
  const t = totals(bins);
  const reasons = Object.keys(t.byReason).sort();

  lines($('chart-shoppers'), bins, { series: [{ key: 'in-store', colour: '#2f6fde', value: (b) => b.inStore }], xLabels, area: true });
  const last = [...bins].reverse().find((b) => b.inStore !== undefined);
  $('chart-shoppers-figure').textContent = last ? `${count(last.inStore)} now` : '';

  const byDep = (field) => departments.map((d) => ({ key: d, colour: departmentColour(d), value: (b) => b[field][d] ?? 0 }));
  stackedBars($('chart-focus'), bins, { up: byDep('focus'), xLabels });
  $('chart-focus-figure').textContent = `${count(t.focus)} in 15 min`;

  stackedBars($('chart-offers'), bins, {
    up: byDep('offers'),
    down: reasons.map((r) => ({ key: r, colour: reasonColour(r), value: (b) => b.declined[r] ?? 0 })),
    xLabels,
  });
  $('chart-offers-figure').textContent = `${count(t.offers)} / ${count(t.declined)} in 15 min`;
  legend(
    $('chart-offers-reasons'),
    reasons.map((r) => ({ label: `${reasonName(r)} ${count(t.byReason[r])}`, colour: reasonColour(r) })),
  );

  const perMinute = latencyPerMinute(latency, bins, now);
  const latBins = bins.map((b, i) => ({ ...b, lat: perMinute[i] }));
  lines($('chart-latency'), latBins, {
    series: [
      { key: 'p99', colour: '#d9342b', value: (b) => (b.lat ? b.lat.p99 * 1000 : undefined) },
      { key: 'p50', colour: '#2f6fde', value: (b) => (b.lat ? b.lat.p50 * 1000 : undefined) },
    ],
    xLabels,
  });
  const now50 = perMinute.at(-1)?.p50 ?? perMinute.findLast((x) => x)?.p50;
  const p50 = now50 ?? (lat?.count ? lat.p50 : undefined);
  $('chart-latency-figure').textContent = p50 === undefined ? 'no offer timed yet' : `p50 ${millis(p50)}`;

  const shown = {
    inStore: bins.map((b) => b.inStore ?? null),
    focus: bins.map((b) => Object.values(b.focus).reduce((a, n) => a + n, 0)),
    offers: bins.map((b) => Object.values(b.offers).reduce((a, n) => a + n, 0)),
    declined: bins.map((b) => Object.values(b.declined).reduce((a, n) => a + n, 0)),
    latency: perMinute.map((x) => x ?? null),
  };
  $('charts').dataset.offers = String(t.offers);
  $('charts').dataset.declined = String(t.declined);
  return shown;
}

/** The department colours once, for the focus and offers charts. */
export function drawDepartmentLegend(plan) {
  legend(
    $('chart-departments'),
    Object.keys(plan.departments).map((d) => ({ label: d, colour: departmentColour(d) })),
  );
}
