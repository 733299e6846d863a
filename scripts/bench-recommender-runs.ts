/**
 * bench:recommender's runs (scripts/bench-recommender.ts): the load process and one broker client's run through it
 * (entries, the closed loop, then the fixed rate), and the echoes — plain, or answering with the sizes storeflow's
 * replies had — over MQTT or Kafka, with the client settings storeflow's own clients use.
 */
import { spawn } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import type { LoadResult } from './bench-load.ts';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { connectKafka } from '../adapters/edges/kafka.ts';
import type { Logger } from '../adapters/process/logger.ts';
import type { DurableLog } from './bench-durable-echo.ts';

export interface BenchRunSettings {
  brokerUrl: string;
  bootstrap?: string;
  KAFKA: boolean;
  POLL_MS: number;
  protocolVersion: number;
  CUSTOMERS: number;
  COUNT: number;
  RATE: number;
  SECONDS: number;
  WINDOW: number;
  FIRST_TS: number;
  STEADY_ROUND: number;
  log: Logger;
}

export function benchRuns(settings: BenchRunSettings) {
  const { brokerUrl, bootstrap, KAFKA, POLL_MS, protocolVersion, CUSTOMERS, COUNT, RATE, SECONDS, WINDOW, FIRST_TS, STEADY_ROUND, log } = settings;

  /** Runs the load process; `onFocusStart` hears when it has sent its entries and begins the focus events. `cpuPerFocusUs`: the caller sets it. */
  function load(args: object, onFocusStart?: () => void): Promise<LoadResult & { cpuPerFocusUs: number }> {
    return new Promise((ok, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bench-load.ts'), JSON.stringify(args)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (onFocusStart && out.includes('focus start')) {
          onFocusStart();
          onFocusStart = undefined;
        }
      });
      child.on('close', (code) => (code === 0 ? ok(JSON.parse(out.trim().split('\n').pop() ?? '')) : fail(new Error(`load process exited ${code}`))));
    });
  }

  /**
   * One broker client's run: entries first (when `ready` says when the service has taken them all in, so
   * none is still being worked through while focus events are timed), then focus events as fast as
   * replies come back, then focus events at RATE/s.
   */
  async function phase(
    name: string,
    topics: { enter: string; focus: string; prediction: string },
    ready?: () => Promise<number[]>,
    between?: () => void,
    onFocusStart?: () => void,
    recordSizes = false,
  ) {
    // what every load process of this run is told: where the broker is, the topics, how many customers
    const client = { broker: brokerUrl, kafka: bootstrap, pollMs: POLL_MS, protocolVersion, topics, customers: CUSTOMERS };
    // `ready` resolves with the customers not entered: a broker may drop entries (Mosquitto, past 1,000 queued for a
    // subscriber busy a moment), and those are sent again
    for (let ids: number[] | undefined, attempt = 1; ready; attempt++) {
      await load({
        ...client,
        count: 0,
        rate: 0,
        entries: true,
        entryIds: ids,
        firstTs: FIRST_TS,
      });
      ids = await ready();
      if (!ids.length) break;
      if (attempt === 3) throw new Error(`${ids.length} of ${CUSTOMERS} customers not entered after sending their entries 3 times`);
      console.log(`           ${ids.length} of ${CUSTOMERS} entries lost by the broker: sent again`);
    }
    let cpu0 = process.cpuUsage();
    const burst = await load(
      {
        ...client,
        count: COUNT,
        rate: 0,
        window: WINDOW,
        entries: false,
        firstTs: FIRST_TS,
        onFocusStart: true,
        mix: true,
        recordSizes,
      },
      () => {
        cpu0 = process.cpuUsage();
        onFocusStart?.();
      },
    );
    // CPU of this process (the broker when embedded, and the echo client or storeflow) per focus: steadier than a rate
    const cpu = process.cpuUsage(cpu0);
    burst.cpuPerFocusUs = (cpu.user + cpu.system) / COUNT;
    between?.();
    const steady = await load({
      ...client,
      count: RATE * SECONDS,
      rate: RATE,
      entries: false,
      firstTs: FIRST_TS + STEADY_ROUND + 10,
      mix: true,
      round0: STEADY_ROUND,
      recordSizes,
    });
    const dept = burst.departmentShare > 0 ? `, ${Math.round(burst.departmentShare * 100)} % department coupons` : '';
    console.log(
      `${name.padEnd(10)} sustained ${Math.round(burst.rate)} msg/s (${burst.received}/${burst.sent} replies, ${burst.meanBytes} B each${dept}; ${Math.round(burst.cpuPerFocusUs)} µs CPU per focus in this process); at ${RATE}/s: p50 ${steady.p50.toFixed(2)} ms, p99 ${steady.p99.toFixed(2)} ms (${steady.received}/${steady.sent}; p50 per second ${steady.p50PerSecond.join(' ')}; p99 per second ${steady.p99PerSecond.join(' ')})`,
    );
    return { burst, steady };
  }

  /**
   * What an echo answers to a focus: the focus itself (plain echo), or, given storeflow's reply sizes by "id:ts",
   * `{"id":"…","pad":"<spaces>","ts":…}` of exactly that size (size-matched echo: the id first and the time last, where
   * the load reads them in a prediction), and nothing where storeflow answered nothing.
   */
  function echoReply(sizes?: Map<string, number>): (focus: Buffer) => Buffer | undefined {
    if (!sizes) return (focus) => focus;
    return (focus) => {
      const m = /"id":"(\d+)","ts":(\d+)/.exec(focus.toString()); // the load's focus: {"id":"…","ts":…,"dep":"…"}
      const size = m ? sizes.get(`${m[1]}:${m[2]}`) : undefined;
      if (!m || size === undefined) return undefined;
      const head = `{"id":"${m[1]}","pad":"`;
      const tail = `","ts":${m[2]}}`;
      const out = Buffer.alloc(Math.max(size, head.length + tail.length), 0x20);
      out.write(head, 0, 'latin1');
      out.write(tail, out.length - tail.length, 'latin1');
      return out;
    };
  }

  // 1., 3. and 4.: an echo, subscribe and republish, no work (the durable one appends to its log first); the same
  // client settings storeflow's own clients use: Nagle off, mqtt.js's per-packet debug tracing off. Each echo on
  // topics of its own.
  const sep = KAFKA ? '.' : '/';
  async function echoPhase(name: string, sizes?: Map<string, number>, durable?: DurableLog) {
    const tag = durable ? 'durable' : sizes ? 'sized' : 'echo';
    const topics = {
      enter: `bench${process.pid}${sep}${tag}${sep}enter`,
      focus: `bench${process.pid}${sep}${tag}${sep}focus`,
      prediction: `bench${process.pid}${sep}${tag}${sep}prediction`,
    };
    const reply = echoReply(sizes);
    const answer = (payload: Buffer, send: (out: Buffer) => void) => {
      const out = reply(payload);
      if (!out) return;
      if (!durable) return send(out);
      durable.append(payload, out).then(
        () => send(out),
        (err) => log.error({ err }, 'durable echo: append failed'),
      );
    };
    if (KAFKA) {
      const echo = await connectKafka({
        brokers: [must(bootstrap, 'BOOTSTRAP_SERVERS')],
        clientId: `bench-${tag}`,
        groupId: `bench-${tag}-${process.pid}`,
        pollTimeoutMs: POLL_MS,
        autoOffsetReset: 'latest',
        partitions: 6,
        sessionTimeoutMs: 10_000,
        role: 'echo',
        log,
      });
      await echo.subscribe([topics.focus], (_t, payload) => answer(payload, (out) => echo.send(topics.prediction, out)));
      const run = await phase(name, topics);
      await echo.close();
      return run;
    }
    const echo = await mqtt.connectAsync(brokerUrl, { protocolVersion: protocolVersion as 4 | 5, clientId: `bench-${tag}-${process.pid}`, log: () => {} });
    (echo.stream as { setNoDelay?(on: boolean): void }).setNoDelay?.(true);
    echo.on('message', (_t, payload) => answer(payload, (out) => echo.publish(topics.prediction, out, { qos: 1 })));
    await echo.subscribeAsync(topics.focus, { qos: 1 });
    const run = await phase(name, topics);
    await echo.endAsync();
    return run;
  }

  return { phase, echoPhase };
}
