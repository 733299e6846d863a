// What needs attention first, and the figures: the "needs help" list (who, where in words, how long
// they have waited), the figures strip (the same window and fold as the charts), and the coupon cards.
import { $, esc, json } from './api.js';
import { placeName, duration, clock, count, rate, millis, reasonName } from './words.js';

const COUPON_TYPES = { just_discount: 'just discount', buy_more: 'buy more', buy_all: 'buy all', department: 'department' };
/** Helped alerts stay listed (greyed) this long, so a colleague sees who was seen to. */
const HELPED_SHOWN_MS = 5 * 60_000;
const saving = new Set();

/** Puts `items` in `list` in this order, moving nodes only when the order changed (a click in progress, an animation, survive). */
function keep(list, items) {
  const now = [...list.children];
  if (now.length === items.length && now.every((li, i) => li === items[i])) return;
  list.replaceChildren(...items);
}

const alertItems = new Map();

/** Open alerts, longest wait first, then the recently helped. Items are kept and updated in place. */
export function drawAlerts(store, now, { onSelect, onHover }) {
  const all = [...store.alerts.values()];
  const open = all.filter((a) => !a.helped).sort((a, b) => a.time - b.time);
  const helped = all.filter((a) => a.helped && now - (a.helpedAt ?? a.time) < HELPED_SHOWN_MS).sort((a, b) => (b.helpedAt ?? 0) - (a.helpedAt ?? 0));
  const badge = $('alert-count');
  badge.textContent = String(open.length);
  badge.classList.toggle('zero', open.length === 0);
  const list = $('alerts');
  const shown = [...open, ...helped];
  for (const id of alertItems.keys()) if (!shown.some((a) => a.id === id)) alertItems.delete(id);
  if (shown.length === 0) {
    if (!list.querySelector('li.empty')) list.innerHTML = '<li class="empty">No one is waiting for help.</li>';
    return;
  }
  keep(
    list,
    shown.map((a) => {
      let li = alertItems.get(a.id);
      if (!li) {
        li = document.createElement('li');
        li.dataset.customer = a.id;
        li.innerHTML =
          '<div class="what"><b class="where"></b>, <span class="waited"></span><span class="who"></span></div><button type="button" title="Mark as helped (recorded in the event log; every dashboard sees it)">Helped</button>';
        const b = li.querySelector('button');
        b.addEventListener('click', () => markHelped(a.id, b));
        li.addEventListener('click', (e) => {
          if (e.target.tagName !== 'BUTTON') onSelect(a.id);
        });
        li.addEventListener('mouseenter', () => onHover(a.id));
        li.addEventListener('mouseleave', () => onHover(undefined));
        alertItems.set(a.id, li);
      }
      li.className = `alert${a.helped ? ' helped' : ''}`;
      li.dataset.waitedMs = String(Math.max(0, Math.round(now - a.time)));
      setText(li.querySelector('.where'), placeName(store.plan, a.x, a.y));
      setText(li.querySelector('.waited'), a.helped ? 'helped' : duration(now - a.time));
      setText(li.querySelector('.who'), `Customer ${a.id} · since ${clock(a.time, now, { seconds: false })}`);
      const b = li.querySelector('button');
      if (a.helped) b?.remove();
      else if (b && !saving.has(a.id) && b.textContent === 'Saving…') {
        b.disabled = false;
        b.textContent = 'Helped';
      }
      return li;
    }),
  );
}

const setText = (el, text) => {
  if (el.textContent !== text) el.textContent = text;
};

async function markHelped(id, button) {
  saving.add(id);
  button.disabled = true;
  button.textContent = 'Saving…';
  try {
    // recorded in the log: the `helped` event comes back on the stream, to every open dashboard
    await json('dashboard/helped', { method: 'POST', body: JSON.stringify({ customer_id: id }) });
    button.textContent = 'Done';
  } catch (err) {
    button.disabled = false;
    button.textContent = 'Helped';
    button.title = `could not record it: ${err.message}`;
  } finally {
    saving.delete(id);
  }
}

/** "17 / 237 ms": two latencies with their unit once when they share it. */
function pair(a, b) {
  const [x, y] = [millis(a), millis(b)];
  const unit = (s) => s.split(' ')[1];
  return unit(x) && unit(x) === unit(y) ? `${x.split(' ')[0]} / ${y}` : `${x} / ${y}`;
}

const put = (id, value, note) => {
  $(id).textContent = value;
  if (note !== undefined) $(`${id}-note`).textContent = note;
};

/** The figures strip: `c` from counters() (the charts' window), `lat` the offers' latency over the same window. */
export function drawFigures(c, lat) {
  put('c-in-store', count(c.inStore), c.inStore === 1 ? 'shopper' : 'shoppers');
  put('c-alerts', count(c.openAlerts), c.openAlerts === 1 ? 'shopper waiting' : 'shoppers waiting');
  $('c-alerts')
    .closest('.figure')
    .classList.toggle('attention', c.openAlerts > 0);
  // over the minutes that have data (a store open 4 minutes divides by 4, not 15), said so
  put('c-offers', count(c.offers), `${rate(c.offersPerMinute)} a minute over ${Number.isInteger(c.minutes) ? c.minutes : c.minutes.toFixed(1)} min`);
  const top = Object.entries(c.byReason).sort((a, b) => b[1] - a[1])[0];
  put('c-declined', count(c.declined), top ? `mostly ${reasonName(top[0])}` : 'no focus went unanswered');
  // /metrics times offers only, the shoppers' and the pump's: the note says so, and its count is
  // "Offered" plus the pump's offers (never "decisions", which would include the declined)
  const offers = `${count(lat.count)} offer${lat.count === 1 ? '' : 's'}`;
  const timed = lat.partial ? `${offers} since page opened` : `${offers} incl. pump`;
  put('c-latency', pair(lat.p50, lat.p99), lat.count ? timed : 'no offer timed yet');
  put('c-load', `${rate(c.loadPerSecond)}/s`, `${count(c.loadFocus)} focus · ${count(c.loadOffers)} offers`);
  put('c-redeemed', count(c.redemptionsToday), 'since midnight');
  const fig = $('c-latency').closest('.figure');
  Object.assign(fig.dataset, { count: String(lat.count), p50: String(lat.p50 ?? ''), p99: String(lat.p99 ?? '') });
}

const rendered = new WeakMap();

/** Coupon cards: decisions for shoppers in the store, newest first. */
export function drawCoupons(store, now) {
  const list = $('coupons');
  if (store.predictions.length === 0) {
    list.innerHTML = '<li class="empty">No coupon offered to a shopper yet.</li>';
    return;
  }
  const have = new Map([...list.querySelectorAll('li.coupon')].map((li) => [li.dataset.ordinal, li]));
  keep(
    list,
    store.predictions.map((p) => {
      const key = String(p.ordinal);
      const li = have.get(key) ?? document.createElement('li');
      const c = p.coupon;
      const n = c.products_count ?? '?';
      const products = `${n} product${n === 1 ? '' : 's'}`;
      const terms =
        {
          just_discount: products,
          buy_more: `buy ${c.how_many} · ${products}`,
          buy_all: `buy all · ${products}`,
          department: `whole department · ${products}`,
        }[c.type] ?? products;
      const ago = now - p.time < 10_000 ? 'just now' : `${duration(now - p.time)} ago`;
      const html = `<div class="top"><span>Customer <a class="phone-link" href="phone/${encodeURIComponent(p.customer)}" target="_blank" rel="noopener" title="What this shopper’s phone shows"><b>${esc(p.customer)}</b></a> · ${esc(c.department)}</span><span class="discount">−${esc(c.discount)}%</span></div>
      <div class="meta">${p.redeemed ? '<span class="redeemed">redeemed</span> ' : ''}<span class="type">${esc(COUPON_TYPES[c.type] ?? c.type)}</span> coupon #${esc(c.id)} · ${esc(terms)}${p.score === undefined ? '' : ` · score ${p.score.toFixed(2)}`} · <span class="ago">${esc(ago)}</span></div>`;
      if (rendered.get(li) !== html) {
        li.innerHTML = html;
        rendered.set(li, html);
      }
      li.className = `coupon${p.redeemed ? ' redeemed' : ''}`;
      li.dataset.ordinal = key;
      li.dataset.customer = p.customer;
      return li;
    }),
  );
}
