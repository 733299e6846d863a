/**
 * The load process of `npm run bench:recommender` (a separate process, as a real client would be):
 * publishes entries, then focus events, over the real broker, and times the replies on the
 * prediction topic. Prints one JSON line with the result.
 *   args: JSON {broker, protocolVersion, topics: {enter, focus, prediction}, customers, count, rate (0 = as fast as possible), entries, firstTs,
 *   mix?, round0?, recordSizes?, entryIds?}
 * mix: the departments rotate (a customer's focuses go to a new department each round, consecutive focuses spread evenly
 * over the five), starting at round `round0`; without it every customer focuses on the same department in a round.
 * entryIds: the entries of these customers only (default 1..customers).
 * recordSizes: the result carries `sizes`, the byte size of the reply to each focus (by "id:ts"), for the size-matched echo.
 */
import mqtt from 'mqtt';
import { DEPARTMENTS } from '../schemas/departments.ts';
import { connectKafka } from '../adapters/edges/kafka.ts';
import { createLogger } from '../adapters/process/logger.ts';

/** The last line the load process prints, as JSON. */
export interface LoadResult {
  sent: number;
  received: number;
  sendSeconds: number;
  seconds: number;
  rate: number;
  meanBytes: number;
  departmentShare: number;
  p50: number;
  p99: number;
  p50PerSecond: number[];
  p99PerSecond: number[];
  max: number;
  sizes?: Record<string, number>;
}

// started by `npm run bench:recommender`, with its settings as one JSON argument
const USAGE =
  'usage: node --import tsx scripts/bench-load.ts \'{"broker", "protocolVersion", "kafka"?, "topics", "customers", "count", "rate", "entries", "firstTs"}\'  (started by npm run bench:recommender)\n';
if (process.argv[2] === '--help' || process.argv[2] === '-h') {
  process.stdout.write(USAGE);
  process.exit(0);
}
const a = (() => {
  try {
    return JSON.parse(process.argv[2] ?? '');
  } catch {
    process.stderr.write(`bench-load: expected one JSON argument\n${USAGE}`);
    process.exit(2);
  }
})();
/** The load's client: MQTT (QoS 1), or Kafka when `kafka` names the bootstrap servers (the same client storeflow uses). */
interface Wire {
  publish(topic: string, payload: string): void;
  onMessage(fn: (payload: Buffer) => void): Promise<void>;
  /** Resolves once every publication so far is acknowledged by the broker. */
  drained(): Promise<void>;
  end(): Promise<void>;
}
async function wire(): Promise<Wire> {
  if (a.kafka) {
    const k = await connectKafka({
      brokers: String(a.kafka).split(','),
      clientId: 'bench-load',
      groupId: `bench-load-${process.pid}`,
      pollTimeoutMs: a.pollMs ?? 100,
      autoOffsetReset: 'latest',
      partitions: 6,
      sessionTimeoutMs: 10_000,
      role: 'load',
      log: createLogger({ level: 'warn' }),
    });
    let unacked = 0;
    return {
      publish: (topic, payload) => {
        unacked++;
        k.send(topic, payload, {}, () => unacked--);
      },
      onMessage: (fn) => k.subscribe([a.topics.prediction], (_t, payload) => fn(payload), { shared: false }),
      drained: async () => {
        while (unacked > 0) await new Promise((r) => setTimeout(r, 20));
      },
      end: () => k.close(),
    };
  }
  const client = await mqtt.connectAsync(a.broker, { protocolVersion: a.protocolVersion, clean: true, clientId: `bench-load-${process.pid}` });
  // Nagle off, as any latency-sensitive client would: with it, small packets wait for the peer's delayed ACK (~40 ms)
  (client.stream as { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
  return {
    publish: (topic, payload) => void client.publish(topic, payload, { qos: 1 }),
    onMessage: async (fn) => {
      client.on('message', (_t, payload) => fn(payload));
      await client.subscribeAsync(a.topics.prediction, { qos: 1 });
    },
    drained: () =>
      new Promise<void>((ok) => {
        // mqtt.js's QoS 1 publishes not yet acknowledged (internal)
        const outgoing = () => (client as unknown as { outgoing?: object }).outgoing;
        const check = () => (outgoing() && Object.keys(outgoing() ?? {}).length === 0 ? ok() : setTimeout(check, 20));
        check();
      }),
    end: () => client.endAsync(),
  };
}
const client = await wire();
const WINDOW = a.window ?? 1000;
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const sentTimes: number[] = [];
let received = 0;
let lastAt = 0;
let bytes = 0;
/** Replies that carry a department coupon (the ~150 KB ones), and each reply's size when asked. */
let departmentCoupons = 0;
const sizes: Record<string, number> = {};
let wake: (() => void) | undefined;
await client.onMessage((payload) => {
  const now = performance.now();
  // flat prediction: {"customer":{"id":"…"},"coupon":{…},"ts":…}; echo: the focus itself, or {"id":"…","pad":"  …  ","ts":…}
  // (the size-matched echo). The customer id comes first and the time last: read the head and the tail only, so a
  // ~150 KB reply costs the load client no more than the broker's bytes (not a decoding and a scan of all of it)
  const head = payload.toString('utf8', 0, Math.min(payload.length, 256));
  const tail = payload.length <= 256 ? head : payload.toString('utf8', payload.length - 64);
  const id = /"id":"?(\d+)"?/.exec(head)?.[1];
  const at = tail.lastIndexOf('"ts":');
  const ts = at < 0 ? undefined : /^\d+/.exec(tail.slice(at + 5))?.[0];
  const key = `${id}:${ts}`;
  const t0 = sentAt.get(key);
  if (t0 !== undefined) {
    latencies.push(now - t0);
    sentTimes.push(t0);
    sentAt.delete(key);
    if (a.recordSizes) sizes[key] = payload.length;
  }
  // a prediction's coupon type comes within its first ~80 characters
  if (head.includes('"type":"department"')) departmentCoupons++;
  received++;
  bytes += payload.length;
  lastAt = now;
  if (wake) {
    const w = wake;
    wake = undefined;
    w();
  }
});

if (a.entries) {
  // paced (ENTRY_RATE/s): a broker queues only so much for a busy subscriber (Mosquitto: 1,000 messages) and drops the rest
  const ENTRY_RATE = 4000;
  const start = performance.now();
  // entryIds: only these customers (their entries were lost the first time)
  const ids: number[] = a.entryIds ?? Array.from({ length: a.customers }, (_, i) => i + 1);
  for (let k = 1; k <= ids.length; k++) {
    while (((performance.now() - start) / 1000) * ENTRY_RATE < k) await new Promise((r) => setTimeout(r, 1));
    client.publish(a.topics.enter, JSON.stringify({ id: String(ids[k - 1]), ts: a.firstTs }));
  }
  await client.drained();
}

const round0 = a.round0 ?? 0;
const focus = (i: number) => {
  const id = String((i % a.customers) + 1);
  const round = Math.floor(i / a.customers);
  const dep = DEPARTMENTS[(a.mix ? (i % a.customers) + round + round0 : round) % DEPARTMENTS.length];
  // event time moves on a second per round of the store's customers, as in a store where all of them
  // are browsing: each (customer, ts) is unique, and no session idles out mid-run
  const ts = a.firstTs + 1 + Math.floor(i / a.customers);
  sentAt.set(`${id}:${ts}`, performance.now());
  client.publish(a.topics.focus, `{"id":"${id}","ts":${ts},"dep":"${dep}"}`);
};

if (a.onFocusStart) console.log('focus start');
const t0 = performance.now();
if (a.rate > 0) {
  // fixed rate, spread out: whatever is due every millisecond (not 10 ms bursts, which would time the burst)
  let sent = 0;
  await new Promise<void>((ok) => {
    const start = performance.now();
    const tick = () => {
      const due = Math.min(a.count, Math.floor(((performance.now() - start) / 1000) * a.rate) + 1);
      while (sent < due) focus(sent++);
      if (sent >= a.count) ok();
      else setTimeout(tick, 1);
    };
    tick();
  });
} else {
  // as fast as the replies come back, at most WINDOW focus events awaiting their reply (closed loop):
  // the broker's ack says nothing about the subscriber, and Mosquitto drops what exceeds its queues
  for (let i = 0; i < a.count; i++) {
    focus(i);
    if (i - received >= WINDOW)
      await new Promise<void>((ok) => {
        wake = ok;
        setTimeout(ok, 1000);
      }); // a lost reply must not stall the run
  }
}
const sentMs = performance.now() - t0;
const deadline = performance.now() + 30_000;
while (received < a.count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await client.end();
// p50 per second of sending, to tell a steady state from a transient (GC, checkpoint, warm-up)
const perSecond: number[] = [];
const p99PerSecond: number[] = [];
if (a.rate > 0)
  for (let s = 0; ; s++) {
    const l = latencies.filter((_, i) => sentTimes[i] - t0 >= s * 1000 && sentTimes[i] - t0 < (s + 1) * 1000).sort((x, y) => x - y);
    if (!l.length) break;
    perSecond.push(Math.round(l[l.length >> 1] * 10) / 10);
    p99PerSecond.push(Math.round(l[Math.floor(l.length * 0.99)] * 10) / 10);
  }
latencies.sort((x, y) => x - y);
const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN);
const seconds = (lastAt - t0) / 1000;
console.log(
  JSON.stringify({
    sent: a.count,
    received,
    sendSeconds: sentMs / 1000,
    seconds,
    rate: received / seconds,
    meanBytes: Math.round(bytes / Math.max(1, received)),
    departmentShare: departmentCoupons / Math.max(1, received),
    p50: q(0.5),
    p99: q(0.99),
    p50PerSecond: perSecond,
    p99PerSecond,
    max: latencies[latencies.length - 1],
    ...(a.recordSizes ? { sizes } : {}),
  }),
);
