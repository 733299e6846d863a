/**
 * What the soak published, kept in a `Ledger` of typed arrays (a 10-minute run at 1,000/s is ~1M
 * inputs): each input's kind, customer, event second, department and visit, whether the broker
 * acknowledged it, and the coupon first seen for it on the wire; and the keys that name an input.
 */

/** The store's departments as the seeds name them (REFERENCE.md); the soak uses only storeflow's public surface. */
export const DEPARTMENTS = ['Men', 'Sport', 'Boys', 'Girls', 'Women'] as const;

export const KINDS = ['entry', 'focus', 'exit'] as const;
export type Kind = (typeof KINDS)[number];
export const KIND: Record<Kind, number> = { entry: 0, focus: 1, exit: 2 };

/** (customer index, event second) as one number: every input of the run has its own. */
export const inputKey = (customer: number, tsSec: number) => customer * 4294967296 + tsSec;

function grow<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, n: number): T {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/** Every input published, in publication order (its sequence number is its index). */
export class Ledger {
  n = 0;
  kind = new Uint8Array(1024);
  customer = new Uint32Array(1024);
  tsSec = new Uint32Array(1024);
  dep = new Uint8Array(1024);
  visit = new Uint32Array(1024);
  /** 1 once the broker acknowledged it. */
  acked = new Uint8Array(1024);
  /** When it was handed to the client (ms since the run's start). */
  at = new Float64Array(1024);
  /** The coupon first seen on the wire for this focus (0 = none yet). */
  wireCoupon = new Int32Array(1024);
  readonly byKey = new Map<number, number>();
  /** Per visit: its customer and its focuses' sequence numbers (-1 = none). */
  visits = 0;
  visitCustomer = new Uint32Array(1024);
  visitFocus = new Int32Array(3 * 1024).fill(-1);
  ackedCount = [0, 0, 0];

  constructor(readonly customerIds: string[]) {}

  newVisit(customer: number): number {
    const v = this.visits++;
    this.visitCustomer = grow(this.visitCustomer, this.visits);
    if (this.visitFocus.length < 3 * this.visits) {
      const old = this.visitFocus.length;
      this.visitFocus = grow(this.visitFocus, 3 * this.visits);
      this.visitFocus.fill(-1, old);
    }
    this.visitCustomer[v] = customer;
    return v;
  }

  add(kind: number, customer: number, tsSec: number, dep: number, visit: number, at: number, focusSlot: number): number {
    const i = this.n++;
    if (i >= this.kind.length) {
      const m = this.n;
      this.kind = grow(this.kind, m);
      this.customer = grow(this.customer, m);
      this.tsSec = grow(this.tsSec, m);
      this.dep = grow(this.dep, m);
      this.visit = grow(this.visit, m);
      this.acked = grow(this.acked, m);
      this.at = grow(this.at, m);
      this.wireCoupon = grow(this.wireCoupon, m);
    }
    this.kind[i] = kind;
    this.customer[i] = customer;
    this.tsSec[i] = tsSec;
    this.dep[i] = dep;
    this.visit[i] = visit;
    this.at[i] = at;
    this.byKey.set(inputKey(customer, tsSec), i);
    if (focusSlot >= 0) this.visitFocus[3 * visit + focusSlot] = i;
    return i;
  }

  ack(i: number): void {
    if (this.acked[i]) return;
    this.acked[i] = 1;
    this.ackedCount[this.kind[i]]++;
  }
  get ackedTotal(): number {
    return this.ackedCount[0] + this.ackedCount[1] + this.ackedCount[2];
  }
}
