// Words and numbers for people: where on the plan, how long ago, what time. Pure: the page and the
// Node tests use the same functions.

/** The department whose rectangle holds the point (borders included), or null in the aisles. */
export function departmentAt(plan, x, y) {
  for (const [name, r] of Object.entries(plan.departments)) if (x >= r.x1 && x <= r.x2 && y >= r.y1 && y <= r.y2) return name;
  return null;
}

const rectDistance = (r, x, y) => Math.hypot(Math.max(r.x1 - x, 0, x - r.x2), Math.max(r.y1 - y, 0, y - r.y2));

/** Where a point is, in words: "Women", "by the entrance", "aisle by Men", "front of the store". */
export function placeName(plan, x, y) {
  const dep = departmentAt(plan, x, y);
  if (dep) return dep;
  if (Math.hypot(x - plan.entrance.x, y - plan.entrance.y) < 100) return 'by the entrance';
  if (Math.hypot(x - plan.exit.x, y - plan.exit.y) < 100) return 'by the exit';
  let best = null,
    d = Infinity;
  for (const [name, r] of Object.entries(plan.departments)) {
    const dd = rectDistance(r, x, y);
    if (dd < d) {
      d = dd;
      best = name;
    }
  }
  if (best && d <= 200) return `aisle by ${best}`;
  const deps = Object.values(plan.departments);
  const top = Math.min(...deps.map((r) => r.y1)),
    left = Math.min(...deps.map((r) => r.x1)),
    right = Math.max(...deps.map((r) => r.x2));
  if (y < top) return 'front of the store';
  if (x < left) return 'left side of the store';
  if (x > right) return 'right side of the store';
  return 'back of the store';
}

/** A duration for a person: "40 s", "2 min", "1 h 5 min". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const SHORT = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });

/** A clock time (local, 24 h): "10:42:07"; another day gets its date too. `seconds: false` drops the seconds. */
export function clock(ms, now = Date.now(), { seconds = true } = {}) {
  const d = new Date(ms);
  const time = (seconds ? TIME : SHORT).format(d);
  return new Date(now).toDateString() === d.toDateString() ? time : `${DAY.format(d)} ${time}`;
}

/** A whole number with thousands separators. */
export const count = (n) => Math.round(n).toLocaleString('en-US');

/** A rate: one decimal below 10, whole above. */
export const rate = (x) => (x < 10 ? x.toFixed(1) : String(Math.round(x)));

/** Milliseconds from seconds, for people: "3.2 ms", "12 ms", "1.4 s"; "—" when there is no figure. */
export function millis(seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '—';
  const ms = seconds * 1000;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export const plural = (n, one, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

/** The reasons a focus gets no coupon (the recommender's `no_prediction`), in words. */
export const REASONS = {
  below_threshold: 'score too low',
  all_offered: 'all offered already',
  no_coupons: 'no coupons',
  no_valid_coupons: 'no valid coupons',
  unknown_customer: 'unknown customer',
  scorer_failed: 'scoring failed',
  customer_left: 'customer left',
};
export const reasonName = (r) => REASONS[r] ?? String(r ?? 'other').replace(/_/g, ' ');
