/**
 * `npm run bench:pump`: the pump's maximum publish rate against a plain mqtt.js publish loop, measured
 * in the same run on the same broker (the embedded aedes broker unless MQTT_URL is set). Both publish
 * seed-000 focus payloads at QoS 1 and count a message once the broker acknowledged it.
 *   BENCH_EVENTS=200000 BENCH_ROUNDS=5 BENCH_BATCH=5000 npm run bench:pump
 * Prints each round, the medians and the ratio pump / plain (target ≥ 0.9).
 */
import { cli } from './cli.ts';
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { configFrom } from '../schemas/env.ts';
import { DEPARTMENTS } from '../schemas/departments.ts';
import { must } from '../actors/kernel/must.ts';
import { createLogger, silentLogger } from '../adapters/process/logger.ts';
import { connectMqtt, mqttOptions } from '../adapters/edges/mqtt.ts';
import { startEmbeddedBroker } from '../adapters/edges/embedded-broker.ts';
import { createPump } from '../adapters/pump/pump.ts';
import { JSON_OPTION, printBenchJson } from './bench-report.ts';

const { values } = cli({
  usage: 'npm run bench:pump -- [--json]',
  summary: "The pump's maximum publish rate against a plain mqtt.js publish loop, in the same run, on the embedded broker (MQTT_URL: another one).",
  options: JSON_OPTION,
  more: 'environment: BENCH_EVENTS (200000 events a round), BENCH_ROUNDS (5), BENCH_BATCH (5000 events a tick)',
});
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const IN_FLIGHT = 20_000;
const log = createLogger({ level: 'info' });

const embedded = process.env.MQTT_URL ? undefined : await startEmbeddedBroker({ port: 0, host: '127.0.0.1', log: silentLogger });
const url = process.env.MQTT_URL ?? must(embedded, 'the embedded broker').url;
const protocolVersion = embedded ? 4 : (Number(process.env.MQTT_PROTOCOL_VERSION ?? 5) as 4 | 5);
const run = randomBytes(4).toString('hex');
const topic = `bench-${run}/customer/focus`;

/**
 * Baseline: one mqtt.js client publishing as fast as it can, with the same cap on unacknowledged
 * messages as the pump (mqtt.js stalls beyond 65535 QoS 1 message ids in flight).
 */
async function plainLoop(n: number): Promise<number> {
  const client = await mqtt.connectAsync(url, {
    clientId: `bench-plain-${run}-${randomBytes(3).toString('hex')}`,
    protocolVersion,
    clean: true,
    reconnectPeriod: 0,
  });
  try {
    const t0 = performance.now();
    const ts = Math.floor(Date.now() / 1000);
    await new Promise<void>((done, fail) => {
      let issued = 0,
        acked = 0;
      const next = () => {
        while (issued < n && issued - acked < IN_FLIGHT) {
          issued++;
          const payload = JSON.stringify({ id: String(1 + Math.floor(Math.random() * 1000)), dep: DEPARTMENTS[Math.floor(Math.random() * 5)], ts });
          client.publish(topic, payload, { qos: 1 }, onAck);
        }
      };
      const onAck = (err?: Error) => {
        if (err) return fail(err);
        if (++acked === n) return done();
        if (issued - acked <= IN_FLIGHT / 2) next();
      };
      next();
    });
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await client.endAsync();
  }
}

/** The pump, as the role runs it, flat out: big batches, no wait between ticks. */
async function pumpRun(n: number): Promise<number> {
  const config = configFrom({
    MQTT_URL: url,
    MQTT_PROTOCOL_VERSION: String(protocolVersion),
    MQTT_CLIENT_ID: `bench-${run}`,
    ROLES: 'pump',
    FOCUS_TOPIC: topic,
    PUMP_INSTANCE_ID: `bench-${randomBytes(3).toString('hex')}`,
    GENERATOR_AUTO_START: 'false',
    PERIODIC_TASKS_INTERVAL: '0.001',
    EVENTS_PER_TICK: String(BATCH),
  });
  const broker = await connectMqtt({ ...mqttOptions(config, [url], `pump-${config.pump.instanceId}`, silentLogger), clean: true });
  const pump = createPump({ config, broker, log: silentLogger });
  try {
    const t0 = performance.now();
    pump.start('bench');
    while (pump.state().events_sent < n) await new Promise((r) => setTimeout(r, 2));
    const rate = pump.state().events_sent / ((performance.now() - t0) / 1000);
    pump.stop('bench');
    return rate;
  } finally {
    pump.close();
    await broker.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

log.info(
  { broker: embedded ? 'embedded aedes (MQTT 3.1.1)' : url.replace(/:\/\/[^@]*@/, '://***@'), events: EVENTS, rounds: ROUNDS, batch: BATCH },
  'bench:pump',
);
await plainLoop(Math.min(EVENTS, 20_000)); // warm-up (JIT, sockets)
await pumpRun(Math.min(EVENTS, 20_000));
const plain: number[] = [],
  pumped: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // alternate the order so neither side always runs on a warmer broker
  if (r % 2 === 0) {
    plain.push(await plainLoop(EVENTS));
    pumped.push(await pumpRun(EVENTS));
  } else {
    pumped.push(await pumpRun(EVENTS));
    plain.push(await plainLoop(EVENTS));
  }
  console.log(`round ${r + 1}: plain mqtt.js ${Math.round(plain[plain.length - 1])} events/s, pump ${Math.round(pumped[pumped.length - 1])} events/s`);
}
const ratio = median(pumped) / median(plain);
console.log(
  `median: plain mqtt.js loop ${Math.round(median(plain))} events/s, pump ${Math.round(median(pumped))} events/s, ratio ${ratio.toFixed(2)} (target >= 0.9)`,
);
if (values.json)
  printBenchJson({
    bench: 'pump',
    setting: `${EVENTS.toLocaleString('en-US')} events a round, ${ROUNDS} rounds, ${embedded ? 'embedded broker' : 'MQTT_URL'}`,
    rows: [
      {
        figure: `pump, max publish rate (${embedded ? 'embedded broker' : 'MQTT_URL'})`,
        value: Math.round(median(pumped)),
        unit: 'events/s',
        baseline: { what: 'plain mqtt.js publish loop', value: Math.round(median(plain)) },
        ratio,
        target: '≥ 0.9 of the plain loop',
        met: ratio >= 0.9,
      },
    ],
  });
await embedded?.stop();
process.exit(0);
