/**
 * What the soak found: the published ledger and the wire held against storeflow's event log, read
 * straight from the database (never from storeflow's metrics).
 * - lost: acknowledged by the broker to the load client, but not in the log (matched by customer and
 *   event second, i.e. by payload, and checked for kind and department)
 * - decided twice: a focus with more than one decision (prediction / no_prediction) in the log, or two
 *   different predictions for it on the wire
 * - coupons twice: one coupon offered for two focuses of the same visit (entry to exit)
 * - reordered: per customer, an input logged after one published later
 * - stalls: the longest gap between predictions arriving on the wire while publishing, and after each fault
 */
import { DEPARTMENTS, KIND, inputKey, type Ledger } from './soak-ledger.ts';
import type { Wire } from './soak-wire.ts';

export interface LoggedInput {
  type: string;
  id: string;
  ts: number;
  dep: string | null;
}
export interface LoggedDecision {
  type: string;
  id: string;
  ts: number;
  coupon: number | null;
  reason: string | null;
}

export interface Fault {
  kind: 'storeflow' | 'broker' | 'database';
  how: string;
  start: number;
  back: number;
}

export interface Stall {
  ms: number;
  from: number;
  fault?: string;
}

export interface Verdict {
  published: number;
  publishedByKind: Record<string, number>;
  unconfirmed: number;
  unconfirmedLogged: number;
  logged: number;
  loggedTwice: number;
  unexpected: number;
  mismatched: number;
  focusesLogged: number;
  decided: number;
  predictions: number;
  noPrediction: Record<string, number>;
  undecided: number;
  undecidedExamples: string[];
  wirePredictions: number;
  wireCopies: number;
  wireUnknown: number;
  loggedNotOnWire: number;
  notOnWireExamples: string[];
  lost: number;
  lostByKind: Record<string, number>;
  lostExamples: string[];
  decidedTwice: number;
  decidedTwiceLog: number;
  decidedTwiceWire: number;
  couponsTwice: number;
  couponsTwiceLog: number;
  couponsTwiceWire: number;
  reordered: number;
  reorderedCustomers: number;
  reorderedExamples: string[];
  longestStall: Stall;
  longestStallAfterFault: Stall | null;
  stallsAfterFaults: Stall[];
}

/** Index of the first element of an ascending array above t. */
function firstAfter(a: number[], t: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const describeFault = (f: Fault) => `${f.kind} ${f.how} at +${(f.start / 1000).toFixed(1)} s`;

/** The fault going on at soak time t, else the next one to start (what met the input first), else the last one. */
function nearestFault(faults: Fault[], t: number): string {
  const during = faults.find((f) => f.start - 2000 <= t && t <= f.back + 2000);
  if (during) return describeFault(during);
  const next = faults.find((f) => f.start > t);
  if (next) return `${((next.start - t) / 1000).toFixed(1)} s before ${describeFault(next)}`;
  const last = faults.at(-1);
  return last ? `${((t - last.back) / 1000).toFixed(1)} s after ${describeFault(last)} was back` : 'no fault';
}

export async function judge(o: {
  ledger: Ledger;
  wire: Wire;
  faults: Fault[];
  publishStart: number;
  publishEnd: number;
  end: number;
  inputs: AsyncIterable<LoggedInput[]>;
  decisions: AsyncIterable<LoggedDecision[]>;
}): Promise<Verdict> {
  const { ledger: L, wire, faults } = o;
  const ids = new Map(L.customerIds.map((id, i) => [id, i]));
  const logged = new Uint8Array(L.n);
  const lastSeq = new Int32Array(L.customerIds.length).fill(-1);
  let count = 0,
    loggedTwice = 0,
    unexpected = 0,
    mismatched = 0,
    reordered = 0;
  const reorderedCustomers = new Set<number>();
  const reorderedExamples: string[] = [];
  for await (const rows of o.inputs)
    for (const r of rows) {
      count++;
      const c = ids.get(r.id);
      const i = c === undefined ? undefined : L.byKey.get(inputKey(c, r.ts));
      if (i === undefined || c === undefined) {
        unexpected++;
        continue;
      }
      if (r.type !== ['entry', 'focus', 'exit'][L.kind[i]] || (L.kind[i] === KIND.focus && r.dep !== DEPARTMENTS[L.dep[i]])) {
        mismatched++;
        continue;
      }
      if (logged[i]) {
        loggedTwice++;
        continue;
      }
      logged[i] = 1;
      if (lastSeq[c] > i) {
        reordered++;
        reorderedCustomers.add(c);
        if (reorderedExamples.length < 5)
          reorderedExamples.push(
            `customer ${r.id}: ${r.type} ts ${r.ts} (published at +${(L.at[i] / 1000).toFixed(1)} s) logged after ${['entry', 'focus', 'exit'][L.kind[lastSeq[c]]]} ts ${L.tsSec[lastSeq[c]]} (published at +${(L.at[lastSeq[c]] / 1000).toFixed(1)} s); ${nearestFault(faults, L.at[i])}`,
          );
      } else lastSeq[c] = i;
    }

  // decisions, by the focus they answer
  const decisions = new Uint8Array(L.n);
  const logCoupon = new Int32Array(L.n);
  let predictions = 0,
    decidedTwiceLog = 0;
  const noPrediction: Record<string, number> = {};
  for await (const rows of o.decisions)
    for (const d of rows) {
      const c = ids.get(d.id);
      const i = c === undefined ? undefined : L.byKey.get(inputKey(c, d.ts));
      if (d.type === 'prediction') predictions++;
      else noPrediction[d.reason ?? '?'] = (noPrediction[d.reason ?? '?'] ?? 0) + 1;
      if (i === undefined || L.kind[i] !== KIND.focus) {
        unexpected++;
        continue;
      }
      if (decisions[i] === 1) decidedTwiceLog++;
      if (decisions[i] < 255) decisions[i]++;
      if (d.type === 'prediction' && d.coupon && !logCoupon[i]) logCoupon[i] = d.coupon;
    }

  let published = 0,
    unconfirmed = 0,
    unconfirmedLogged = 0,
    lost = 0,
    focusesLogged = 0,
    decided = 0,
    undecided = 0,
    loggedNotOnWire = 0;
  const publishedByKind: Record<string, number> = { entry: 0, focus: 0, exit: 0 };
  const lostByKind: Record<string, number> = { entry: 0, focus: 0, exit: 0 };
  const lostExamples: string[] = [];
  const notOnWireExamples: string[] = [];
  const undecidedExamples: string[] = [];
  for (let i = 0; i < L.n; i++) {
    const kind = ['entry', 'focus', 'exit'][L.kind[i]];
    if (L.acked[i]) {
      published++;
      publishedByKind[kind]++;
    } else {
      unconfirmed++;
      if (logged[i]) unconfirmedLogged++;
    }
    if (L.acked[i] && !logged[i]) {
      lost++;
      lostByKind[kind]++;
      if (lostExamples.length < 5)
        lostExamples.push(
          `${kind} of customer ${L.customerIds[L.customer[i]]} ts ${L.tsSec[i]}, published at +${(L.at[i] / 1000).toFixed(1)} s (${nearestFault(faults, L.at[i])})`,
        );
    }
    if (L.kind[i] === KIND.focus && logged[i]) {
      focusesLogged++;
      if (decisions[i]) decided++;
      else {
        undecided++;
        if (undecidedExamples.length < 3)
          undecidedExamples.push(
            `focus of customer ${L.customerIds[L.customer[i]]} ts ${L.tsSec[i]}, published at +${(L.at[i] / 1000).toFixed(1)} s (${nearestFault(faults, L.at[i])})`,
          );
      }
      if (logCoupon[i] && !L.wireCoupon[i]) {
        loggedNotOnWire++;
        if (notOnWireExamples.length < 3)
          notOnWireExamples.push(
            `focus of customer ${L.customerIds[L.customer[i]]} ts ${L.tsSec[i]}, published at +${(L.at[i] / 1000).toFixed(1)} s (${nearestFault(faults, L.at[i])})`,
          );
      }
    }
  }

  // coupons offered twice in one visit: per visit, its (up to 3) focuses' coupons
  let couponsTwice = 0,
    couponsTwiceLog = 0,
    couponsTwiceWire = 0;
  for (let v = 0; v < L.visits; v++) {
    const f = [L.visitFocus[3 * v], L.visitFocus[3 * v + 1], L.visitFocus[3 * v + 2]].filter((i) => i >= 0);
    for (let a = 0; a < f.length; a++)
      for (let b = a + 1; b < f.length; b++) {
        const inLog = logCoupon[f[a]] !== 0 && logCoupon[f[a]] === logCoupon[f[b]];
        const onWire = L.wireCoupon[f[a]] !== 0 && L.wireCoupon[f[a]] === L.wireCoupon[f[b]];
        if (inLog) couponsTwiceLog++;
        if (onWire) couponsTwiceWire++;
        if (inLog || onWire) couponsTwice++;
      }
  }
  // decided twice: either source; a focus counted once
  const twice = new Set<number>(wire.conflicts);
  for (let i = 0; i < L.n; i++) if (decisions[i] > 1) twice.add(i);

  // stalls: gaps between predictions arriving on the wire
  const arrivals = wire.arrivals;
  const longestStall: Stall = { ms: 0, from: o.publishStart };
  {
    let prev = o.publishStart;
    for (const t of arrivals) {
      if (t < o.publishStart) continue;
      if (t > o.publishEnd) break;
      if (t - prev > longestStall.ms) {
        longestStall.ms = t - prev;
        longestStall.from = prev;
      }
      prev = t;
    }
    if (o.publishEnd - prev > longestStall.ms) {
      longestStall.ms = o.publishEnd - prev;
      longestStall.from = prev;
    }
    const f = faults.find((x) => x.start <= longestStall.from + longestStall.ms && longestStall.from <= x.back);
    if (f) longestStall.fault = describeFault(f);
  }
  // after a fault: from the moment it was back, up to the next fault (or, after the last one, up to the
  // first prediction once publishing ended, if the flow had not resumed by then)
  const stallsAfterFaults: Stall[] = faults.map((f, k) => {
    const last = k === faults.length - 1;
    const until = Math.min(faults[k + 1]?.start ?? o.publishEnd, o.publishEnd);
    let j = firstAfter(arrivals, f.back);
    if (j >= arrivals.length) return { ms: o.end - f.back, from: f.back, fault: describeFault(f) }; // nothing ever came again
    if (arrivals[j] > until) return { ms: arrivals[j] - f.back, from: f.back, fault: describeFault(f) }; // not before the next fault
    let prev = f.back,
      ms = 0,
      from = f.back;
    for (; j < arrivals.length; j++) {
      const t = arrivals[j];
      if (t > until && !last) break;
      if (t - prev > ms) {
        ms = t - prev;
        from = prev;
      }
      prev = t;
      if (t > until) break;
    }
    if (prev < until && until - prev > ms) {
      ms = until - prev;
      from = prev;
    }
    return { ms, from, fault: describeFault(f) };
  });
  const longestStallAfterFault = stallsAfterFaults.reduce<Stall | null>((m, s) => (!m || s.ms > m.ms ? s : m), null);

  return {
    published,
    publishedByKind,
    unconfirmed,
    unconfirmedLogged,
    logged: count,
    loggedTwice,
    unexpected,
    mismatched,
    focusesLogged,
    decided,
    predictions,
    noPrediction,
    undecided,
    undecidedExamples,
    wirePredictions: wire.focuses,
    wireCopies: wire.copies,
    wireUnknown: wire.unknown,
    loggedNotOnWire,
    notOnWireExamples,
    lost,
    lostByKind,
    lostExamples,
    decidedTwice: twice.size,
    decidedTwiceLog,
    decidedTwiceWire: wire.conflicts.size,
    couponsTwice,
    couponsTwiceLog,
    couponsTwiceWire,
    reordered,
    reorderedCustomers: reorderedCustomers.size,
    reorderedExamples,
    longestStall,
    longestStallAfterFault,
    stallsAfterFaults,
  };
}
