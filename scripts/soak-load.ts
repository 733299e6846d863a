/**
 * The soak's load and its ears, both plain MQTT clients of the soak's own broker (mqtt.js, QoS 1,
 * clean=false, their own client ids):
 * - `Load` plays store visits at R focus events/s: a known customer enters, focuses 2–3 times in
 *   departments, exits. Event time runs on one clock (a few event-seconds per wall-second, so a visit
 *   of several event-seconds still lets the store's customers carry the rate); a customer's events are
 *   at least 1.2 event-seconds apart, so (customer, ts in seconds) names each input, and every payload
 *   is unique (storeflow drops an identical topic+payload within 10 minutes as a duplicate).
 * - `Wire` listens on the prediction topic and notes, per focus, the coupon offered and when it came.
 * What was published is kept in a `Ledger` of typed arrays (a 10-minute run at 1,000/s is ~1M inputs).
 */
import mqtt, { type MqttClient } from 'mqtt';

/** The store's departments as the seeds name them (REFERENCE.md); the soak uses only storeflow's public surface. */
export const DEPARTMENTS = ['Men', 'Sport', 'Boys', 'Girls', 'Women'] as const;

/** A small seeded generator (mulberry32): the same visits for the same --seed. */
class Prng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  float(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.float() < p; }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(0, i); [a[i], a[j]] = [a[j], a[i]]; }
    return a;
  }
}

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
      this.kind = grow(this.kind, m); this.customer = grow(this.customer, m); this.tsSec = grow(this.tsSec, m);
      this.dep = grow(this.dep, m); this.visit = grow(this.visit, m); this.acked = grow(this.acked, m);
      this.at = grow(this.at, m); this.wireCoupon = grow(this.wireCoupon, m);
    }
    this.kind[i] = kind; this.customer[i] = customer; this.tsSec[i] = tsSec; this.dep[i] = dep; this.visit[i] = visit; this.at[i] = at;
    this.byKey.set(inputKey(customer, tsSec), i);
    if (focusSlot >= 0) this.visitFocus[3 * visit + focusSlot] = i;
    return i;
  }

  ack(i: number): void {
    if (this.acked[i]) return;
    this.acked[i] = 1;
    this.ackedCount[this.kind[i]]++;
  }
  get ackedTotal(): number { return this.ackedCount[0] + this.ackedCount[1] + this.ackedCount[2]; }
}

export interface Topics { enter: string; focus: string; exit: string; prediction: string }

/** Where the soak notes what its clients went through (its own log file). */
export type Note = (line: string) => void;

function client(url: string, clientId: string, note: Note): Promise<MqttClient> {
  // MQTT 5 as storeflow speaks it; a persistent session (clean=false, kept an hour) so a reconnect resumes it
  return mqtt.connectAsync(url, {
    clientId, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 250, connectTimeout: 5000, keepalive: 10, log: () => {},
  }).then((c) => {
    const noDelay = () => (c.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
    noDelay();
    c.on('connect', (p) => { noDelay(); note(`${clientId}: connected (session present: ${p.sessionPresent})`); });
    c.on('close', () => note(`${clientId}: connection closed`));
    c.on('error', (err) => note(`${clientId}: error ${err.message}`));
    c.on('disconnect', (p) => note(`${clientId}: DISCONNECT from the broker (reason ${p.reasonCode})`));
    return c;
  });
}

interface Step { due: number; visit: number; kind: number; dep: number; slot: number }

/** A binary min-heap of steps by due time. */
class Steps {
  private a: Step[] = [];
  get size() { return this.a.length; }
  peek(): Step | undefined { return this.a[0]; }
  push(s: Step) {
    const a = this.a;
    a.push(s);
    for (let i = a.length - 1; i > 0;) {
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
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
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
    this.client.on('close', () => { this.up = false; });
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
  private tsAt(t: number): number { return this.o.firstTsMs + (t - this.t0) * this.speed; }

  private tick = () => {
    const now = this.o.now();
    const visitsPerMs = this.o.rate / MEAN_FOCUSES / 1000;
    const stepMs = this.stepS * 1000;
    // new visits, while the schedule asks for them
    while (now < this.stopAt && this.started < (now - this.t0) * visitsPerMs) {
      const customer = this.free.shift();
      if (customer === undefined) { this.starved++; break; }
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
    this.client!.publish(m.topic, m.payload, { qos: 1 }, (err) => { if (!err) this.o.ledger.ack(m.i); });
  }

  /** Publications waiting for the broker to come back. */
  get waiting(): number { return this.held.length; }

  /** Visits started so far. */
  get visits(): number { return this.started; }

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

/** The prediction topic as a consumer sees it. */
export class Wire {
  private client?: MqttClient;
  /** Arrival times (ms since the run's start) of every prediction. */
  arrivals: number[] = [];
  received = 0;
  /** The same prediction again (at-least-once redelivery). */
  copies = 0;
  /** A second, different prediction for a focus: sequence numbers of those focuses. */
  readonly conflicts = new Set<number>();
  /** Predictions that match no published focus, or could not be read. */
  unknown = 0;
  /** Distinct focuses with a prediction on the wire. */
  focuses = 0;
  /** Messages the broker holds (queued or in flight to some client), from $SYS; -1 until heard. */
  brokerHolds = -1;
  /** Bytes of predictions received. */
  bytes = 0;
  /** Per answered focus: ms from its publication to its first prediction on the wire. */
  latencies: number[] = [];

  constructor(private url: string, private topic: string, private ledger: Ledger, private now: () => number, private note: Note) {}

  async start(clientId: string): Promise<void> {
    const ids = new Map(this.ledger.customerIds.map((id, i) => [id, i]));
    this.client = await client(this.url, clientId, this.note);
    this.client.on('message', (topic, payload) => {
      if (topic === STORE_COUNT) { this.brokerHolds = Number(payload.toString()); return; }
      const now = this.now();
      this.arrivals.push(now);
      this.received++;
      this.bytes += payload.length;
      const p = readPrediction(payload);
      if (!p) { this.unknown++; return; }
      const customer = ids.get(p.customer);
      const coupon = p.coupon;
      const i = customer === undefined ? undefined : this.ledger.byKey.get(inputKey(customer, p.ts));
      if (i === undefined || this.ledger.kind[i] !== KIND.focus || !Number.isInteger(coupon) || coupon <= 0) { this.unknown++; return; }
      const seen = this.ledger.wireCoupon[i];
      if (seen === 0) { this.ledger.wireCoupon[i] = coupon; this.focuses++; this.latencies.push(now - this.ledger.at[i]); }
      else if (seen === coupon) this.copies++;
      else this.conflicts.add(i);
    });
    await this.client.subscribeAsync(this.topic, { qos: 1 });
    await this.client.subscribeAsync(STORE_COUNT, { qos: 0 });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {});
  }
}

const STORE_COUNT = '$SYS/broker/store/messages/count';

const HEAD = /^\{"customer":\{"id":"([^"]+)"\},"coupon":\{"id":(\d+)[,}]/;
const TAIL = /"ts":(\d+)\}$/;

/**
 * Customer, coupon and focus second of a prediction: flat (seed 002, `{"customer":{"id":…},"coupon":{"id":…,…},"ts":…}`)
 * or envelope (seed 003, `{"event_type":"prediction result","event_timestamp":ISO,"payload":{"customer_id","coupon_id",…}}`).
 * A flat department coupon lists its ~600 products (~100 KB), so its ends are read, not the whole payload.
 */
export function readPrediction(payload: Buffer): { customer: string; coupon: number; ts: number } | undefined {
  const head = HEAD.exec(payload.toString('latin1', 0, Math.min(payload.length, 200)));
  const tail = TAIL.exec(payload.toString('latin1', Math.max(0, payload.length - 40)));
  if (head && tail) return { customer: head[1], coupon: Number(head[2]), ts: Number(tail[1]) };
  try {
    const p = JSON.parse(payload.toString());
    if (p?.event_type === 'prediction result') {
      const ms = Date.parse(p.event_timestamp);
      const coupon = Number(p.payload?.coupon_id);
      if (Number.isNaN(ms) || !Number.isInteger(coupon)) return undefined;
      return { customer: String(p.payload?.customer_id), coupon, ts: Math.floor(ms / 1000) };
    }
    const coupon = Number(p?.coupon?.id);
    if (typeof p?.ts !== 'number' || !Number.isInteger(coupon)) return undefined;
    return { customer: String(p.customer?.id), coupon, ts: Math.floor(p.ts) };
  } catch {
    return undefined;
  }
}
