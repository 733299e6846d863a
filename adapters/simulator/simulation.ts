/**
 * The simulated store (seed 001): a population of shoppers, each a customer-machine actor of a
 * CustomerHost (the generic per-customer host: spawned on arrival, no idle clock) on one HeapClock, arriving as a Poisson process sized by Little's law so that
 * CUSTOMERS_AVERAGE_IN_STORE are inside on average, and putting their events on a Timeline.
 *
 * No I/O here: the simulator role drives it in real time (clock = start + elapsed × SIM_SPEED) and
 * publishes what the timeline yields; `simulateDay` drives it in virtual time as fast as the CPU
 * allows (replay fixtures, tests, benchmarks).
 */
import type { Actor } from 'xstate';
import { customerMachine, type CustomerEmitted, type CustomerInput } from '../../machines/customer.ts';
import type { ActorRegistry } from '../../actors/kernel/actor-registry.ts';
import { CustomerHost } from '../../actors/kernel/customer-host.ts';
import { HeapClock } from '../../actors/kernel/sim-clock.ts';
import { Timeline, type StalePolicy, type TakeResult, type TimelineEvent } from '../../actors/simulator/timeline.ts';
import { createPrng, type Prng } from '../../actors/kernel/prng.ts';
import { departmentAt } from '../../actors/data/store-plan.ts';
import type { ShopperProfile } from '../../actors/simulator/shopper.ts';
import type { Department } from '../../schemas/departments.ts';
import { must } from '../../actors/kernel/must.ts';

export type CustomerActor = Actor<typeof customerMachine>;

export interface SimulationOptions {
  seed: number | string;
  customers: ShopperProfile[];
  averageInStore: number;
  /** Simulated time at which the doors open, ms since the epoch. */
  startMs: number;
  /** Shoppers already inside when the doors open (Poisson(average), entering within 30 s). */
  warmStart?: boolean;
  timeline?: Timeline;
  onError?: (customerId: string, err: unknown) => void;
}

export interface ShopperView {
  id: string;
  state: string;
  x: number;
  y: number;
  department: Department | null;
  moves: number;
}

/** 1000 customers with a deterministic profile (57 % F, age 18–90) when no data is loaded. */
export function defaultCustomers(seed: number | string, count = 1000): ShopperProfile[] {
  const rng = createPrng(seed).fork('default-customers');
  return Array.from({ length: count }, (_, i) => ({ customerId: String(i + 1), gender: rng.chance(0.57) ? 'F' : 'M', age: rng.int(18, 90) }));
}

const calibrated = new Map<string, number>();

/**
 * Mean visit duration for these customers (ms), measured by running `samples` visits of the real
 * machine in virtual time. Little's law: arrivals/s = average in store / mean visit.
 */
export function meanVisitMs(customers: ShopperProfile[], samples = 300): number {
  const key = `${customers.length}:${customers[0]?.customerId}:${customers.at(-1)?.customerId}:${samples}`;
  const known = calibrated.get(key);
  if (known) return known;
  const rng = createPrng('calibration');
  const clock = new HeapClock(0);
  let total = 0,
    n = 0;
  const host = new CustomerHost<typeof customerMachine, never, CustomerEmitted>({
    machine: customerMachine,
    clock,
    input: (id) => ({ profile: { ...rng.pick(customers), customerId: id }, rng: rng.fork(id) }),
    emits: [],
    onDone: () => {
      total += clock.now();
      n++;
    },
  });
  for (let i = 0; i < samples; i++) host.spawn(`c${i}`);
  while (clock.step()) {
    /* run every visit to its end */
  }
  const mean = n ? total / n : 300_000;
  calibrated.set(key, mean);
  return mean;
}

export class CustomerSimulation {
  readonly clock: HeapClock;
  readonly timeline: Timeline;
  readonly host: CustomerHost<typeof customerMachine, never, CustomerEmitted>;
  /** The shoppers inside (the host's registry). */
  readonly registry: ActorRegistry<typeof customerMachine>;
  readonly meanVisitMs: number;
  private readonly root: Prng;
  private readonly arrivalsRng: Prng;
  private readonly pickRng: Prng;
  private average: number;
  private visits = 0;
  private inputs = new Map<string, CustomerInput>();
  /** When each shopper's current leg started (its moves are relative to it): for `shoppers()`. */
  private legStart = new Map<string, number>();
  private arrivalTimer: ReturnType<HeapClock['setTimeout']> | undefined;
  private doorsOpen = false;
  private lastCheck: number;
  readonly stats = { arrivals: 0, turnedAway: 0, visitsDone: 0, errors: 0 };

  constructor(private o: SimulationOptions) {
    if (o.customers.length === 0) throw new Error('the simulation needs at least one customer');
    this.clock = new HeapClock(o.startMs);
    this.lastCheck = o.startMs;
    this.timeline = o.timeline ?? new Timeline();
    this.root = createPrng(o.seed).fork('simulator');
    this.arrivalsRng = this.root.fork('arrivals');
    this.pickRng = this.root.fork('picks');
    this.average = o.averageInStore;
    this.meanVisitMs = meanVisitMs(o.customers);
    this.host = new CustomerHost<typeof customerMachine, never, CustomerEmitted>({
      machine: customerMachine,
      clock: this.clock,
      input: (id) => must(this.inputs.get(id), `the input of shopper ${id}`),
      // no input is being handled when a shopper emits (its own timers fire): every event comes to onLater
      emits: ['publish', 'publishLeg'],
      onLater: (e, id) => {
        if (e.type === 'publish') {
          this.timeline.schedule({ kind: e.kind, id, at: this.clock.now(), x: e.x, y: e.y, source: 'simulator' });
          return;
        }
        // a leg's moves go on the timeline ahead of time, each at its own time
        const now = this.clock.now();
        this.legStart.set(id, now);
        for (const m of e.moves) this.timeline.schedule({ kind: 'move', id, at: now + m.inMs, x: m.x, y: m.y, source: 'simulator' });
      },
      onDone: (id) => {
        this.inputs.delete(id);
        this.legStart.delete(id);
        this.stats.visitsDone++;
      },
      onError: (id, err) => {
        this.inputs.delete(id);
        this.legStart.delete(id);
        this.stats.errors++;
        this.o.onError?.(id, err);
      },
    });
    this.registry = this.host.actors;
  }

  get averageInStore(): number {
    return this.average;
  }

  get isOpen(): boolean {
    return this.doorsOpen;
  }

  /** Starts the arrivals (and, with warmStart, lets a steady-state crowd in over the first 30 s). */
  openDoors(): void {
    if (this.doorsOpen) return;
    this.doorsOpen = true;
    if (this.o.warmStart) {
      const n = this.arrivalsRng.poisson(this.average);
      for (let i = 0; i < n; i++) this.clock.setTimeout(() => this.arrive(true), this.arrivalsRng.int(0, 30_000));
    }
    this.scheduleArrival();
  }

  /** No more arrivals; shoppers inside finish their visits. */
  closeDoors(): void {
    this.doorsOpen = false;
    this.clock.clearTimeout(this.arrivalTimer);
    this.arrivalTimer = undefined;
  }

  /** Changes the average number of shoppers inside (the arrival rate follows at once). */
  setAverage(n: number): void {
    this.average = n;
    if (this.doorsOpen) {
      this.clock.clearTimeout(this.arrivalTimer);
      this.scheduleArrival();
    }
  }

  private scheduleArrival() {
    if (this.average <= 0) return;
    const perMs = this.average / this.meanVisitMs;
    const gap = -Math.log(1 - this.arrivalsRng.float()) / perMs;
    this.arrivalTimer = this.clock.setTimeout(() => {
      this.arrivalTimer = undefined;
      this.arrive(false);
      if (this.doorsOpen) this.scheduleArrival();
    }, gap);
  }

  /** A customer not already inside walks in (never the same customer twice at once). */
  private arrive(warm: boolean) {
    const pool = this.o.customers;
    let profile: ShopperProfile | undefined;
    for (let i = 0; i < 8 && !profile; i++) {
      const c = this.pickRng.pick(pool);
      if (!this.registry.has(c.customerId)) profile = c;
    }
    if (!profile) {
      const from = this.pickRng.int(0, pool.length - 1);
      for (let i = 0; i < pool.length && !profile; i++) {
        const c = pool[(from + i) % pool.length];
        if (!this.registry.has(c.customerId)) profile = c;
      }
    }
    if (!profile) {
      this.stats.turnedAway++;
      return;
    }
    this.stats.arrivals++;
    const visit = this.visits++;
    this.inputs.set(profile.customerId, { profile, rng: this.root.fork(`visit/${visit}`), warm });
    this.host.spawn(profile.customerId);
  }

  /**
   * One timeline check at simulated time `now`: runs the shoppers up to `now`, then takes the due
   * events (at most `batchSize`; events already due at the previous check are stale).
   */
  check(now: number, batchSize = Infinity, stale: StalePolicy = 'publish'): TakeResult {
    this.clock.advanceTo(now);
    const r = this.timeline.take(now, batchSize, stale, this.lastCheck);
    this.lastCheck = Math.max(this.lastCheck, now);
    return r;
  }

  /** Shifts the clock (a paused simulation resuming at a later time); the last check moves along. */
  shift(ms: number): void {
    const paused = this.clock.now();
    this.clock.shift(ms);
    this.lastCheck += ms;
    // the shoppers' moves already on the timeline for after the pause move along with them
    this.timeline.postpone(ms, (e) => e.source === 'simulator' && e.at > paused);
    for (const [id, t] of this.legStart) this.legStart.set(id, t + ms);
  }

  shoppers(): ShopperView[] {
    const out: ShopperView[] = [];
    const now = this.clock.now();
    for (const id of this.registry.ids()) {
      const snap = must(this.registry.get(id), `shopper ${id}`).getSnapshot();
      const { leg } = snap.context;
      // where the shopper is now: the last move of the current leg that is due, else the leg's start
      const inLeg = now - (this.legStart.get(id) ?? now);
      let pos: { x: number; y: number } = snap.context.pos,
        moves = snap.context.moves - leg.length;
      for (const m of leg) {
        if (m.inMs > inLeg) break;
        pos = m;
        moves++;
      }
      out.push({ id, state: String(snap.value), x: pos.x, y: pos.y, department: departmentAt(pos) ?? null, moves });
    }
    return out;
  }

  close(): void {
    this.closeDoors();
    this.registry.stopAll();
    this.inputs.clear();
  }
}

export interface SimulateDayOptions {
  seed: number | string;
  customers?: ShopperProfile[];
  /** Opening time: ms since the epoch or an ISO-8601 time. */
  from: number | string;
  hours: number;
  averageInStore?: number;
  warmStart?: boolean;
}

/**
 * A whole day in virtual time: the doors are open for `hours`, then the shoppers inside finish their
 * visits. Returns every event in timeline order (the order the simulator would publish them).
 */
export function simulateDay(o: SimulateDayOptions): { events: TimelineEvent[]; stats: CustomerSimulation['stats']; meanVisitMs: number } {
  const startMs = typeof o.from === 'number' ? o.from : Date.parse(o.from);
  if (Number.isNaN(startMs)) throw new Error(`simulateDay: unreadable start time ${JSON.stringify(o.from)}`);
  const sim = new CustomerSimulation({
    seed: o.seed,
    customers: o.customers ?? defaultCustomers(o.seed),
    averageInStore: o.averageInStore ?? 6,
    startMs,
    warmStart: o.warmStart ?? false,
    onError: (id, err) => {
      throw new Error(`shopper ${id} failed: ${String(err)}`);
    },
  });
  const end = startMs + o.hours * 3_600_000;
  const events: TimelineEvent[] = [];
  // due events are taken as the clock runs, so the timeline holds only the moves planned ahead
  const drain = () => {
    for (const e of sim.timeline.take(sim.clock.now(), Infinity).events) events.push(e);
  };
  sim.openDoors();
  while (sim.clock.step(end)) drain(); // virtual time: timer by timer
  sim.closeDoors();
  while (sim.clock.step()) drain(); // the last shoppers leave
  for (const e of sim.timeline.take(Infinity, Infinity).events) events.push(e);
  sim.close();
  return { events, stats: sim.stats, meanVisitMs: sim.meanVisitMs };
}
