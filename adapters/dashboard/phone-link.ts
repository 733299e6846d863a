/**
 * A shopper's own phone link: `/phone/<customer>?until=<unix s>&sig=<HMAC>`. With a token set
 * (CONTROL_TOKEN, or ESS_API_TOKEN alone) the phone's calls need either the operator's credentials
 * or this signature, which opens that one customer's phone until `until` and nothing else. The key
 * is derived from the token with a fixed label (HMAC-SHA256), so a link never reveals the token, and
 * a new token voids every link. The operator mints links with POST /dashboard/phone-link.
 */
import { createHmac } from 'node:crypto';
import { sameSecret } from '../process/access.ts';

/** How long a minted link opens the phone unless the operator says otherwise (a visit and then some). */
export const PHONE_LINK_DEFAULT_S = 4 * 3600;
/** The longest a link may be made for. */
export const PHONE_LINK_MAX_S = 7 * 86_400;

const keyOf = (token: string) => createHmac('sha256', token).update('storeflow phone link key v1').digest();
const macOf = (token: string, customer: string, until: number) => createHmac('sha256', keyOf(token)).update(`phone ${customer} ${until}`).digest('base64url');

export interface PhoneLink {
  customer: string;
  /** Unix seconds: the link opens the phone until then. */
  until: number;
  sig: string;
  /** The page's path with the signature, relative to the control plane's root. */
  path: string;
}

export function signPhoneLink(token: string, customer: string, validForS: number, now = Date.now()): PhoneLink {
  const until = Math.floor(now / 1000) + validForS;
  const sig = macOf(token, customer, until);
  return { customer, until, sig, path: `/phone/${encodeURIComponent(customer)}?until=${until}&sig=${sig}` };
}

export type LinkCheck = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** Whether `until` and `sig` (the link's query) open this customer's phone now. */
export function checkPhoneLink(token: string, customer: string, link: { until?: string; sig?: string }, now = Date.now()): LinkCheck {
  if (link.until === undefined && link.sig === undefined)
    return { ok: false, status: 401, message: 'this phone page needs its signed link (ask the store staff for your link), or the control token' };
  const until = /^\d{1,12}$/.test(link.until ?? '') ? Number(link.until) : undefined;
  if (until === undefined || !/^[A-Za-z0-9_-]{43}$/.test(link.sig ?? ''))
    return { ok: false, status: 403, message: 'this phone link is not valid (it was cut or changed): ask the store staff for a new link' };
  if (!sameSecret(link.sig ?? '', macOf(token, customer, until)))
    return {
      ok: false,
      status: 403,
      message: `this phone link is not valid for customer ${customer} (it was changed, or is another customer's): ask the store staff for your link`,
    };
  if (until * 1000 < now)
    return { ok: false, status: 403, message: `this phone link expired at ${new Date(until * 1000).toISOString()}: ask the store staff for a new link` };
  return { ok: true };
}
