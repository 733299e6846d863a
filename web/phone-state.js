// A shopper's phone, folded from their stream's messages (the gateway's `customer.<id>` stream):
// whether they are in the store, where, and the coupons offered in this visit. Pure: no DOM, no clock.
//
// A visit starts with an entry, or with a move when they were not inside (a scenario draft walks in
// without one), and ends with an exit. An offer made while they are not inside (the focus pump draws
// random ids) is no offer of a visit: the phone does not show it.
import { departmentAt } from './words.js';

/** @typedef {'waiting' | 'inside' | 'left'} Presence */

export function createPhone(customer, plan) {
  return {
    customer: String(customer),
    plan,
    /** @type {Presence} */
    presence: 'waiting',
    /** the department they are in (a focus, or a move inside one), null in the aisles */
    dep: null,
    enteredAt: undefined,
    leftAt: undefined,
    /** this visit's offers, newest first */
    coupons: [],
    /** this visit's focus without an offer (the recommender's no_prediction: why), newest first */
    declined: [],
    lastOrdinal: 0,
    duplicates: 0,
  };
}

const idOf = (body) => ((body.id ?? body.customer_id) == null ? undefined : String(body.id ?? body.customer_id));

function startVisit(phone, t) {
  phone.presence = 'inside';
  phone.coupons = [];
  phone.declined = [];
  phone.dep = null;
  phone.enteredAt = t;
  phone.leftAt = undefined;
}

/** Folds one message; returns whether the phone changed (false for another customer's, or one already seen). */
export function applyPhone(phone, msg) {
  const ordinal = msg.ess_ordinal;
  if (typeof ordinal !== 'number' || ordinal <= phone.lastOrdinal) {
    phone.duplicates++;
    return false;
  }
  phone.lastOrdinal = ordinal;
  const body = msg.message_body ?? {};
  if (idOf(body) !== phone.customer) return false;
  const t = msg.ess_timestamp;
  switch (msg.message_type) {
    case 'entry':
      startVisit(phone, t);
      return true;
    case 'move':
      if (phone.presence !== 'inside') startVisit(phone, t);
      phone.dep = typeof body.x === 'number' && typeof body.y === 'number' ? departmentAt(phone.plan, body.x, body.y) : phone.dep;
      return true;
    case 'focus':
      if (phone.presence !== 'inside') return false; // load, not a shopper
      phone.dep = body.dep ?? phone.dep;
      return true;
    case 'prediction': {
      if (phone.presence !== 'inside') return false;
      const c = body.coupon ?? {};
      phone.coupons.unshift({
        ordinal,
        time: t,
        id: c.id,
        type: c.type,
        department: c.department,
        discount: c.discount,
        how_many: c.how_many,
        products_count: c.products_count,
        start_date: c.start_date,
        end_date: c.end_date,
        redeemed: false,
      });
      return true;
    }
    case 'no_prediction':
      // a focus that got no coupon: the phone says why rather than staying silent
      if (phone.presence !== 'inside') return false;
      phone.declined.unshift({ ordinal, time: t, dep: body.dep ?? null, reason: body.reason ?? 'other' });
      return true;
    case 'redemption': {
      const offer = phone.coupons.find((c) => c.id === body.coupon_id && !c.redeemed);
      if (!offer) return false;
      offer.redeemed = true;
      return true;
    }
    case 'exit':
      if (phone.presence !== 'inside') return false;
      phone.presence = 'left';
      phone.leftAt = t;
      phone.dep = null;
      return true;
    default:
      return false;
  }
}
