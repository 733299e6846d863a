/**
 * The pump itself (seed 000): a pump machine whose publishing actor sends focus events to FOCUS_TOPIC as
 * fast as the broker acknowledges them, its commands (START / STOP) and settings, and its achieved rate.
 * Apart from the role's wiring (index.ts) and routes (routes.ts) so that scripts/bench-pump.ts measures
 * exactly this code without HTTP.
 */
import { createActor, type Actor } from 'xstate';
import { Type, type Static } from '@sinclair/typebox';
import { pumpMachine, type BatchResult, type Batch, type PumpSettings } from '../../machines/pump.ts';
import { createPrng } from '../../actors/kernel/prng.ts';
import { DEPARTMENTS } from '../../schemas/departments.ts';
import { PumpCommand } from '../../schemas/messages.ts';
import { compile } from '../../schemas/normalise.ts';
import type { Config } from '../../schemas/env.ts';
import type { TransportClient } from '../edges/transport.ts';
import type { Logger } from '../process/logger.ts';
import type { Metrics } from '../process/metrics.ts';
import { LIMITS } from '../../schemas/limits.ts';

/** Achieved rate is measured over this window. */
const RATE_WINDOW_MS = 5000;
/** Unacknowledged publications allowed before a batch waits for the broker. */
const IN_FLIGHT_LIMIT = 20_000;
const commandCheck = compile(PumpCommand);

export const PumpSettingsBody = Type.Object(
  {
    rate: Type.Optional(
      Type.Number({ minimum: 0, maximum: LIMITS.pumpRate, description: `Target events/s (0 = use events_per_tick); at most ${LIMITS.pumpRate}` }),
    ),
    events_per_tick: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: LIMITS.pumpRate,
        description: `Events per tick when no target rate is set; events_per_tick / interval_s at most ${LIMITS.pumpRate}/s`,
      }),
    ),
    interval_s: Type.Optional(Type.Number({ minimum: 0.001, maximum: 3600, description: 'Seconds between ticks (PERIODIC_TASKS_INTERVAL)' })),
  },
  { additionalProperties: false, $id: 'pump_settings', title: 'Pump settings (change the load live)' },
);
export type PumpSettingsBodyT = Static<typeof PumpSettingsBody>;

export interface PumpState {
  state: 'started' | 'stopped';
  instance_id: string;
  events_sent: number;
  /** Achieved events/s over the last few seconds (0 when stopped). */
  rate: number;
  target_rate: number;
  events_per_tick: number;
  interval_s: number;
  publish_failures: number;
  topic: string;
  command_topics: string[];
}

export type CommandResult = { ok: true; command: 'START' | 'STOP' } | { ok: false; reason: string };

export interface Pump {
  readonly instanceId: string;
  readonly commandTopics: string[];
  actor: Actor<typeof pumpMachine>;
  start(by: string): void;
  stop(by: string): void;
  /** A command from the command topic: START / STOP in any case, or {"command": ...}; anything else is a warning. */
  command(payload: string | Buffer, topic?: string): CommandResult;
  settings(change: PumpSettingsBodyT): void;
  state(): PumpState;
  countCommand(command: string, source: string): void;
  close(): void;
}

export interface PumpOptions {
  config: Config;
  broker: TransportClient;
  log: Logger;
  metrics?: Metrics;
}

/** The pump without the HTTP and role wiring (used by the role and by scripts/bench-pump.ts). */
export function createPump(o: PumpOptions): Pump {
  const { config, broker, log } = o;
  const p = config.pump;
  const instanceId = p.instanceId;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL is one of the characters a topic level cannot hold
  if (/[+#\u0000]/.test(instanceId) || instanceId.length === 0 || instanceId.length > 128)
    throw new Error(`PUMP_INSTANCE_ID ${JSON.stringify(instanceId)} cannot be part of an MQTT topic (no +, # or NUL; 1..128 characters)`);
  const topic = config.topics.focus;
  // COMMAND_TOPIC/<instance id>, by the name the topic really has on the transport (Kafka's has no '/'), which is
  // also what the start-up log shows
  const commandTopics = [config.topics.command, broker.topicName(`${config.topics.command}/${instanceId}`)];
  const m = o.metrics && {
    sent: o.metrics.counter('storeflow_pump_events_total', 'Focus events the pump published (acknowledged by the broker)'),
    failed: o.metrics.counter('storeflow_pump_publish_failures_total', 'Focus events the pump could not publish'),
    commands: o.metrics.counter('storeflow_pump_commands_total', 'Pump commands received', ['command', 'source']),
  };

  let sent = 0;
  let failed = 0;
  // (time, total sent) after each batch, for the achieved rate
  let samples: { t: number; total: number }[] = [];

  // Publications are pipelined: a batch is handed to the client and the next tick may start before
  // the broker acknowledged it, with at most IN_FLIGHT_LIMIT unacknowledged (mqtt.js runs out of
  // QoS 1 message ids at 65535). events_sent counts acknowledged events.
  let lastFailureLog = 0;
  const warnFailure = (err: unknown) => {
    // at thousands of events/s a broker outage must not flood the log: one line every 5 s
    const now = Date.now();
    if (now - lastFailureLog < 5000) return;
    lastFailureLog = now;
    log.warn({ instanceId, err: err instanceof Error ? err.message : String(err), failed }, 'pump could not publish (trying again every tick)');
  };
  let inFlight = 0;
  let lastError: unknown;
  let roomWaiters: (() => void)[] = [];
  let counted = 0;
  // one callback per event, no promise: the publish loop is the pump's whole job
  const settle = (err?: Error) => (err ? lost(err) : acked());
  const acked = () => {
    sent++;
    if (--inFlight <= IN_FLIGHT_LIMIT / 2 && roomWaiters.length) {
      const w = roomWaiters;
      roomWaiters = [];
      for (const f of w) f();
    }
  };
  const lost = (err: unknown) => {
    failed++;
    lastError = err;
    warnFailure(err);
    if (--inFlight <= IN_FLIGHT_LIMIT / 2 && roomWaiters.length) {
      const w = roomWaiters;
      roomWaiters = [];
      for (const f of w) f();
    }
  };
  const room = () => new Promise<void>((ok) => roomWaiters.push(ok));

  // metrics are brought up to date once a batch, not once an event
  let failedCounted = 0;
  const updateMetrics = () => {
    m?.sent.inc(sent - counted);
    m?.failed.inc(failed - failedCounted);
    counted = sent;
    failedCounted = failed;
  };

  const publish = async (batch: Batch): Promise<BatchResult> => {
    const startedAt = performance.now();
    const { ids, deps, departments } = batch;
    updateMetrics();
    const failedBefore = failed;
    // a broker that is down fails the tick at once (the machine reports it and tries again next tick)
    if (!broker.isConnected()) throw lastError instanceof Error ? lastError : new Error('not connected to the MQTT broker');
    // ts is the time of publication (seed 000: "ts now")
    const tail = `","ts":${Math.floor(Date.now() / 1000)}}`;
    const names = departments.map((d) => `","dep":"${d}${tail}`);
    for (let i = 0; i < ids.length; i++) {
      while (inFlight >= IN_FLIGHT_LIMIT) await room();
      inFlight++;
      broker.send(topic, `{"id":"${ids[i]}${names[deps[i]]}`, undefined, settle);
    }
    samples.push({ t: performance.now(), total: sent });
    const bad = failed - failedBefore;
    return { sent: ids.length - bad, failed: bad, startedAt, elapsedMs: performance.now() - startedAt };
  };

  const settings: PumpSettings = { intervalMs: p.intervalS * 1000, eventsPerTick: p.eventsPerTick, rate: p.rate };
  const actor = createActor(pumpMachine, {
    input: {
      publish,
      // every instance draws its own reproducible stream
      rng: createPrng(`${config.seed}/pump/${instanceId}`),
      minCustomerId: p.minCustomerId,
      maxCustomerId: p.maxCustomerId,
      departments: DEPARTMENTS,
      settings,
    },
  });
  actor.on('started', (e) => {
    samples = [{ t: performance.now(), total: sent }];
    log.info({ instanceId, by: e.by, topic, ...describeLoad(current) }, 'pump started');
  });
  actor.on('stopped', (e) => {
    updateMetrics();
    log.info({ instanceId, by: e.by, eventsSent: sent }, 'pump stopped');
  });
  actor.on('publishFailed', (e) => warnFailure(e.error));
  actor.subscribe({ error: (err) => log.error({ err, instanceId }, 'pump actor failed') });
  actor.start();

  let current = { ...settings };
  const running = () => actor.getSnapshot().matches('running');

  const achievedRate = () => {
    if (!running() || samples.length < 2) return 0;
    const now = performance.now();
    samples = samples.filter((_, i) => i === samples.length - 1 || now - samples[i + 1].t < RATE_WINDOW_MS);
    const first = samples[0],
      last = samples[samples.length - 1];
    const span = (now - first.t) / 1000;
    return span > 0 ? Math.round(((last.total - first.total) / span) * 10) / 10 : 0;
  };

  const pump: Pump = {
    instanceId,
    commandTopics,
    actor,
    start: (by) => actor.send({ type: 'START', by }),
    stop: (by) => actor.send({ type: 'STOP', by }),
    command(payload, from) {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      let value: unknown = text;
      if (/^\s*[{"]/.test(text)) {
        try {
          value = JSON.parse(text);
        } catch {
          /* not JSON: checked as a plain word below */
        }
      }
      if (!commandCheck.check(value)) {
        const reason = `unknown pump command ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}: expected START or STOP`;
        m?.commands.inc({ command: 'unknown', source: 'mqtt' });
        log.warn({ instanceId, topic: from, reason }, 'unknown pump command ignored');
        return { ok: false, reason };
      }
      const word = (typeof value === 'string' ? value : (value as { command: string }).command).trim().toUpperCase() as 'START' | 'STOP';
      m?.commands.inc({ command: word, source: 'mqtt' });
      if (word === 'START') pump.start(`mqtt ${from ?? ''}`.trim());
      else pump.stop(`mqtt ${from ?? ''}`.trim());
      return { ok: true, command: word };
    },
    settings(change) {
      const next: Partial<PumpSettings> = {};
      if (change.rate !== undefined) next.rate = change.rate;
      if (change.events_per_tick !== undefined) next.eventsPerTick = change.events_per_tick;
      if (change.interval_s !== undefined) next.intervalMs = change.interval_s * 1000;
      current = { ...current, ...next };
      actor.send({ type: 'SETTINGS', settings: next });
      samples = [{ t: performance.now(), total: sent }];
      log.info({ instanceId, ...describeLoad(current) }, 'pump settings changed');
    },
    state: () => {
      updateMetrics();
      return {
        state: running() ? 'started' : 'stopped',
        instance_id: instanceId,
        events_sent: sent,
        rate: achievedRate(),
        target_rate: targetRate(current),
        events_per_tick: current.eventsPerTick,
        interval_s: current.intervalMs / 1000,
        publish_failures: failed,
        topic,
        command_topics: commandTopics,
      };
    },
    countCommand: (command, source) => m?.commands.inc({ command, source }),
    close: () => actor.stop(),
  };
  return pump;
}

const targetRate = (s: PumpSettings) => (s.rate > 0 ? s.rate : Math.round((s.eventsPerTick / (s.intervalMs / 1000)) * 10) / 10);
const describeLoad = (s: PumpSettings) => ({
  targetRate: targetRate(s),
  eventsPerTick: s.rate > 0 ? undefined : s.eventsPerTick,
  intervalS: s.intervalMs / 1000,
});
