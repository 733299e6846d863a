/**
 * Coupon dates explained (issue 19.2). storeflow offers only coupons valid on a focus's date
 * (COUPON_VALIDITY=check, the default: a real store must), while the original never looked at dates
 * and its data set's coupons are of 2010–2013: loaded as they are, live events find none. Two
 * messages say why instead of leaving a user with nothing: a focus that finds coupons in its
 * department but none valid at its time gets `no_valid_coupons` with the department's window and a
 * hint; and at start and on reload, one warning when no coupon is valid within 30 days of now.
 */
import type { CouponCatalogue } from './coupon-catalogue.ts';
import type { Department } from '../../schemas/departments.ts';

/** What to do about coupons that are out of date for the events. */
export const COUPON_VALIDITY_HINT =
  "no coupon of the department is valid on the event's date: load coupons for these dates, or set COUPON_VALIDITY=ignore to offer coupons whatever their dates (as the original did)";

/** The extra fields of a `no_valid_coupons` decision (the log record and the mock endpoints' answer). */
export function noValidCouponsDetail(catalogue: CouponCatalogue, dep: Department): { coupon_validity: { from: string; to: string } | null; hint: string } {
  return { coupon_validity: catalogue.validity(dep) ?? null, hint: COUPON_VALIDITY_HINT };
}

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The warning to log once at start and on reload, or undefined: none when dates are ignored, when
 * nothing is loaded, or when some coupon is valid within `days` days of now.
 */
export function couponDatesWarning(
  catalogue: CouponCatalogue,
  validity: 'check' | 'ignore',
  nowMs: number,
  days = 30,
): { message: string; window: { from: string; to: string } } | undefined {
  const window = catalogue.validity();
  if (validity === 'ignore' || !window) return undefined;
  if (catalogue.anyValidBetween(day(nowMs - days * DAY), day(nowMs + days * DAY))) return undefined;
  return {
    window,
    message: `no loaded coupon is valid within ${days} days of now (the coupons are valid from ${window.from} to ${window.to}): live focus events will get no prediction (no_valid_coupons). Set COUPON_VALIDITY=ignore to offer coupons whatever their dates (as the original did), or load coupons for today`,
  };
}
