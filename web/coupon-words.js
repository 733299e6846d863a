// A coupon in a shopper's words: the discount ("−31 %"), what to buy, how long it is valid. Pure: the
// phone and the Node tests use the same functions.

/** "−31 %", "−12.5 %" (the minus sign, a space before the percent sign). */
export function discountText(discount) {
  const n = Number(discount);
  if (!Number.isFinite(n)) return '';
  return `−${Number.isInteger(n) ? n : n.toFixed(1)} %`;
}

/** What the shopper has to buy: "on 1 product", "when you buy 3", "when you buy all 2 together", "on the whole Men department". */
export function offerTerms(c) {
  const n = c.products_count;
  switch (c.type) {
    case 'just_discount':
      return 'on 1 product';
    case 'buy_more':
      return `when you buy ${c.how_many}`;
    case 'buy_all':
      return `when you buy all ${c.how_many ?? n} together`;
    case 'department':
      return `on the whole ${c.department} department`;
    default:
      return String(c.type ?? '').replace(/_/g, ' ');
  }
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const day = (s) => (typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) ? DATE.format(new Date(`${s}T00:00:00Z`)) : undefined);

/** "valid 1 Jan 2020 – 31 Dec 2030", "valid on 2 Jun 2025"; '' without dates. */
export function validity(start, end) {
  const [a, b] = [day(start), day(end)];
  if (a && b) return a === b ? `valid on ${a}` : `valid ${a} – ${b}`;
  if (b) return `valid until ${b}`;
  if (a) return `valid from ${a}`;
  return '';
}

/** The products a card names: the first `max`, and a line for the rest ("and 597 more"), if any. */
export function productLines(names, count, max = 3) {
  const shown = names.slice(0, max);
  const more = Math.max(0, (count ?? names.length) - shown.length);
  return { shown, more: more ? `and ${more} more` : undefined };
}

/** Why a shopper's focus got no coupon, in a shopper's words (the recommender's no_prediction reasons). */
const NO_OFFER = {
  below_threshold: 'no coupon scored above the threshold for you',
  all_offered: 'you already have every coupon we would offer there',
  no_coupons: 'there are no coupons in this department',
  no_valid_coupons: 'no coupon of this department is valid today',
  unknown_customer: 'this customer number is not in our customer list',
  scorer_failed: 'the recommendation could not be made this time',
  customer_left: 'you had left the store',
};
export const noOfferWords = (reason) => NO_OFFER[reason] ?? String(reason ?? 'no reason given').replace(/_/g, ' ');

/** A focus without an offer: "Looked at Men: no coupon scored above the threshold for you." */
export const noOfferLine = (d) => `${d.dep ? `Looked at ${d.dep}` : 'Looked around'}: ${noOfferWords(d.reason)}.`;
