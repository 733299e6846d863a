// The live store dashboard: folds storeflow's event stream (the gateway's WebSocket) into the
// store view, and drives the roles through the control plane. Plain ES modules, no build step.
import { createStore, apply, prune, counters, departmentAt } from './store-state.js';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const DEPARTMENT_COLOURS = { Women: '#fde2ec', Boys: '#dcecfd', Girls: '#fbe3f7', Men: '#e1f0e6', Sport: '#fff1d6' };

/** What tests (and a curious person in the console) can look at. */
const view = {
  store: undefined,
  status: 'connecting',
  stats: { messages: 0, connects: 0, lastConnectFrom: undefined, closes: [] },
};
window.storeflowDashboard = view;

let config;
let store;
let skew = 0; // server clock − browser clock (ms): rates are computed in log time
let ws;
let retryMs = 500;
let selected; // customer id shown in the customer view
const dots = new Map();
const dirty = new Set();
let dirtyPanels = { predictions: true, alerts: true };
let frame = 0;

const now = () => Date.now() + skew;
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function setStatus(status, text) {
  view.status = status;
  const el = $('connection');
  el.className = `connection ${status}`;
  el.textContent = text;
}

async function json(url, init) {
  const r = await fetch(url, { headers: init?.body ? { 'content-type': 'application/json' } : {}, ...init });
  if (r.status === 401) showLogin();
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw Object.assign(new Error(body?.message ?? `${r.status}`), { status: r.status, body });
  return body;
}

function midnight() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

// ---------------------------------------------------------------- the plan

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

function drawPlan(plan) {
  const svg = $('plan');
  svg.setAttribute('viewBox', `-20 -70 ${plan.width + 40} ${plan.height + 90}`);
  svg.replaceChildren();
  el('rect', { class: 'floor', x: 0, y: 0, width: plan.width, height: plan.height, rx: 12 }, svg);
  for (const [name, r] of Object.entries(plan.departments)) {
    const g = el('g', { class: 'department', 'data-department': name }, svg);
    const colour = DEPARTMENT_COLOURS[name] ?? '#eef0f4';
    el('rect', { x: r.x1, y: r.y1, width: r.x2 - r.x1, height: r.y2 - r.y1, rx: 6, fill: colour, stroke: shade(colour) }, g);
    el('text', { x: (r.x1 + r.x2) / 2, y: (r.y1 + r.y2) / 2 }, g).textContent = name;
  }
  // doors: a gap in the top wall above each point, the label outside the floor so shoppers never hide it
  for (const [kind, p] of [['entrance', plan.entrance], ['exit', plan.exit]]) {
    const g = el('g', { class: `door ${kind}`, 'data-door': kind }, svg);
    el('rect', { x: p.x - 45, y: -8, width: 90, height: 16, rx: 4 }, g);
    el('path', { d: kind === 'entrance' ? `M${p.x - 14} ${p.y - 24} l14 18 l14 -18` : `M${p.x - 14} ${p.y - 6} l14 -18 l14 18` }, g);
    el('text', { x: p.x + (kind === 'entrance' ? -60 : 60), y: -22, 'text-anchor': kind === 'entrance' ? 'end' : 'start' }, g).textContent = kind === 'entrance' ? 'Entrance' : 'Exit';
  }
  el('g', { id: 'shoppers' }, svg);
}

function shade(hex) {
  const n = parseInt(hex.slice(1), 16);
  const f = (v) => Math.max(0, Math.round(v * 0.8)).toString(16).padStart(2, '0');
  return `#${f(n >> 16)}${f((n >> 8) & 255)}${f(n & 255)}`;
}

function drawShopper(id) {
  const s = store.shoppers.get(id);
  let g = dots.get(id);
  if (!s) { g?.remove(); dots.delete(id); return; }
  if (!g) {
    g = el('g', { class: 'shopper jump', 'data-id': id }, $('shoppers'));
    el('circle', { r: 16 }, g);
    el('text', { y: -24 }, g).textContent = id;
    g.addEventListener('click', () => showCustomer(id));
    dots.set(id, g);
    // first position without a transition, then glide
    g.style.transform = `translate(${s.x}px, ${s.y}px)`;
    requestAnimationFrame(() => g.classList.remove('jump'));
  }
  g.style.transform = `translate(${s.x}px, ${s.y}px)`;
  g.classList.toggle('walking', s.state === 'walking');
  g.classList.toggle('focused', s.state === 'focused');
  g.classList.toggle('browsing', s.state === 'browsing');
  g.classList.toggle('selected', id === selected);
  g.dataset.state = s.state;
  g.dataset.x = s.x;
  g.dataset.y = s.y;
  g.querySelector('title')?.remove();
  el('title', {}, g).textContent = `${id}: ${s.state}${s.dep ? ` in ${s.dep}` : ''}`;
}

// ---------------------------------------------------------------- the side panel

const COUPON_TYPES = { just_discount: 'just discount', buy_more: 'buy more', buy_all: 'buy all', department: 'department' };

function drawCoupons() {
  const list = $('coupons');
  if (store.predictions.length === 0) { list.innerHTML = '<li class="empty">none yet</li>'; return; }
  const have = new Map([...list.querySelectorAll('li.coupon')].map((li) => [li.dataset.ordinal, li]));
  const items = store.predictions.map((p) => {
    const key = String(p.ordinal);
    const old = have.get(key);
    if (old) { old.classList.toggle('redeemed', !!p.redeemed); return old; }
    const li = document.createElement('li');
    li.className = p.redeemed ? 'coupon redeemed' : 'coupon';
    li.dataset.ordinal = key;
    li.dataset.customer = p.customer;
    const c = p.coupon;
    const n = c.products_count ?? '?';
    const products = `${n} product${n === 1 ? '' : 's'}`;
    const terms = { just_discount: products, buy_more: `buy ${c.how_many} · ${products}`, buy_all: `buy all · ${products}`, department: `whole department · ${products}` }[c.type] ?? products;
    li.innerHTML = `<div class="top"><span>Customer <b>${esc(p.customer)}</b> · ${esc(c.department)}</span><span class="discount">−${esc(c.discount)}%</span></div>
      <div class="meta"><span class="type">${esc(COUPON_TYPES[c.type] ?? c.type)}</span> coupon #${esc(c.id)} · ${esc(terms)}${p.score === undefined ? '' : ` · score ${p.score.toFixed(2)}`}</div>`;
    return li;
  });
  list.replaceChildren(...items);
}

function drawAlerts() {
  const list = $('alerts');
  const alerts = [...store.alerts.values()].reverse().sort((a, b) => Number(a.helped) - Number(b.helped));
  const open = alerts.filter((a) => !a.helped).length;
  const badge = $('alert-count');
  badge.textContent = String(open);
  badge.classList.toggle('zero', open === 0);
  if (alerts.length === 0) { list.innerHTML = '<li class="empty">no one needs help</li>'; return; }
  list.replaceChildren(...alerts.map((a) => {
    const li = document.createElement('li');
    li.className = `alert${a.helped ? ' helped' : ''}`;
    li.dataset.customer = a.id;
    const where = a.dep ?? departmentAt(config.plan, a.x, a.y) ?? 'the aisles';
    li.innerHTML = `<span class="what">Customer <b>${esc(a.id)}</b> browsing in ${esc(where)} (${Math.round(a.x)}, ${Math.round(a.y)})</span>`;
    if (!a.helped) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Mark as helped';
      b.addEventListener('click', () => markHelped(a.id, b));
      li.appendChild(b);
    }
    li.addEventListener('click', (e) => { if (e.target.tagName !== 'BUTTON') showCustomer(a.id); });
    return li;
  }));
}

async function markHelped(id, button) {
  button.disabled = true;
  button.textContent = 'Saving…';
  try {
    // recorded in the log: the `helped` event comes back on the stream, to every open dashboard
    await json('dashboard/helped', { method: 'POST', body: JSON.stringify({ customer_id: id }) });
    button.textContent = 'Helped';
  } catch (err) {
    button.disabled = false;
    button.textContent = 'Mark as helped';
    button.title = `could not record it: ${err.message}`;
  }
}

function drawCounters() {
  const c = counters(store, now());
  $('c-in-store').textContent = String(c.inStore);
  $('c-events').textContent = c.eventsPerSecond.toFixed(c.eventsPerSecond < 10 ? 1 : 0);
  $('c-predictions').textContent = c.predictionsPerSecond.toFixed(1);
  $('c-today').textContent = String(c.predictionsToday);
  $('c-redeemed').textContent = String(c.redemptionsToday);
}

function render() {
  frame = 0;
  for (const id of dirty) drawShopper(id);
  dirty.clear();
  if (dirtyPanels.predictions) drawCoupons();
  if (dirtyPanels.alerts) drawAlerts();
  dirtyPanels = { predictions: false, alerts: false };
  drawCounters();
}
const schedule = () => { frame ||= requestAnimationFrame(render); };

// ---------------------------------------------------------------- the stream

function onMessage(text) {
  let msg;
  try { msg = JSON.parse(text); } catch { return; }
  view.stats.messages++;
  const changed = apply(store, msg);
  if (!changed) return;
  for (const id of changed.shoppers) dirty.add(id);
  if (changed.predictions) dirtyPanels.predictions = true;
  if (changed.alerts) dirtyPanels.alerts = true;
  if (selected && changed.shoppers.has(selected)) refreshCustomerSoon();
  schedule();
}

function streamUrl(cfg, from) {
  const base = cfg.stream.location ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${cfg.stream.port}${cfg.stream.path}`;
  // with CONTROL_TOKEN the stream wants a ticket (a browser cannot put a header on a WebSocket); each connect fetches a fresh one
  return `${base}?stream_from_ordinal=${from}${cfg.stream.ticket ? `&ticket=${encodeURIComponent(cfg.stream.ticket)}` : ''}`;
}

// ---------------------------------------------------------------- the token form (CONTROL_TOKEN)

let loginShown = false;
function showLogin() {
  if (loginShown) return;
  loginShown = true;
  setStatus('login', 'token needed');
  $('login').hidden = false;
  $('login').elements.token.focus();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('login');
  const error = form.querySelector('.error');
  const r = await fetch('auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: form.elements.token.value }) }).catch(() => null);
  if (!r || !r.ok) {
    error.hidden = false;
    error.textContent = r?.status === 401 ? 'That is not the token.' : `could not log in (${r ? r.status : 'control plane unreachable'})`;
    return;
  }
  form.elements.token.value = '';
  error.hidden = true;
  form.hidden = true;
  loginShown = false;
  if (!ws) { setStatus('connecting', 'connecting…'); connect(); }
});

async function connect() {
  let cfg;
  try {
    cfg = await json(`dashboard/config?since=${midnight()}`);
  } catch (err) {
    if (err.status === 401) return; // the token form is up; a login connects again
    return retry(`control plane unreachable (${err.message})`);
  }
  skew = cfg.server_time - Date.now();
  if (!store) {
    config = cfg;
    store = view.store = createStore(cfg.plan, { head: cfg.head, since: cfg.today.since, predictionsToday: cfg.today.predictions, redemptionsToday: cfg.today.redemptions ?? 0 });
    store.lastOrdinal = cfg.replay_from - 1;
    drawPlan(cfg.plan);
    setupControls(cfg.roles);
  }
  // a new process may hand out a new stream: the log (and its ordinals) is the same
  const from = store.lastOrdinal + 1;
  view.stats.lastConnectFrom = from;
  const socket = ws = new WebSocket(streamUrl(cfg, from));
  socket.onopen = () => {
    retryMs = 500;
    view.stats.connects++;
    setStatus('live', 'live');
  };
  socket.onmessage = (e) => onMessage(e.data);
  socket.onclose = (e) => {
    if (ws !== socket) return;
    view.stats.closes.push(e.code);
    retry(e.code === 1001 ? 'server restarting' : `connection closed (${e.code})`);
  };
}

function retry(why) {
  setStatus('reconnecting', `reconnecting… ${why}`);
  ws = undefined;
  setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, 5000);
}

// ---------------------------------------------------------------- controls

const hasRole = (roles, r) => roles.includes(r);

function setupControls(roles) {
  for (const form of document.querySelectorAll('form.control')) {
    const role = form.dataset.role;
    const note = form.querySelector('.note');
    if (!hasRole(roles, role)) {
      form.classList.add('absent');
      for (const x of form.querySelectorAll('button, input')) x.disabled = true;
      note.hidden = false;
      note.textContent = `the ${role} role is not running in this process (ROLES)`;
      continue;
    }
    for (const b of form.querySelectorAll('button[data-action]')) {
      b.addEventListener('click', () => command(form, role, `${role}/${b.dataset.action}`, { method: 'POST' }));
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = settingsOf(form, role);
      if (Object.keys(body).length === 0) return;
      command(form, role, `${role}/settings`, { method: 'POST', body: JSON.stringify(body) });
    });
    refreshRole(form, role);
    setInterval(() => refreshRole(form, role), 3000);
  }
}

function settingsOf(form, role) {
  const value = (name) => {
    const v = form.elements[name]?.value;
    return v === '' || v === undefined ? undefined : Number(v);
  };
  // the roles' own setting names: POST /simulator/settings {speed, averageInStore}, POST /pump/settings {rate}
  const out = role === 'simulator' ? { speed: value('speed'), averageInStore: value('shoppers') } : { rate: value('rate') };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined && Number.isFinite(v)));
}

async function command(form, role, url, init) {
  const note = form.querySelector('.note');
  try {
    await json(url, init);
    // commands answer in their own shapes: the state endpoint says what the role is doing now
    showRole(form, role, await json(`${role}/state`), true);
    note.hidden = true;
  } catch (err) {
    note.hidden = false;
    note.textContent = `${url}: ${err.message}`;
  }
}

async function refreshRole(form, role) {
  try { showRole(form, role, await json(`${role}/state`), false); } catch { /* shown on the next command */ }
}

function showRole(form, role, s, fill) {
  const out = form.querySelector('output.state');
  const running = s.state === 'started' || s.state === 'running' || s.running === true;
  out.classList.toggle('on', running);
  out.textContent = running ? 'running' : (typeof s.state === 'string' ? s.state : 'stopped');
  if (role === 'pump' && typeof s.rate === 'number') out.textContent += ` · ${s.rate.toFixed(1)}/s`;
  if (role === 'simulator' && s.simulatedTime) out.textContent += ` · ${s.simulatedTime.slice(11, 16)} sim`;
  // fill the inputs once, and after a command; never while someone types
  const put = (name, v) => {
    const input = form.elements[name];
    if (input && v !== undefined && (fill || (!input.value && document.activeElement !== input))) input.value = String(v);
  };
  if (role === 'simulator') { put('speed', s.settings?.speed); put('shoppers', s.settings?.averageInStore); }
  else put('rate', s.target_rate);
}

// ---------------------------------------------------------------- the customer view

let refreshTimer = 0;
function refreshCustomerSoon() {
  refreshTimer ||= setTimeout(() => { refreshTimer = 0; if (selected) loadCustomer(selected); }, 700);
}

function showCustomer(id) {
  const previous = selected;
  selected = id;
  if (previous) dirty.add(previous);
  dirty.add(id);
  schedule();
  $('customer').hidden = false;
  $('customer').dataset.customer = id;
  loadCustomer(id);
}

async function loadCustomer(id) {
  const s = store.shoppers.get(id);
  const where = s ? `${s.state}${s.dep ? ` in ${s.dep}` : ''} at (${Math.round(s.x)}, ${Math.round(s.y)})` : 'not on the plan';
  let html = `<h3>Customer ${esc(id)}</h3><p class="meta">${esc(where)}</p>`;
  if (!hasRole(config.roles, 'recommender')) {
    html += '<p class="note">no recommender in this process: no session to show</p>';
  } else {
    try {
      const session = await json(`sessions/${encodeURIComponent(id)}`);
      if (selected !== id) return;
      html += sessionHtml(session);
    } catch (err) {
      if (selected !== id) return;
      html += `<p class="note">${err.status === 404 ? 'no live session for this customer' : esc(err.message)}</p>`;
    }
  }
  const body = $('customer-body');
  body.innerHTML = html;
  body.dataset.customer = id;
}

function sessionHtml(s) {
  const c = s.customer;
  const state = typeof s.state === 'string' ? s.state : JSON.stringify(s.state);
  const profile = c ? `<dt>gender</dt><dd>${esc(c.gender)}</dd><dt>age</dt><dd>${esc(c.age)}</dd>
      <dt>mean price</dt><dd>${esc(Number(c.mean_buy_price).toFixed(2))}</dd><dt>items bought</dt><dd>${esc(c.total_items_bought)}</dd>
      <dt>coupons used</dt><dd>${esc(c.total_coupons_used)}</dd><dt>mean discount</dt><dd>${esc(Number(c.mean_discount_received).toFixed(1))}%</dd>`
    : `<dt>profile</dt><dd>${s.known_customer === false ? 'unknown customer (not in customer_info)' : 'loading…'}</dd>`;
  const offered = s.offered?.length ? s.offered.map((o) => `#${esc(o)}`).join(', ') : 'none';
  const steps = s.path ?? [];
  const shown = steps.slice(-8);
  const path = (steps.length > shown.length ? `<li class="empty">… ${steps.length - shown.length} earlier</li>` : '') + shown.map((p) => `<li><span class="state-value">${esc(p.state)}</span> <span class="meta">ts ${esc(p.ts)}</span></li>`).join('');
  return `<dl><dt>state</dt><dd><span class="state-value" data-field="state">${esc(state)}</span></dd>${profile}
      <dt>offered</dt><dd data-field="offered">${offered}</dd></dl>
      <h2>Path</h2><ol class="path" data-field="path" start="${steps.length - shown.length + (steps.length > shown.length ? 0 : 1)}">${path || '<li class="empty">—</li>'}</ol>`;
}

$('customer-close').addEventListener('click', () => {
  const previous = selected;
  selected = undefined;
  $('customer').hidden = true;
  if (previous) { dirty.add(previous); schedule(); }
});

// ---------------------------------------------------------------- clock

setInterval(() => {
  if (!store) return;
  for (const id of prune(store, now())) dirty.add(id);
  schedule();
}, 1000);

setStatus('connecting', 'connecting…');
connect();
