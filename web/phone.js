// A shopper's phone (/phone/<customer id>): the coupons offered to this customer in this visit, the
// moment they are published, fed by the event-stream gateway (the customer's own stream,
// `customer.<id>`, from their last entry, handed out by GET /phone/<id>/config). The products of an
// offer come from the control plane (GET /phone/<id>/coupons/:id: the log keeps the decision, not the
// ~600 names of a department coupon). With a token set, the shopper's signed link (?until=&sig=) opens
// it; staff may log in with the token instead.
import { $, esc, json, onAccess, showLogin } from './api.js';
import { connectStream } from './stream.js';
import { createPhone, applyPhone } from './phone-state.js';
import { discountText, offerTerms, validity, productLines, noOfferLine } from './coupon-words.js';
import { clock } from './words.js';

const customer = decodeURIComponent(location.pathname.replace(/\/+$/, '').split('/').pop() ?? '');
// the signed link's part, passed on to the phone's calls (the server checks it)
const link = new URLSearchParams([...new URLSearchParams(location.search)].filter(([k]) => k === 'until' || k === 'sig')).toString();
const withLink = (path) => `phone/${encodeURIComponent(customer)}/${path}${link ? `?${link}` : ''}`;

/** What tests (and a curious person in the console) can look at. */
const view = { customer, phone: undefined, status: 'connecting', shown: {}, stats: { messages: 0, connects: 0, closes: [] } };
window.storeflowPhone = view;

let phone;
const products = new Map(); // coupon id → Promise of its details

function setStatus(status, text) {
  view.status = status;
  const el = $('connection');
  el.className = `connection ${status}`;
  el.textContent = text;
}

function visitText(p) {
  if (p.presence === 'inside') return p.dep ? `In the store · ${p.dep}` : 'In the store';
  if (p.presence === 'left') return `You left at ${clock(p.leftAt, Date.now(), { seconds: false })}. Thank you for visiting!`;
  return 'Not in the store yet: your offers appear here while you shop.';
}

function productsOf(id) {
  if (!products.has(id))
    products.set(
      id,
      json(withLink(`coupons/${encodeURIComponent(id)}`)).catch((err) => {
        products.delete(id); // asked again at the next render
        throw err;
      }),
    );
  return products.get(id);
}

function fillProducts(li, c) {
  productsOf(c.id).then(
    (d) => {
      const { shown, more } = productLines(
        d.products.map((p) => p.name),
        d.products_count,
      );
      li.querySelector('.products').innerHTML = shown.map((n) => `<li>${esc(n)}</li>`).join('') + (more ? `<li class="more">${esc(more)}</li>` : '');
      li.dataset.products = 'loaded';
    },
    () => {
      li.querySelector('.products').innerHTML = `<li class="more">${esc(`${c.products_count ?? '?'} products`)}</li>`;
    },
  );
}

function offerItem(c) {
  const li = document.createElement('li');
  li.className = 'offer';
  li.dataset.ordinal = String(c.ordinal);
  li.dataset.coupon = String(c.id);
  li.innerHTML = `<div class="deal"><b class="discount">${esc(discountText(c.discount))}</b><span class="terms">${esc(offerTerms(c))}</span></div>
    <div class="department">${esc(c.department)}</div>
    <ul class="products"><li class="more">…</li></ul>
    <p class="validity">${esc(validity(c.start_date, c.end_date))}</p>
    <p class="when">offered at ${esc(clock(c.time, Date.now()))} · coupon #${esc(c.id)}</p>`;
  fillProducts(li, c);
  return li;
}

const items = new Map(); // ordinal → li

/** The focus that got no coupon this visit, and why (the latest three): a walk never ends in silence. */
function renderDeclined() {
  const shown = phone.declined.slice(0, 3);
  $('no-offers').hidden = shown.length === 0;
  $('no-offers').innerHTML = shown
    .map(
      (d) =>
        `<li data-ordinal="${d.ordinal}" data-reason="${esc(d.reason)}">${esc(noOfferLine(d))} <span class="when">${esc(clock(d.time, Date.now()))}</span></li>`,
    )
    .join('');
}

function render() {
  $('visit').textContent = visitText(phone);
  $('visit').className = `visit ${phone.presence}`;
  renderDeclined();
  const list = $('offers');
  const badge = $('offer-count');
  badge.textContent = String(phone.coupons.length);
  badge.classList.toggle('zero', phone.coupons.length === 0);
  if (phone.coupons.length === 0) {
    items.clear();
    list.innerHTML = '<li class="empty">No offers yet. Look around: an offer appears here the moment it is made for you.</li>';
    return;
  }
  const shown = phone.coupons.map((c) => {
    let li = items.get(c.ordinal);
    if (!li) {
      li = offerItem(c);
      items.set(c.ordinal, li);
      // when it reached the screen: the tests measure publication → phone
      view.shown[c.ordinal] = Date.now();
    }
    li.classList.toggle('redeemed', c.redeemed);
    if (c.redeemed && !li.querySelector('.used')) li.querySelector('.deal').insertAdjacentHTML('beforeend', '<span class="used">used</span>');
    return li;
  });
  for (const key of items.keys()) if (!phone.coupons.some((c) => c.ordinal === key)) items.delete(key);
  // new cards go in at their place; the others stay put (moving a node would replay its arrival)
  list.querySelector('li.empty')?.remove();
  shown.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
  while (list.children.length > shown.length) list.lastElementChild.remove();
}

function onMessage(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return;
  }
  view.stats.messages++;
  if (applyPhone(phone, msg)) render();
}

/** The link was refused (none, changed, expired, another customer's): say so, and let staff log in. */
function refused(message) {
  setStatus('login', link ? 'link refused' : 'link needed');
  view.refused = message;
  $('refused-text').textContent = message;
  $('refused').hidden = false;
}
$('staff-login').addEventListener('click', () => showLogin());
onAccess({
  form: false,
  unauthorized: () => refused('This page opens with your own phone link: ask the store staff for it.'),
  loggedIn: () => {
    $('refused').hidden = true;
    stream.resume();
  },
});

$('greeting').textContent = `Hello, customer ${customer}`;
document.title = `storeflow — customer ${customer}'s offers`;
const stream = connectStream({
  configUrl: () => withLink('config'),
  onConfig: (cfg) => {
    if (phone) return;
    phone = view.phone = createPhone(customer, cfg.plan);
    // the visit so far (from their last entry), then live
    phone.lastOrdinal = cfg.visit_from - 1;
    render();
  },
  from: () => phone.lastOrdinal + 1,
  onMessage,
  onStatus: setStatus,
  onRefused: (err) => refused(`${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`),
  stats: view.stats,
});
