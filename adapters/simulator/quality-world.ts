/**
 * The world of `npm run bench:quality`, `npm run train:uplift` and the off-policy evaluation (issue 34): a generated
 * store with its shoppers' hidden world (actors/data/customer-preferences.ts, actors/simulator/shopper-value.ts),
 * simulated days turned into the recommender's inputs by the focus detector, and a policy's decisions on them
 * through the sessions (the replay path: the same machines and decision as live), with what each decision is worth.
 */
import { generateStore, type GeneratedStore } from '../../actors/data/store-generator.ts';
import { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import { couponTraits, redemptionProbability, type CouponTraits, type CustomerPreferences } from '../../actors/data/customer-preferences.ts';
import { couponMargins } from '../../actors/data/product-margins.ts';
import { departmentItemMargins, noCouponMargin, realisedMargin } from '../../actors/simulator/shopper-value.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { ScoringSettings } from '../../actors/recommender/score-focus.ts';
import { DEPARTMENTS, type Department } from '../../schemas/departments.ts';
import { simulateDay } from './simulation.ts';
import { createPrng } from '../../actors/kernel/prng.ts';
import { Replayer, type ExportedEvent } from '../engine/replay.ts';
import type { Output } from '../process/processor-contract.ts';

/** A focus as a policy decided it. */
export interface Decided {
  inputId: string;
  customerId: string;
  ts: number;
  dep: number;
  couponId?: number;
  reason?: string;
  score?: number;
  policy: string;
  propensity: number;
}

/** A simulated period's inputs to the recommender (entries, focuses, exits), and how many visits and focuses. */
export interface Period {
  inputs: ExportedEvent[];
  visits: number;
  focuses: number;
}

const IDLE_TIMEOUT_S = 7200;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export class QualityWorld {
  readonly store: GeneratedStore;
  readonly catalogue: CouponCatalogue;
  readonly customers: Map<number, CustomerInfo>;
  readonly margins: Map<number, number>;
  readonly itemMargins: number[];
  private prefs = new Map<number, CustomerPreferences>();
  private traits = new Map<number, CouponTraits>();

  constructor(
    readonly seed: number,
    customerCount = 1000,
  ) {
    this.store = generateStore({ seed, customers: customerCount });
    const s = this.store;
    this.catalogue = new CouponCatalogue(s.coupons, s.products, s.couponProducts);
    this.customers = new Map(s.customers.map((c) => [c.customer_id, c]));
    for (const [i, c] of s.customers.entries()) this.prefs.set(c.customer_id, s.preferences[i]);
    this.margins = couponMargins(s.coupons, s.products, s.couponProducts, s.marginRates);
    this.itemMargins = departmentItemMargins(s.products, s.marginRates);
    const category = new Map(s.products.map((p) => [p.product_id, p.category]));
    const categories = new Map<number, string[]>();
    for (const l of s.couponProducts) categories.set(l.coupon_id, [...(categories.get(l.coupon_id) ?? []), category.get(l.product_id) ?? '']);
    for (const c of s.coupons) this.traits.set(c.coupon_id, couponTraits(c, categories.get(c.coupon_id) ?? []));
  }

  /** Simulated days (from `from`, one a day) through the focus detector until `visits` visits (at least one day). */
  period(o: { seed: number | string; from: string; hours: number; average: number; visits?: number }): Period {
    const inputs: ExportedEvent[] = [];
    let visits = 0,
      focuses = 0,
      position = 1;
    const profiles = this.store.customers.map((c) => ({ customerId: String(c.customer_id), gender: c.gender as 'F' | 'M', age: c.age }));
    for (let day = 0; day === 0 || visits < (o.visits ?? 0); day++) {
      const from = new Date(Date.parse(o.from) + day * 86_400_000).toISOString();
      const { events } = simulateDay({
        seed: day === 0 ? o.seed : `${o.seed}/day-${day}`,
        from,
        hours: o.hours,
        averageInStore: o.average,
        customers: profiles,
      });
      const focused: Output[] = [];
      const detector = this.replayer({ score: () => [] }, { maxCoupons: 5, threshold: 0.2, couponValidity: 'ignore' }, (o) => {
        if (o.type === 'focus') focused.push(o);
      });
      detector.feedSync(system('detector_started', { focusMinMoves: 3, browsingMinMoves: 6 }, position++));
      for (const [i, e] of events.entries()) {
        const ts = Math.floor(e.at / 1000);
        const data = e.kind === 'move' ? { id: e.id, ts, x: e.x, y: e.y } : { id: e.id, ts };
        const record = input(e.kind, data, `d${day}-${i}`, position++);
        detector.feedSync(record);
        if (e.kind !== 'move') inputs.push(record);
        if (e.kind === 'entry') visits++;
        for (const out of focused) {
          focuses++;
          inputs.push(input('focus', out.data as object, out.messageId, position++));
        }
        focused.length = 0;
      }
      detector.stop();
    }
    return { inputs, visits, focuses };
  }

  /**
   * Visits without walking (the load generator's way, seed 000): a customer drawn at random enters, dwells in 1 to 3
   * departments drawn at random (a focus each, 5 minutes apart), and leaves; a visit starts every 20 seconds. Much
   * cheaper than `period` (no shopper walks, no detector), for the long logs of training and off-policy evaluation.
   */
  visits(o: { seed: number | string; from: string; visits: number }): Period {
    const rng = createPrng(o.seed).fork('quality/visits');
    const inputs: ExportedEvent[] = [];
    const ids = this.store.customers.map((c) => c.customer_id);
    let position = 1,
      focuses = 0;
    const start = Math.floor(Date.parse(o.from) / 1000);
    for (let v = 0; v < o.visits; v++) {
      const id = String(rng.pick(ids)),
        ts = start + 20 * v;
      inputs.push(input('entry', { id, ts }, `v${v}-entry`, position++));
      const n = rng.int(1, 3);
      for (let f = 0; f < n; f++) {
        const dep = rng.pick(DEPARTMENTS);
        inputs.push(input('focus', { id, ts: ts + 300 * (f + 1), dep }, `v${v}-focus-${f}`, position++));
      }
      focuses += n;
      inputs.push(input('exit', { id, ts: ts + 300 * (n + 1) }, `v${v}-exit`, position++));
    }
    // in time order, as a store's broker would deliver them
    inputs.sort((a, b) => (a.data as { ts: number }).ts - (b.data as { ts: number }).ts || a.position - b.position);
    return { inputs, visits: o.visits, focuses };
  }

  /** The engine's replay mode, comparing nothing: `onOutput` hears what the processors produce, in order. */
  private replayer(scorer: CouponScorer, s: ScoringSettings, onOutput: (o: Output) => void): Replayer {
    const settings = { ...s, idleTimeoutS: IDLE_TIMEOUT_S };
    return new Replayer({ catalogue: this.catalogue, customers: this.customers, scorer, settings, compare: false, onOutput });
  }

  /** A policy's decision at every focus of the period, in the order they were made. */
  decide(period: Period, scorer: CouponScorer, s: ScoringSettings): Decided[] {
    const produced: Output[] = [];
    const r = this.replayer(scorer, s, (o) => produced.push(o));
    r.feedSync(system('recommender_started', { ...s, idleTimeoutS: IDLE_TIMEOUT_S }, 0));
    for (const e of period.inputs) if (r.feedSync(e)) throw new Error('quality: a policy scored asynchronously');
    r.stop();
    const out: Decided[] = [];
    for (const o of produced) {
      const id = o.messageId;
      if (o.type !== 'prediction' && o.type !== 'no_prediction') continue;
      const d = o.data as {
        customer_id: string;
        ts: number;
        dep?: Department;
        reason?: string;
        score?: number;
        coupon?: { id: number; department: Department };
        policy: string;
        propensity: number;
      };
      out.push({
        inputId: id.replace(/:(no_)?prediction$/, ''),
        customerId: d.customer_id,
        ts: d.ts,
        dep: DEPARTMENTS.indexOf(d.coupon?.department ?? (d.dep as Department)),
        couponId: d.coupon?.id,
        reason: d.reason,
        score: d.score,
        policy: d.policy,
        propensity: d.propensity,
      });
    }
    return out;
  }

  preferences(customerId: string | number): CustomerPreferences {
    const p = this.prefs.get(Number(customerId));
    if (!p) throw new Error(`quality: no customer ${customerId}`);
    return p;
  }

  /** The shopper's expected margin at the focus without a coupon (q × B). */
  baseline(customerId: string | number, dep: number): number {
    return noCouponMargin(this.preferences(customerId), dep, this.itemMargins);
  }

  /** The true redemption probability and expected incremental margin of offering the coupon at the focus. */
  truth(customerId: string | number, dep: number, couponId: number): { p: number; im: number } {
    const prefs = this.preferences(customerId);
    const k = this.traits.get(couponId);
    if (!k) throw new Error(`quality: no coupon ${couponId}`);
    const p = redemptionProbability(prefs, k);
    return { p, im: p * ((this.margins.get(couponId) ?? 0) - noCouponMargin(prefs, dep, this.itemMargins)) };
  }

  /** The margin drawn at a decided focus (the log's reward), and whether the coupon was redeemed. */
  realised(d: Decided): { margin: number; redeemed: boolean } {
    const offer =
      d.couponId === undefined
        ? undefined
        : { couponId: d.couponId, traits: this.traits.get(d.couponId) as CouponTraits, margin: this.margins.get(d.couponId) ?? 0 };
    return realisedMargin(this.seed, this.preferences(d.customerId), { customerId: d.customerId, ts: d.ts, department: d.dep, offer }, this.itemMargins);
  }

  /** The oracle: a scorer of the true expected incremental margin (it knows the hidden preferences). */
  oracle(): CouponScorer {
    return {
      synchronous: true,
      score: (c: CustomerInfo, coupons: readonly CouponInfo[]) =>
        coupons.map((k) => this.truth(c.customer_id, DEPARTMENTS.indexOf(k.department), k.coupon_id).im),
    };
  }

  /** A policy's figures over a period's visits, in expected values. */
  figures(decided: readonly Decided[], visits: number) {
    let offers = 0,
      p = 0,
      im = 0,
      base = 0;
    for (const d of decided) {
      if (d.dep < 0) continue;
      base += this.baseline(d.customerId, d.dep);
      if (d.couponId === undefined) continue;
      const t = this.truth(d.customerId, d.dep, d.couponId);
      offers++;
      p += t.p;
      im += t.im;
    }
    return {
      incrementalMarginPerVisit: r4(im / visits),
      redemptionRate: r4(offers ? p / offers : 0),
      offersPerVisit: r4(offers / visits),
      marginPerVisit: r4((base + im) / visits),
    };
  }
}

function system(type: string, settings: object, position: number): ExportedEvent {
  return { position, stream_id: 'process', version: position, type, data: { settings }, metadata: { source: 'system' }, message_id: null, recorded_at: '' };
}

function input(type: string, data: object, id: string, position: number): ExportedEvent {
  const customer = (data as { id: string }).id;
  return { position, stream_id: `customer-${customer}`, version: 0, type, data, metadata: { source: 'mqtt' }, message_id: id, recorded_at: '' };
}
