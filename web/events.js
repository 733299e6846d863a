// The events log, live: every event of the log (or a customer's, or one type's), newest first, with
// human times; resumable from any ordinal (the gateway's stream_from_ordinal), and the filter is in
// the page's address, so a view can be shared or reloaded. Fed by the event-stream gateway.
import { $, esc, onAccess } from './api.js';
import { connectStream } from './stream.js';
import { EVENT_TYPES, customerOf, eventWhat, filterFromQuery, queryOf, configQuery, createPresence } from './event-rows.js';
import { clock, count } from './words.js';

/** Rows kept on the page (the newest); older ones are in the log, a `from` away. */
export const MAX_ROWS = 500;

const view = {
  status: 'connecting',
  filter: filterFromQuery(location.search),
  lastOrdinal: undefined,
  firstOrdinal: undefined,
  received: 0,
  stats: { connects: 0, closes: [] },
};
window.storeflowEvents = view;

let plan;
let presence; // who is inside: the pump's focus events are marked as load
let pending = [];
let frame = 0;
const body = $('events');

function setStatus(status, text) {
  view.status = status;
  const el = $('connection');
  el.className = `connection ${status}`;
  el.textContent = text;
}

function rowHtml(msg, pump) {
  const customer = customerOf(msg);
  const t = msg.ess_timestamp;
  const who = customer
    ? `<a class="filter-customer" href="events.html?${esc(queryOf({ customer }))}" title="Only this customer's events">${esc(customer)}</a>${
        pump
          ? '<span class="pump-mark" title="Not in the store: the focus pump\'s synthetic load (seed 000), not a shopper">pump</span>'
          : `<a class="phone" href="phone/${encodeURIComponent(customer)}" target="_blank" rel="noopener" title="What this shopper's phone shows">phone ↗</a>`
      }`
    : '';
  return `<td class="ordinal">${msg.ess_ordinal}</td><td class="time" title="${esc(new Date(t).toISOString())}">${esc(clock(t, Date.now()))}</td><td class="type"><span>${esc(msg.message_type)}</span></td><td class="customer">${who}</td><td class="what">${esc(eventWhat(msg, plan))}</td>`;
}

function flush() {
  frame = 0;
  if (pending.length === 0) return;
  body.querySelector('tr.empty')?.remove();
  const rows = pending.reverse().map(({ msg, pump }) => {
    const tr = document.createElement('tr');
    tr.dataset.ordinal = String(msg.ess_ordinal);
    tr.dataset.type = msg.message_type;
    if (pump) tr.dataset.pump = '';
    tr.innerHTML = rowHtml(msg, pump);
    if (view.stats.connects && view.status === 'live') tr.className = 'fresh';
    return tr;
  });
  pending = [];
  body.prepend(...rows);
  while (body.children.length > MAX_ROWS) body.lastElementChild.remove();
  summary();
}

function summary() {
  const shown = body.querySelectorAll('tr[data-ordinal]').length;
  const f = view.filter;
  const what = [f.customer && `customer ${f.customer}`, f.type && `type ${f.type}`].filter(Boolean).join(', ') || 'every event';
  $('summary').textContent =
    view.received === 0
      ? `${what} · nothing yet`
      : `${what} · ${count(view.received)} received from ordinal ${view.firstOrdinal}${shown < view.received ? ` · the latest ${count(shown)} shown` : ''}`;
}

function onMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return;
  }
  // ordinals only go up: a resumed stream never shows a row twice
  if (typeof msg.ess_ordinal !== 'number' || (view.lastOrdinal !== undefined && msg.ess_ordinal <= view.lastOrdinal)) return;
  view.lastOrdinal = msg.ess_ordinal;
  view.firstOrdinal ??= msg.ess_ordinal;
  view.received++;
  presence.see(msg);
  pending.push({ msg, pump: presence.isPump(msg) });
  if (!frame) frame = requestAnimationFrame(flush);
}

function showFilter() {
  const form = $('filter');
  form.elements.customer.value = view.filter.customer ?? '';
  form.elements.type.value = view.filter.type ?? '';
  form.elements.from.value = view.filter.from ?? '';
}

/** A new filter or start: the list begins again, and so does the stream. */
function apply(filter) {
  view.filter = filter;
  view.lastOrdinal = view.firstOrdinal = undefined;
  view.received = 0;
  pending = [];
  body.innerHTML = '<tr class="empty"><td colspan="5">Waiting for events…</td></tr>';
  history.replaceState(null, '', `events.html${queryOf(filter) ? `?${queryOf(filter)}` : ''}`);
  showFilter();
  summary();
  stream.restart();
}

$('event-types').innerHTML = EVENT_TYPES.map((t) => `<option value="${t}"></option>`).join('');
$('filter').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target;
  const from = form.elements.from.value === '' ? undefined : Number(form.elements.from.value);
  apply({ customer: form.elements.customer.value.trim() || undefined, type: form.elements.type.value.trim() || undefined, from });
});
$('clear-filter').addEventListener('click', () => apply({}));
showFilter();

onAccess({ unauthorized: () => setStatus('login', 'token needed'), loggedIn: () => stream.resume() });

const stream = connectStream({
  configUrl: () => configQuery(view.filter),
  onConfig: (cfg) => {
    plan = cfg.plan;
    // the first connect of a filter: who is inside at its start (a reconnect goes on with what it saw)
    if (view.lastOrdinal === undefined) presence = createPresence(cfg.inside);
  },
  // the first time from the filter's ordinal, else its newest 200 events in the whole log (the server finds them); then after the last one seen
  from: (cfg) => (view.lastOrdinal !== undefined ? view.lastOrdinal + 1 : (view.filter.from ?? cfg.filter_from)),
  onMessage,
  onStatus: setStatus,
  stats: view.stats,
});
summary();
