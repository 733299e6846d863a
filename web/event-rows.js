// The events view's rows: one log event in words (who, what, where), and the view's filter as the
// config query and the page's address. Pure: the page and the Node tests use the same functions.
import { placeName, reasonName } from './words.js';
import { discountText } from './coupon-words.js';

/** Event types the filter offers (any other is typed in). */
export const EVENT_TYPES = ['entry', 'move', 'focus', 'browsing', 'helped', 'prediction', 'no_prediction', 'redemption', 'exit', 'rejected'];

const COUPON_TYPES = { just_discount: 'just discount', buy_more: 'buy more', buy_all: 'buy all', department: 'department' };

/** The customer an event is about: its id or customer_id, else its `customer-<id>` log stream. */
export function customerOf(msg) {
  const b = msg.message_body ?? {};
  const id = b.id ?? b.customer_id;
  if (typeof id === 'string' || typeof id === 'number') return String(id);
  return typeof msg.stream_id === 'string' && msg.stream_id.startsWith('customer-') ? msg.stream_id.slice('customer-'.length) : '';
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);
const at = (plan, b) => (num(b.x) && num(b.y) ? `${placeName(plan, b.x, b.y)} (${b.x}, ${b.y})` : '');

/** What happened, in words. */
export function eventWhat(msg, plan) {
  const b = msg.message_body ?? {};
  switch (msg.message_type) {
    case 'entry':
      return 'entered the store';
    case 'exit':
      return 'left the store';
    case 'move':
      return `moved to ${at(plan, b)}`;
    case 'focus':
      return `looking at ${b.dep ?? '?'}`;
    case 'browsing':
      return `needs help: ${at(plan, b) || 'somewhere in the store'}`;
    case 'helped':
      return 'was helped';
    case 'prediction': {
      const c = b.coupon ?? {};
      return `offered coupon #${c.id} (${COUPON_TYPES[c.type] ?? c.type}, ${c.department}) ${discountText(c.discount)}${num(b.score) ? ` · score ${b.score.toFixed(2)}` : ''}`;
    }
    case 'no_prediction':
      return `no coupon: ${reasonName(b.reason)}${b.dep ? ` (${b.dep})` : ''}`;
    case 'redemption':
      return `used coupon #${b.coupon_id}`;
    case 'rejected':
      return `rejected on ${b.topic ?? '?'}: ${b.reason ?? b.code ?? '?'}`;
    case 'catalogue_loaded':
      return `catalogue loaded: ${b.coupons ?? '?'} coupons (version ${b.catalogue ?? '?'})`;
    default:
      return String(msg.message_type ?? '?').replace(/_/g, ' ');
  }
}

/** The filter in the page's address (?customer=&type=&from=), empty parts left out. */
export function filterFromQuery(search) {
  const q = new URLSearchParams(search);
  const from = Number(q.get('from'));
  return {
    customer: q.get('customer')?.trim() || undefined,
    type: q.get('type')?.trim() || undefined,
    from: q.get('from') !== null && Number.isSafeInteger(from) && from >= 0 ? from : undefined,
  };
}

export function queryOf({ customer, type, from }) {
  const q = new URLSearchParams();
  if (customer) q.set('customer', customer);
  if (type) q.set('type', type);
  if (from !== undefined) q.set('from', String(from));
  return q.toString();
}

/** The config the view's stream comes from: the whole log, narrowed by the filter (the server finds its newest events), from its start. */
export function configQuery({ customer, type, from }) {
  const q = new URLSearchParams({ scope: 'log' });
  if (customer) q.set('customer', customer);
  if (type) q.set('type', type);
  if (from !== undefined) q.set('from', String(from));
  return `dashboard/config?${q}`;
}

/** Events of a customer's visit, and those that only make sense for a shopper inside (the pump's focus events are not). */
const VISIT = { entry: true, move: true, exit: false };
const SHOPPER_ONLY = new Set(['focus', 'prediction', 'no_prediction']);

/**
 * Who is inside, from the customers inside at the view's start (the config's `inside`) and the events
 * since; `isPump(msg)` after `see(msg)`: a focus or a decision for someone not inside is the pump's
 * load (seed 000 draws random customers who never walk in), not a shopper's.
 */
export function createPresence(inside = []) {
  const present = new Set(inside.map(String));
  return {
    see(msg) {
      const who = customerOf(msg);
      const v = VISIT[msg.message_type];
      if (!who || v === undefined) return;
      if (v) present.add(who);
      else present.delete(who);
    },
    isPump(msg) {
      const who = customerOf(msg);
      return !!who && SHOPPER_ONLY.has(msg.message_type) && !present.has(who);
    },
  };
}
