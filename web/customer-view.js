// One shopper, clicked on the plan or in the alerts: where they are, and their session from the
// recommender (GET /sessions/:id): profile, the session machine's state and path, the coupons offered.
import { $, esc, json } from './api.js';
import { placeName, clock } from './words.js';

export function createCustomerView({ getStore, roles, onClose }) {
  let selected;
  let timer = 0;
  const shared = new Map(); // customer → the link minted for them, as shown

  async function load(id) {
    const store = getStore();
    const s = store.shoppers.get(id);
    const where = s
      ? `${s.state === 'focused' ? 'looking at' : s.state === 'browsing' ? 'needs help in' : 'walking in'} ${placeName(store.plan, s.x, s.y)}`
      : 'not in the store';
    // the shopper's phone, as they see it (/phone/:id)
    let html = `<h3>Customer ${esc(id)} <a class="phone-link" href="phone/${encodeURIComponent(id)}" target="_blank" rel="noopener" title="What this shopper's phone shows">phone ↗</a></h3><p class="meta">${esc(where)}</p>
      <p class="share"><button type="button" data-action="phone-link" title="A link for the shopper's own phone: their offers only, no token needed, valid for a few hours">Shopper's link</button> <output class="link-out">${shared.get(id) ?? ''}</output></p>`;
    if (!roles.includes('recommender')) {
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

  // the shopper's own phone link, minted by the control plane (signed when a token is set)
  $('customer-body').addEventListener('click', async (e) => {
    if (e.target.dataset?.action !== 'phone-link') return;
    const out = $('customer-body').querySelector('.link-out');
    const id = $('customer-body').dataset.customer;
    try {
      const link = await json('dashboard/phone-link', { method: 'POST', body: JSON.stringify({ customer_id: id }) });
      const until = link.expires_at ? ` · valid until ${clock(Date.parse(link.expires_at), Date.now(), { seconds: false })}` : '';
      // kept: the view is drawn again as the shopper moves
      shared.set(
        id,
        `<input readonly value="${esc(link.url)}" aria-label="the shopper's phone link"><span class="note">${esc(until.slice(3) || 'no token set: the plain address')}</span>`,
      );
      out.innerHTML = shared.get(id);
      out.querySelector('input').select();
      navigator.clipboard?.writeText(link.url).catch(() => {});
    } catch (err) {
      out.textContent = `could not make a link: ${err.message}`;
    }
  });

  $('customer-close').addEventListener('click', () => {
    const previous = selected;
    selected = undefined;
    $('customer').hidden = true;
    onClose(previous);
  });

  return {
    get selected() {
      return selected;
    },
    show(id) {
      selected = id;
      $('customer').hidden = false;
      $('customer').dataset.customer = id;
      load(id);
    },
    /** The shopper changed: the view follows, at most every 0.7 s. */
    changed(id) {
      if (id !== selected) return;
      if (!timer)
        timer = setTimeout(() => {
          timer = 0;
          if (selected) load(selected);
        }, 700);
    },
  };
}

function sessionHtml(s) {
  const c = s.customer;
  const state = typeof s.state === 'string' ? s.state : JSON.stringify(s.state);
  const profile = c
    ? `<dt>gender</dt><dd>${esc(c.gender)}</dd><dt>age</dt><dd>${esc(c.age)}</dd>
      <dt>mean price</dt><dd>${esc(Number(c.mean_buy_price).toFixed(2))}</dd><dt>items bought</dt><dd>${esc(c.total_items_bought)}</dd>
      <dt>coupons used</dt><dd>${esc(c.total_coupons_used)}</dd><dt>mean discount</dt><dd>${esc(Number(c.mean_discount_received).toFixed(1))}%</dd>`
    : `<dt>profile</dt><dd>${s.known_customer === false ? 'unknown customer (not in customer_info)' : 'loading…'}</dd>`;
  const offered = s.offered?.length ? s.offered.map((o) => `#${esc(o)}`).join(', ') : 'none';
  const steps = s.path ?? [];
  const shown = steps.slice(-8);
  // event times are seconds (the shopper's own clock, simulated time under the simulator); a session
  // opened before its first event has none (0): no time rather than 1 Jan 1970
  const when = (ts) =>
    typeof ts === 'number' && ts > 0
      ? ` <span class="meta">at ${clock(ts * 1000)}</span>`
      : typeof ts === 'string' && ts
        ? ` <span class="meta">at ${esc(ts)}</span>`
        : '';
  const path =
    (steps.length > shown.length ? `<li class="empty">… ${steps.length - shown.length} earlier</li>` : '') +
    shown.map((p) => `<li><span class="state-value">${esc(p.state)}</span>${when(p.ts)}</li>`).join('');
  return `<dl><dt>state</dt><dd><span class="state-value" data-field="state">${esc(state)}</span></dd>${profile}
      <dt>offered</dt><dd data-field="offered">${offered}</dd></dl>
      <h2>Path</h2><ol class="path" data-field="path" start="${steps.length - shown.length + (steps.length > shown.length ? 0 : 1)}">${path || '<li class="empty">—</li>'}</ol>`;
}
