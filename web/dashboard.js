// The live store dashboard: folds storeflow's event stream (the gateway's WebSocket) into the store
// view, reads decision latency from /metrics, and drives the roles through the control plane.
// Plain ES modules, no build step:
//   store-state.js  the fold (pure)           series.js   per-minute counts and dwell (pure)
//   metrics-text.js /metrics histograms (pure) words.js    places, durations, times (pure)
//   plan-view.js    the SVG plan               panels.js   alerts, figures, coupon cards
//   chart-panel.js  the four charts            charts.js   SVG bars and lines
//   controls.js     simulator and pump         customer-view.js  one shopper's session
//   scenario-editor.js  a path drawn on the plan, played with /scenario_draft
//   api.js          fetch, the token form      stream.js   the gateway's WebSocket, reconnecting
import { $, onAccess } from './api.js';
import { connectStream } from './stream.js';
import { createStore, apply, prune, counters } from './store-state.js';
import { windowBins, heatOver, WINDOW_BINS, BIN_MS } from './series.js';
import { createLatency, addSnapshot, pruneLatency, windowFigures } from './metrics-text.js';
import { createPlanView } from './plan-view.js';
import { drawAlerts, drawFigures, drawCoupons } from './panels.js';
import { drawCharts, drawDepartmentLegend } from './chart-panel.js';
import { setupControls } from './controls.js';
import { createCustomerView } from './customer-view.js';
import { createScenarioEditor } from './scenario-editor.js';
import { clock } from './words.js';

const WINDOW_MS = WINDOW_BINS * BIN_MS;
const METRICS_EVERY_MS = 5000;

/** What tests (and a curious person in the console) can look at. */
const view = {
  store: undefined,
  status: 'connecting',
  stats: { messages: 0, connects: 0, lastConnectFrom: undefined, closes: [] },
  latency: createLatency(),
  /** what the figures strip and the charts last showed */
  figures: undefined,
  charts: undefined,
  /** the scenario editor: its steps and the paths played */
  editor: undefined,
  /** the replay stopped at its cap: the fold misses the window's oldest events (the figures cannot add up to /metrics') */
  replayCapped: false,
};
window.storeflowDashboard = view;

let store;
let plan;
let customer;
let editor; // the scenario editor: its state, and what it hears of the paths it played
let skew = 0; // server clock − browser clock (ms): windows and rates are in log time
let stream;
const dirty = new Set();
let panelsDirty = true;
let heatDue = true; // the heat map too
let heatCells = 0;
let frame = 0;

const now = () => Date.now() + skew;
const midnight = () => new Date().setHours(0, 0, 0, 0);

function setStatus(status, text) {
  view.status = status;
  const el = $('connection');
  el.className = `connection ${status}`;
  el.textContent = text;
}

onAccess({
  unauthorized: () => setStatus('login', 'token needed'),
  loggedIn: () => stream.resume(),
});

// ---------------------------------------------------------------- drawing

function select(id) {
  const previous = customer.selected;
  plan.select(id);
  customer.show(id);
  if (previous && previous !== id) dirty.add(previous);
  schedule();
}

function render() {
  frame = 0;
  const t = now();
  for (const id of dirty) plan.drawShopper(id, store.shoppers.get(id));
  dirty.clear();
  // the figures and the charts are drawn together, from the same minutes: they always agree
  if (panelsDirty || heatDue) {
    panelsDirty = false;
    drawAlerts(store, t, { onSelect: select, onHover: (id) => plan.highlight(id) });
    drawCoupons(store, t);
    const c = counters(store, t);
    const lat = windowFigures(view.latency, t, WINDOW_MS);
    drawFigures(c, lat);
    view.figures = { ...c, latency: lat };
    const bins = windowBins(store.series, t);
    view.charts = drawCharts(store.plan, bins, view.latency, t, lat);
    if (heatDue) {
      const cells = heatOver(bins);
      plan.drawHeat(cells, $('show-heat').checked);
      heatCells = cells.size;
    }
    heatDue = false;
  }
}
const schedule = () => {
  if (!frame) frame = requestAnimationFrame(render);
};

// ---------------------------------------------------------------- the stream

function onMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return;
  }
  view.stats.messages++;
  editor?.observe(msg);
  const changed = apply(store, msg);
  if (!changed) return;
  for (const id of changed.shoppers) {
    dirty.add(id);
    customer.changed(id);
  }
  if (changed.predictions || changed.alerts || changed.shoppers.size || changed.series) panelsDirty = true;
  schedule();
}

function start(cfg) {
  store = view.store = createStore(cfg.plan, { head: cfg.head, since: cfg.today.since, redemptionsToday: cfg.today.redemptions ?? 0 });
  store.lastOrdinal = cfg.replay_from - 1;
  view.replayCapped = !!cfg.replay_capped;
  // the replay covers the window unless it was capped; then the charts start at its first event
  if (!cfg.replay_capped) store.series.since = cfg.server_time - (cfg.replay_window_ms ?? WINDOW_MS);
  plan = createPlanView(cfg.plan, { onSelect: select });
  customer = createCustomerView({
    getStore: () => store,
    roles: cfg.roles,
    onClose: (previous) => {
      plan.select(undefined);
      if (previous) {
        dirty.add(previous);
        schedule();
      }
    },
  });
  drawDepartmentLegend(cfg.plan);
  const controls = setupControls(cfg.roles);
  editor = createScenarioEditor(cfg.plan, { roles: cfg.roles, getStore: () => store, onSimulatorStarted: () => controls.refresh('simulator') });
  view.editor = editor.state;
  $('show-heat').addEventListener('change', () => {
    heatDue = true;
    schedule();
  });
  pollMetrics();
  setInterval(pollMetrics, METRICS_EVERY_MS);
}

/** Decision latency as /metrics has it (open without a token, like the page's files). */
async function pollMetrics() {
  try {
    const r = await fetch('metrics');
    if (!r.ok) return;
    const t = now();
    if (addSnapshot(view.latency, t, await r.text())) {
      pruneLatency(view.latency, t, WINDOW_MS + 2 * BIN_MS);
      panelsDirty = true;
      heatDue = true;
      schedule();
    }
  } catch {
    /* the next poll */
  }
}

// ---------------------------------------------------------------- clock

let ticks = 0;
setInterval(() => {
  $('clock').textContent = clock(now(), now(), { seconds: false });
  if (!store) return;
  for (const id of prune(store, now())) dirty.add(id);
  panelsDirty = true; // waiting times and "ago" move on
  // the heat map follows every 5 s, every second while it is empty (the charts and figures follow every change)
  if (++ticks % 5 === 0 || heatCells === 0) heatDue = true;
  schedule();
}, 1000);

stream = connectStream({
  configUrl: () => `dashboard/config?since=${midnight()}`,
  onConfig: (cfg) => {
    skew = cfg.server_time - Date.now();
    if (!store) start(cfg);
  },
  // a new process may hand out a new stream: the log (and its ordinals) is the same
  from: () => store.lastOrdinal + 1,
  onMessage,
  onStatus: setStatus,
  stats: view.stats,
});
