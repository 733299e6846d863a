/**
 * Test harness: every test gets its own PostgreSQL schema and MQTT topic prefix on the services the
 * runner provides (embedded or external), so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import pgModule, { sql, type SQLQuery } from '@databases/pg';
import { parseConfig, type Config, type Env } from '../schemas/env.ts';
import { createLogger, type Logger } from '../adapters/process/logger.ts';
import type { EventLog } from '../actors/kernel/event-log.ts';
import { appendedTo, Engine } from '../adapters/engine/engine.ts';
import type { Input, Output, Processor, Recovery, Registration } from '../adapters/process/processor-contract.ts';
import { startStoreflow, startStoreflowInMemory, type StartOptions, type Storeflow, type StoreflowInMemory } from '../adapters/process/app.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);

export const DATABASE_URL = process.env.DATABASE_URL ?? '';
export const MQTT_URL = process.env.MQTT_URL ?? '';

export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** An environment for an in-process storeflow on the shared test services, isolated by schema and topic prefix. */
export function testEnv(extra: Env = {}): Env {
  const name = uniqueName();
  return {
    DATABASE_URL,
    MQTT_URL,
    MQTT_PROTOCOL_VERSION: process.env.MQTT_PROTOCOL_VERSION ?? '4',
    DATABASE_SCHEMA: name,
    MQTT_TOPIC_PREFIX: `${name}/`,
    MQTT_CLIENT_ID: name,
    PORT: '0',
    STREAM_PORT: '0',
    STREAM_API_PORT: '0',
    LOG_LEVEL: 'warn',
    AUTO_SEED: 'false',
    GENERATOR_AUTO_START: 'false',
    SIMULATOR_AUTO_START: 'false',
    ROLES: 'recommender',
    ...extra,
  };
}

export function testConfig(extra: Env = {}): Config {
  const r = parseConfig(testEnv(extra));
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

/** One parsed log line: pino's level and message, and whatever fields the call logged. */
export interface LogEntry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A logger whose JSON lines are kept in `lines` (and parsed in `entries`). */
export function captureLogger(level = 'info'): { log: Logger; lines: string[]; entries: () => LogEntry[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level, json: true, stdout: !!process.env.TEST_VERBOSE, stream: { write: (l: string) => stream.write(l) } });
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l)) };
}

export interface TestApp extends Storeflow {
  logs: string[];
  entries(): LogEntry[];
  env: Env;
  /** Stops storeflow and drops its schema. */
  close(): Promise<void>;
}

export async function startTestApp(extra: Env = {}, opts: StartOptions = {}): Promise<TestApp> {
  const env = testEnv(extra);
  const r = parseConfig(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  const cap = captureLogger(env.LOG_LEVEL ?? 'warn');
  const app = await startStoreflow(r.config, cap.log, { port: 0, webDir: false, ...opts });
  return Object.assign(app, {
    logs: cap.lines,
    entries: cap.entries,
    env,
    async close() {
      await app.stop();
      await dropSchema(r.config.databaseSchema);
    },
  });
}

/** A storeflow on the in-memory event log (SEED's store in memory): no PostgreSQL, only the broker. */
export async function startTestAppInMemory(extra: Env = {}, opts: StartOptions = {}): Promise<StoreflowInMemory & { logs: string[]; close(): Promise<void> }> {
  const r = parseConfig(testEnv({ EVENT_LOG: 'memory', ...extra }));
  if (!r.ok) throw new Error(r.problems.join('; '));
  const cap = captureLogger(r.config.logLevel);
  const app = await startStoreflowInMemory(r.config, cap.log, { port: 0, webDir: false, ...opts });
  return Object.assign(app, { logs: cap.lines, close: () => app.stop() });
}

export async function dropSchema(schema: string): Promise<void> {
  if (!DATABASE_URL || schema === 'public') return;
  const db = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1 });
  try {
    await db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(schema)} CASCADE`);
  } finally {
    await db.dispose();
  }
}

export async function connectClient(clientId = uniqueName('c')): Promise<MqttClient> {
  return mqtt.connectAsync(MQTT_URL, { clientId, protocolVersion: 4, connectTimeout: 5000, reconnectPeriod: 0 });
}

/** A message collect() kept: its body is the parsed JSON object (the raw text when it is not JSON), read as T. */
export interface Collected<T = Record<string, unknown>> {
  topic: string;
  body: T;
  raw: string;
}

/** Subscribe and collect every message on the topics (payloads parsed as JSON when possible). */
export async function collect<T = Record<string, unknown>>(client: MqttClient, topics: string[]): Promise<Collected<T>[]> {
  const got: Collected<T>[] = [];
  client.on('message', (topic, payload) => {
    if (!topics.some((t) => topicMatches(t, topic))) return;
    const raw = payload.toString();
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      /* not JSON */
    }
    got.push({ topic, body: body as T, raw });
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return got;
}

function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/'),
    t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The four cache tables, whole, in key order (to compare before and after a load). */
export async function storeTables(db: { query: (q: SQLQuery) => Promise<Record<string, unknown>[]> }) {
  return {
    customers: await db.query(sql`SELECT * FROM customer_info ORDER BY customer_id`),
    products: await db.query(sql`SELECT * FROM product_info ORDER BY product_id`),
    coupons: await db.query(sql`SELECT * FROM coupon_info ORDER BY coupon_id`),
    links: await db.query(sql`SELECT * FROM coupon_product ORDER BY coupon_id, product_id`),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An engine (adapters/engine/engine.ts) over `log` with one processor registered, as a start makes one: `run` a logged
 * input through it (its outputs appended to the log), `recover` what a recovery read. `appended` collects what it appended.
 */
export function engineOver(log: Pick<EventLog, 'append'>, processor: Processor, onLogged?: Registration['onLogged']) {
  const appended: Output[] = [];
  const into = appendedTo(log);
  const engine = new Engine({
    outputs: {
      append(outputs, cause) {
        appended.push(...outputs);
        return into.append(outputs, cause);
      },
    },
    handOffLocally: false,
    log: createLogger({ level: 'silent' }),
  });
  const registration: Registration = { processor, onLogged };
  engine.register(registration);
  return {
    appended,
    /** Resolves with the outputs logged. */
    run: (input: Input) => Engine.settled(engine.run(input)),
    recover: (recovery: Recovery) => engine.recover(registration, recovery),
  };
}

/** A role's recovery run as a start runs it, through an engine; resolves with the outputs appended (those not in the log already). */
export async function recoverThroughEngine(log: Pick<EventLog, 'append'>, processor: Processor, recovery: Recovery): Promise<Output[]> {
  const engine = engineOver(log, processor);
  await engine.recover(recovery);
  return engine.appended;
}
