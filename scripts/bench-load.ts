/**
 * The load process of `npm run bench:recommender` (a separate process, as a real client would be):
 * publishes entries, then focus events, over the real broker, and times the replies on the
 * prediction topic. Prints one JSON line with the result.
 *   args: JSON {broker, protocolVersion, topics: {enter, focus, prediction}, customers, count, rate (0 = as fast as possible), entries, firstTs}
 */
import mqtt from 'mqtt';
import { DEPARTMENTS } from '../schemas/departments.ts';

const a = JSON.parse(process.argv[2]);
const client = await mqtt.connectAsync(a.broker, { protocolVersion: a.protocolVersion, clean: true, clientId: `bench-load-${process.pid}` });
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let received = 0;
let lastAt = 0;
let bytes = 0;
client.on('message', (_t, payload) => {
  const now = performance.now();
  const text = payload.toString();
  // flat prediction: {"customer":{"id":"…"},"coupon":{…},"ts":…}; echo: the focus itself
  const id = /"id":"?(\d+)"?/.exec(text)?.[1];
  const at = text.lastIndexOf('"ts":');
  const ts = at < 0 ? undefined : /^\d+/.exec(text.slice(at + 5))?.[0];
  const key = `${id}:${ts}`;
  const t0 = sentAt.get(key);
  if (t0 !== undefined) { latencies.push(now - t0); sentAt.delete(key); }
  received++;
  bytes += payload.length;
  lastAt = now;
});
await client.subscribeAsync(a.topics.prediction, { qos: 1 });

if (a.entries) {
  for (let c = 1; c <= a.customers; c++) client.publish(a.topics.enter, JSON.stringify({ id: String(c), ts: a.firstTs }), { qos: 1 });
  await new Promise<void>((ok) => { const check = () => ((client as any).outgoing && Object.keys((client as any).outgoing).length === 0 ? ok() : setTimeout(check, 20)); check(); });
  await new Promise((r) => setTimeout(r, 500));
}

const focus = (i: number) => {
  const id = String((i % a.customers) + 1);
  const dep = DEPARTMENTS[Math.floor(i / a.customers) % DEPARTMENTS.length];
  const ts = a.firstTs + 1 + i;
  sentAt.set(`${id}:${ts}`, performance.now());
  client.publish(a.topics.focus, `{"id":"${id}","ts":${ts},"dep":"${dep}"}`, { qos: 1 });
};

const t0 = performance.now();
if (a.rate > 0) {
  // fixed rate: a batch every 10 ms
  const perTick = a.rate / 100;
  let sent = 0;
  await new Promise<void>((ok) => {
    const start = performance.now();
    const tick = () => {
      const due = Math.min(a.count, Math.floor(((performance.now() - start) / 10 + 1) * perTick));
      while (sent < due) focus(sent++);
      if (sent >= a.count) ok(); else setTimeout(tick, 10 - ((performance.now() - start) % 10));
    };
    tick();
  });
} else {
  // as fast as the broker takes them, at most 2000 unacknowledged
  for (let i = 0; i < a.count; i++) {
    focus(i);
    if (i % 500 === 0) while (Object.keys((client as any).outgoing ?? {}).length > 2000) await new Promise((r) => setImmediate(r));
  }
}
const sentMs = performance.now() - t0;
const deadline = performance.now() + 30_000;
while (received < a.count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await client.endAsync();
latencies.sort((x, y) => x - y);
const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN);
const seconds = (lastAt - t0) / 1000;
console.log(JSON.stringify({ sent: a.count, received, sendSeconds: sentMs / 1000, seconds, rate: received / seconds, meanBytes: Math.round(bytes / Math.max(1, received)), p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] }));
