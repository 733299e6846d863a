/**
 * The soak's load, a plain MQTT client of the soak's own broker (mqtt.js, QoS 1, clean=false, its own
 * client id): `Load` plays store visits at R focus events/s: a known customer enters, focuses 2–3 times
 * in departments, exits. Event time runs on one clock (a few event-seconds per wall-second, so a visit
 * of several event-seconds still lets the store's customers carry the rate); a customer's events are
 * at least 1.2 event-seconds apart, so (customer, ts in seconds) names each input, and every payload
 * is unique (storeflow drops an identical topic+payload within 10 minutes as a duplicate). What was
 * published goes into the `Ledger` (scripts/soak-ledger.ts).
 */
import type { MqttClient } from 'mqtt';
import { must } from '../actors/kernel/must.ts';
import { DEPARTMENTS, KIND, type Ledger } from './soak-ledger.ts';
import { client, type Note, type Topics } from './soak-mqtt.ts';

/** A small seeded generator (mulberry32): the same visits for the same --seed. */
class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  float(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

interface Step {
  due: number;
  visit: number;
  kind: number;
  dep: number;
  slot: number;
}

/** A binary min-heap of steps by due time. */
class Steps {
  private a: Step[] = [];
  get size() {
    return this.a.length;
  }
  peek(): Step | undefined {
    return this.a[0];
  }
  push(s: Step) {
    const a = this.a;
    a.push(s);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p].due <= a[i].due) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): Step | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && a[l].due < a[m].due) m = l;
        if (r < a.length && a[r].due < a[m].due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

export interface LoadOptions {
  url: string;
  topics: Topics;
  ledger: Ledger;
  /** Focus events per second. */
  rate: number;
  /** ms since the run's start (the soak's clock). */
  now: () => number;
  /** Event time at the start, in ms since the epoch. */
  firstTsMs: number;
  seed: number;
  note: Note;
}

const MEAN_FOCUSES = 2.5;

/** Visits played at `rate` focus events/s until `stop()`; then the visits under way finish. */
export class Load {
  private client?: MqttClient;
  private steps = new Steps();
  private free: number[];
  private busyUntilTs: Float64Array;
  private rng: Prng;
  private started = 0;
  private t0 = 0;
  private stopAt = Infinity;
  private timer?: NodeJS.Timeout;
  private finished!: Promise<void>;
  private finish!: () => void;
  /** Wall seconds between a visit's steps, and event-seconds per wall-second. */
  readonly stepS: number;
  readonly speed: number;
  private up = true;
  private held: { topic: string; payload: string; i: number }[] = [];
  /** Visits that had to wait for a free customer. */
  starved = 0;
  /** When the last input was handed to the client (ms since the run's start). */
  lastPublishAt = 0;

  constructor(private o: LoadOptions) {
    const customers = o.ledger.customerIds.length;
    // a visit is entry, 2-3 focuses, exit: 3.5 steps apart on average; keep at most ~80% of customers in the store
    const visitsPerS = o.rate / MEAN_FOCUSES;
    this.stepS = Math.max(0.05, Math.min(0.5, (0.8 * customers) / (visitsPerS * 3.5)));
    this.speed = 1.5 / this.stepS;
    this.rng = new Prng(o.seed);
    this.free = this.rng.shuffle([...Array(customers).keys()]);
    this.busyUntilTs = new Float64Array(customers);
  }

  async start(clientId: string): Promise<void> {
    this.client = await client(this.o.url, clientId, this.o.note);
    // While the broker is away, publications wait here, not in mqtt.js: after a reconnect mqtt.js resends
    // its stored messages one per acknowledgement and queues every new publication behind them (one
    // array shift each), so a backlog of a few seconds never drains at this rate. The few in flight when
    // the connection dropped are resent first; then this queue, in order.
    this.client.on('close', () => {
      this.up = false;
    });
    this.client.on('connect', () => {
      this.up = true;
      const held = this.held;
      this.held = [];
      for (const m of held) this.send(m);
    });
    this.t0 = this.o.now();
    this.finished = new Promise((ok) => (this.finish = ok));
    this.tick();
  }

  /** Event time (ms since the epoch) at a soak time. */
  private tsAt(t: number): number {
    return this.o.firstTsMs + (t - this.t0) * this.speed;
  }

  private tick = () => {
    const now = this.o.now();
    const visitsPerMs = this.o.rate / MEAN_FOCUSES / 1000;
    const stepMs = this.stepS * 1000;
    // new visits, while the schedule asks for them
    while (now < this.stopAt && this.started < (now - this.t0) * visitsPerMs) {
      const customer = this.free.shift();
      if (customer === undefined) {
        this.starved++;
        break;
      }
      const v = this.o.ledger.newVisit(customer);
      this.started++;
      const due = this.t0 + this.started / visitsPerMs;
      const focuses = this.rng.chance(0.5) ? 2 : 3;
      const jitter = () => stepMs * (0.8 + 0.4 * this.rng.float());
      let at = Math.max(due, now - 1000);
      this.steps.push({ due: at, visit: v, kind: KIND.entry, dep: 0, slot: -1 });
      for (let f = 0; f < focuses; f++) {
        at += jitter();
        this.steps.push({ due: at, visit: v, kind: KIND.focus, dep: this.rng.int(0, DEPARTMENTS.length - 1), slot: f });
      }
      at += jitter();
      this.steps.push({ due: at, visit: v, kind: KIND.exit, dep: 0, slot: -1 });
    }
    // due steps, in due order
    const ledger = this.o.ledger;
    for (let s = this.steps.peek(); s && s.due <= now; s = this.steps.peek()) {
      this.steps.pop();
      const customer = ledger.visitCustomer[s.visit];
      // a customer's events are at least 1.2 event-seconds apart (a new visit may follow the last exit at once)
      const tsMs = Math.round(Math.max(this.tsAt(s.due), this.busyUntilTs[customer] + 1200));
      this.busyUntilTs[customer] = tsMs;
      const tsSec = Math.floor(tsMs / 1000);
      const i = ledger.add(s.kind, customer, tsSec, s.dep, s.visit, now, s.slot);
      const id = ledger.customerIds[customer];
      const topic = s.kind === KIND.entry ? this.o.topics.enter : s.kind === KIND.exit ? this.o.topics.exit : this.o.topics.focus;
      const payload = s.kind === KIND.focus ? `{"id":"${id}","ts":${tsMs},"dep":"${DEPARTMENTS[s.dep]}"}` : `{"id":"${id}","ts":${tsMs}}`;
      if (this.up) this.send({ topic, payload, i });
      else this.held.push({ topic, payload, i });
      this.lastPublishAt = now;
      if (s.kind === KIND.exit) this.free.push(customer);
    }
    if (now >= this.stopAt && this.steps.size === 0) return this.finish();
    this.timer = setTimeout(this.tick, 5);
  };

  private send(m: { topic: string; payload: string; i: number }) {
    must(this.client, 'the MQTT client').publish(m.topic, m.payload, { qos: 1 }, (err) => {
      if (!err) this.o.ledger.ack(m.i);
    });
  }

  /** Publications waiting for the broker to come back. */
  get waiting(): number {
    return this.held.length;
  }

  /** Visits started so far. */
  get visits(): number {
    return this.started;
  }

  /** No new visits; resolves when the visits under way have exited. */
  stop(): Promise<void> {
    this.stopAt = this.o.now();
    return this.finished ?? Promise.resolve();
  }

  /** Resolves when every publication is acknowledged, or after `ms` (false). */
  async acknowledged(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.o.ledger.ackedTotal === this.o.ledger.n) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.o.ledger.ackedTotal === this.o.ledger.n;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.client?.endAsync(true).catch(() => {});
  }
}
