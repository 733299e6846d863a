/**
 * `npm run fuzz -- --count N`: starts storeflow in a child process (every role, embedded PostgreSQL
 * and broker; the machine's services when DATABASE_URL / MQTT_URL are set, in a private schema and
 * topic prefix) and sends N generated hostile inputs (scripts/fuzz-inputs.ts, seeded: the same
 * seed sends the same inputs) to every input path: the MQTT input topics, the body of every POST
 * endpoint of the control plane (read from its OpenAPI at /docs/json), its GET paths and queries,
 * the gateway's internal API and its public WebSocket port, AMQP (when AMQP_URL is set) and CSV
 * directories through the loader (a private schema). Loopback only.
 *
 * Per path it prints: inputs sent, accepted, refused (4xx, close codes, rejections), 5xx (HTTP 5xx,
 * WebSocket 1011, or an error line in storeflow's log), hangs (no answer within --timeout-ms),
 * crashes (the child exited; it is restarted), and the child's RSS (/proc) before the path and
 * after it, once idle after a GC window (a full GC through the child's inspector on loopback).
 * Exit 1 on any crash, 5xx or hang; 2 on bad arguments.
 *
 *   npm run fuzz -- --count 300             what CI runs
 *   npm run fuzz -- --count 10000 --seed 7  --only mqtt,csv   --timeout-ms 10000   --keep (keep the temp folder)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';
import mqtt, { type MqttClient } from 'mqtt';
import amqp from 'amqplib';
import pgModule, { sql } from '@databases/pg';
import { createPrng, type Prng } from '../actors/kernel/prng.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { CSV_FILES, CSV_HEADERS, formatStoreCsv, StoreDataError } from '../actors/data/store-csv.ts';
import { parseConfig } from '../schemas/env.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { connectDatabase, migrate, type Database } from '../adapters/edges/database.ts';
import { loadStoreTables, readStoreDirectory } from '../adapters/edges/cache-loader.ts';
import { AMQP_EXCHANGE, MAX_AMQP_BODY } from '../adapters/edges/amqp-source.ts';
import { hostileBody, hostileCell, hostileQuery, hostileSegment, pickKind, type Body, type Json, type Kind } from './fuzz-inputs.ts';

const createConnectionPool: typeof pgModule.default = (pgModule as any).default ?? pgModule;


// ---------------------------------------------------------------- arguments

const USAGE = 'usage: npm run fuzz -- [--count N] [--seed S] [--only name,name] [--timeout-ms MS] [--concurrency C] [--path-seconds S] [--keep]\n';
const args = process.argv.slice(2);
const opt = { count: 1000, seed: '1', only: [] as string[], timeoutMs: 10_000, concurrency: 8, pathSeconds: 300, keep: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => { const v = args[++i]; if (v === undefined) bad(`${a} needs a value`); return v!; };
  if (a === '--count') opt.count = Number(value());
  else if (a === '--seed') opt.seed = value();
  else if (a === '--only') opt.only = value().split(',').map((s) => s.trim()).filter(Boolean);
  else if (a === '--timeout-ms') opt.timeoutMs = Number(value());
  else if (a === '--concurrency') opt.concurrency = Number(value());
  else if (a === '--path-seconds') opt.pathSeconds = Number(value());
  else if (a === '--keep') opt.keep = true;
  else if (a === '--help' || a === '-h') { process.stdout.write(USAGE); process.exit(0); }
  else bad(`unknown argument ${a}`);
}
if (!Number.isInteger(opt.count) || opt.count < 1) bad('--count must be a positive integer');
if (!Number.isInteger(opt.concurrency) || opt.concurrency < 1 || opt.concurrency > 64) bad('--concurrency must be 1..64');
if (!(opt.timeoutMs >= 100)) bad('--timeout-ms must be at least 100');
if (!(opt.pathSeconds >= 1)) bad('--path-seconds must be at least 1');
function bad(msg: string): never { process.stderr.write(`fuzz: ${msg}\n${USAGE}`); process.exit(2); }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = createLogger({ level: 'warn', json: true });
const NOW = Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- the child

const work = mkdtempSync(join(tmpdir(), 'storeflow-fuzz-'));
const home = join(work, 'home');
const logFile = createWriteStream(join(work, 'storeflow.log'));
const external = { db: process.env.DATABASE_URL || '', mqtt: process.env.MQTT_URL || process.env.MQTT_HOST || '', amqp: process.env.AMQP_URL || '' };
const tag = `fuzz_${process.pid}`;
const ports = { http: await freePort(), stream: await freePort(), api: await freePort(), mqtt: await freePort(), pg: await freePort() };
const childEnv: Record<string, string> = {
  ...(process.env as Record<string, string>),
  STOREFLOW_HOME: home, HOST: '127.0.0.1', PORT: String(ports.http), STREAM_PORT: String(ports.stream), STREAM_API_PORT: String(ports.api),
  MQTT_PORT: String(ports.mqtt), PG_PORT: String(ports.pg), LOG_LEVEL: 'warn', LOG_FILENAME: '',
  GENERATOR_AUTO_START: 'false', SIMULATOR_AUTO_START: 'false', AUTO_SEED: 'true', DEAD_LETTER_TOPIC: '',
  ...(external.db ? { DATABASE_SCHEMA: tag } : {}),
  ...(external.mqtt ? { MQTT_TOPIC_PREFIX: `${tag}/`, MQTT_CLIENT_ID: tag } : {}),
  // a topic exchange binds `#`: every hostile routing key reaches storeflow (a direct one routes only the streams' keys)
  ...(external.amqp ? { AMQP_EXCHANGE_TYPE: 'topic' } : {}),
};
delete childEnv.ROLES; delete childEnv.DEBUG; delete childEnv.NODE_OPTIONS;
const parsed = parseConfig(childEnv);
if (!parsed.ok) bad(`the environment is not a valid storeflow configuration: ${parsed.problems.join('; ')}`);
const config = parsed.config;
const databaseUrl = external.db || `postgres://postgres@127.0.0.1:${ports.pg}/postgres`;
const brokerUrl = config.mqtt.mode === 'external' ? config.mqtt.urls[0] : `mqtt://127.0.0.1:${ports.mqtt}`;

class Child {
  proc?: ChildProcess;
  generation = 0;
  alive = false;
  errorLines = 0;
  tail: string[] = [];
  /** The last error lines (level 50+) of storeflow's log. */
  errors: string[] = [];
  ready: Promise<void> = Promise.resolve();
  private inspectorUrl = '';
  private inspector?: WebSocket;
  private gcId = 0;
  /** Called when a child that was ready exits (a crash unless we stopped it). */
  onExit: (code: number | null, signal: string | null) => void = () => {};
  private wasReady = false;

  start(): Promise<void> {
    this.ready = this.launch();
    return this.ready;
  }

  private async launch() {
    this.generation++;
    this.inspector = undefined;
    this.inspectorUrl = '';
    const proc = spawn(process.execPath, ['--inspect=127.0.0.1:0', '--import', 'tsx', 'scripts/start.ts'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], cwd: resolve(import.meta.dirname, '..') });
    this.proc = proc;
    this.alive = true;
    const lines = (chunk: Buffer, err: boolean) => {
      logFile.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
        if (this.tail.length > 60) this.tail.shift();
        const url = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (err && url) this.inspectorUrl = url[1];
        if (line.startsWith('{') && /"level":(5\d|60)/.test(line)) {
          this.errorLines++;
          this.errors.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
          if (this.errors.length > 5) this.errors.shift();
        }
      }
    };
    proc.stdout!.on('data', (d: Buffer) => lines(d, false));
    proc.stderr!.on('data', (d: Buffer) => lines(d, true));
    this.wasReady = false;
    proc.on('exit', (code, signal) => { this.alive = false; if (this.wasReady) this.onExit(code, signal); });
    const until = Date.now() + 180_000;
    while (Date.now() < until) {
      if (!this.alive) throw new Error(`storeflow exited while starting:\n${this.tail.join('\n')}`);
      const r = await http('GET', ports.http, '/readyz', undefined, {}, 2000);
      if (r.status === 200) { this.wasReady = true; return; }
      await sleep(250);
    }
    throw new Error('storeflow was not ready within 180 s');
  }

  rssMb(): number {
    try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.proc!.pid}/status`, 'utf8'))![1]) / 1024; } catch { return NaN; }
  }

  /** A full garbage collection in the child, through its inspector (loopback). */
  async gc(): Promise<void> {
    if (!this.alive || !this.inspectorUrl) return;
    if (!this.inspector || this.inspector.readyState !== WebSocket.OPEN) {
      const ws = new WebSocket(this.inspectorUrl);
      ws.on('error', () => {});
      const opened = await Promise.race([once(ws, 'open').then(() => true), sleep(3000).then(() => false)]).catch(() => false);
      if (!opened) return;
      this.inspector = ws;
    }
    const id = ++this.gcId;
    const ws = this.inspector;
    let on: (m: WebSocket.RawData) => void = () => {};
    const answered = new Promise<void>((ok) => { on = (m) => { if (JSON.parse(m.toString()).id === id) ok(); }; ws.on('message', on); });
    ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
    await Promise.race([answered, sleep(10_000)]);
    ws.off('message', on);
  }

  async stop(): Promise<void> {
    this.inspector?.close();
    const p = this.proc;
    if (!p || !this.alive) return;
    p.kill('SIGTERM');
    const done = await Promise.race([once(p, 'exit').then(() => true), sleep(20_000).then(() => false)]);
    if (!done) p.kill('SIGKILL');
  }
}

/** GC in the child, twice, and its RSS once settled. */
async function settledRss(child: Child): Promise<number> {
  await child.gc(); await sleep(200); await child.gc(); await sleep(300);
  return child.rssMb();
}

/** After a path: idle, GC, until RSS is back within 20 % of `before` or the window (10 s) ends. */
async function rssAfterWindow(child: Child, before: number): Promise<number> {
  const until = Date.now() + 10_000;
  let rss = await settledRss(child);
  while (rss > before * 1.2 && Date.now() < until) { await sleep(1000); rss = await settledRss(child); }
  return rss;
}

// ---------------------------------------------------------------- senders

type Outcome = 'ok' | 'refused' | '5xx' | 'hang' | 'reset';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP exchange with a raw request target; never throws. */
function http(method: string, port: number, target: string, body: Buffer | undefined, headers: Record<string, string>, timeoutMs = opt.timeoutMs, retried = false): Promise<{ status: number; text: string; error?: string; hang?: boolean }> {
  return new Promise((ok) => {
    let settled = false;
    const done = (r: { status: number; text: string; error?: string; hang?: boolean }) => { if (!settled) { settled = true; clearTimeout(timer); ok(r); } };
    let req: ReturnType<typeof request>;
    try {
      req = request({ host: '127.0.0.1', port, method, path: target, agent, headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers } });
    } catch (err) { return ok({ status: 0, text: '', error: `client refused the request: ${(err as Error).message}` }); }
    const timer = setTimeout(() => { req.destroy(); done({ status: 0, text: '', hang: true }); }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => { if (size < 4096) chunks.push(d); size += d.length; });
      res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
      res.on('error', (err) => done({ status: res.statusCode ?? 0, text: '', error: err.message }));
    });
    req.on('error', (err) => {
      // a kept-alive socket the server closed as we reused it: send again on a new one (Node's advice)
      if (req.reusedSocket && !retried && (err as NodeJS.ErrnoException).code === 'ECONNRESET') { clearTimeout(timer); settled = true; ok(http(method, port, target, body, headers, timeoutMs, true)); return; }
      done({ status: 0, text: '', error: err.message });
    });
    if (body) req.end(body); else req.end();
  });
}

function classifyHttp(r: { status: number; error?: string; hang?: boolean }, kind: Kind): Outcome {
  if (r.hang) return 'hang';
  if (r.status >= 500) return '5xx';
  if (r.status >= 400) return 'refused';
  if (r.status > 0) return 'ok';
  // a connection cut while an oversized body was still being sent: refused before it was read
  return kind === 'oversized' || /client refused/.test(r.error ?? '') ? 'refused' : 'reset';
}

/** A raw WebSocket upgrade: the status line, then the first frame (a close code) or silence. */
function upgrade(port: number, target: string, extra = ''): Promise<{ status: number; close?: number; hang?: boolean; reset?: boolean }> {
  return new Promise((ok) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let status = 0;
    let settled = false;
    const done = (r: { status: number; close?: number; hang?: boolean; reset?: boolean }) => { if (!settled) { settled = true; clearTimeout(timer); clearTimeout(quiet); socket.destroy(); ok(r); } };
    const timer = setTimeout(() => done({ status, hang: true }), opt.timeoutMs);
    let quiet: NodeJS.Timeout | undefined;
    socket.on('error', () => done({ status, reset: status === 0 }));
    socket.on('close', () => done({ status, reset: status === 0 }));
    socket.on('connect', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`);
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!status) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (status !== 101) return done({ status });
        quiet = setTimeout(() => done({ status }), 150); // open and quiet (a live tail): fine
      }
      if (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        if (opcode === 0x8) return done({ status, close: buf.length >= 4 ? buf.readUInt16BE(2) : 1005 });
        return done({ status }); // a message: the stream works
      }
    });
  });
}

// ---------------------------------------------------------------- a path's run

interface Stats {
  name: string; sent: number; ok: number; refused: number; fivexx: number; hangs: number; resets: number; crashes: number;
  rssBefore: number; rssAfter: number; seconds: number; examples: string[]; skipped?: string; timeCapped?: boolean;
}
interface FuzzPath { name: string; run(stats: Stats, rng: Prng): Promise<void> }

const child = new Child();
let current: Stats | undefined;
let restarts = 0;
child.onExit = (code, signal) => {
  if (stopping) return;
  if (current) {
    current.crashes++;
    current.examples.push(`child exited (code ${code}, signal ${signal}); last lines:\n      ${child.tail.slice(-15).join('\n      ')}`);
  }
  if (++restarts > 5) { process.stderr.write('fuzz: storeflow crashed more than 5 times; giving up\n'); void finish(1); return; }
  child.start().catch((err) => { process.stderr.write(`fuzz: could not restart storeflow: ${(err as Error).message}\n`); void finish(1); });
};

function count(stats: Stats, outcome: Outcome, what: () => string) {
  switch (outcome) {
    case 'ok': stats.ok++; break;
    case 'refused': stats.refused++; break;
    case '5xx': stats.fivexx++; if (stats.examples.length < 6) stats.examples.push(`5xx: ${what()}`); break;
    case 'hang': stats.hangs++; if (stats.examples.length < 6) stats.examples.push(`hang: ${what()}`); break;
    case 'reset': stats.resets++; if (stats.examples.length < 6) stats.examples.push(`reset: ${what()}`); break;
  }
}

/** Runs `one(i)` for i < count with `concurrency` in flight; outcomes from a child that died meanwhile are not counted. */
async function each(stats: Stats, n: number, concurrency: number, one: (i: number) => Promise<[Outcome, () => string] | undefined>) {
  let next = 0;
  const deadline = Date.now() + opt.pathSeconds * 1000;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n && !stopping) {
      if (Date.now() > deadline) { stats.timeCapped = true; return; }
      const i = next++;
      await child.ready.catch(() => {});
      const generation = child.generation;
      const r = await one(i);
      stats.sent++;
      if (!r) continue;
      if (child.generation !== generation || !child.alive) continue;
      count(stats, r[0], r[1]);
    }
  }));
}

const show = (b: Buffer, n = 160) => { const s = b.subarray(0, n).toString('utf8'); return JSON.stringify(b.length > n ? `${s}…(${b.length} bytes)` : s); };

// ---------------------------------------------------------------- HTTP bodies (every POST of the OpenAPI)

const TEMPLATES: [RegExp, Record<string, Json>][] = [
  [/\/mock_focus$/, { id: '1', ts: NOW, dep: 'Men' }],
  [/\/(mock_entry|produce_entry|produce_exit)$/, { id: '1', ts: NOW }],
  [/\/produce_move$/, { id: '1', ts: NOW, x: 500, y: 500 }],
  [/\/scenario$/, { customer: { customer_id: '7' }, path: [{ type: 'ENTER', location: { x: 10, y: 10 }, timestamp: NOW }, { type: 'MOVE', location: { x: 300, y: 300 }, timestamp: NOW + 5 }, { type: 'EXIT', location: { x: 10, y: 10 }, timestamp: NOW + 10 }] }],
  [/\/scenario_draft$/, { customer: { customer_id: '7' }, path: [{ type: 'move', location: { x: 10, y: 10 } }, { type: 'focus', location: { x: 300, y: 300 } }] }],
  [/\/score$/, { customer: { customer_id: 1, gender: 'F', age: 30, mean_buy_price: 10, total_coupons_used: 1, mean_discount_received: 5, unique_products_bought: 3, unique_products_bought_with_coupons: 1, total_items_bought: 4 }, coupons: [{ coupon_id: 1, coupon_type: 'just_discount', department: 'Men', discount: 10, how_many_products_required: 1, product_mean_price: 10, products_available: 3 }] }],
  [/\/dashboard\/helped$/, { customer_id: '1' }],
  [/\/pump\/settings$/, { rate: 5 }],
  [/\/simulator\/settings$/, { speed: 2 }],
  [/\/settings$/, { rate: 5 }],
];
const FIELDS = ['id', 'ts', 'x', 'y', 'dep', 'customer_id', 'customer', 'path', 'type', 'location', 'timestamp', 'rate', 'events_per_tick', 'interval_s',
  'speed', 'averageInStore', 'batchSize', 'consumeFrequency', 'staleEvents', 'coupons', 'routing_key', 'event_type', 'payload', 'command', '__proto__', 'constructor'];

function postPath(route: string, limit: number): FuzzPath {
  const template = TEMPLATES.find(([re]) => re.test(route))?.[1] ?? {};
  return {
    name: `http POST ${route}`,
    run: (stats, rng) => each(stats, opt.count, opt.concurrency, async (i) => {
      const r = rng.fork(i);
      const body = hostileBody(r, template, { limit, fields: FIELDS });
      const type = r.chance(0.1) ? 'application/x-www-form-urlencoded' : r.chance(0.04) ? 'text/plain' : r.chance(0.03) ? '' : 'application/json';
      const res = await http('POST', ports.http, route, body.bytes, type ? { 'content-type': type } : {});
      return [classifyHttp(res, body.kind), () => `${body.kind} ${show(body.bytes)} (${type || 'no content-type'}) → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`];
    }),
  };
}

function getPaths(routes: { path: string; params: string[]; query: string[] }[]): FuzzPath {
  return {
    name: `http GET paths, queries (${routes.length} routes)`,
    run: (stats, rng) => each(stats, opt.count, opt.concurrency, async (i) => {
      const r = rng.fork(i);
      const route = r.pick(routes);
      let target = route.path.replace(/\{[^}]+\}|:[A-Za-z_]+/g, () => hostileSegment(r, ['1', '7']));
      if (r.chance(0.6) || route.query.length) target += hostileQuery(r, route.query);
      const res = await http('GET', ports.http, target, undefined, {});
      return [classifyHttp(res, 'valid'), () => `GET ${JSON.stringify(target.slice(0, 200))} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`];
    }),
  };
}

// ---------------------------------------------------------------- the gateway

let streamIds: string[] = [];

const internalBodies: FuzzPath = {
  name: 'internal POST /event-stream/',
  run: (stats, rng) => each(stats, opt.count, opt.concurrency, async (i) => {
    const r = rng.fork(i);
    const template = { routing_key: r.pick(['#', 'prediction', 'customer.*', 'focus.Men', 'entry.#']) };
    const body = hostileBody(r, template, { limit: 16 * 1024, fields: ['routing_key'] });
    const res = await http('POST', ports.api, '/event-stream/', body.bytes, { 'content-type': 'application/json' });
    return [classifyHttp(res, body.kind), () => `${body.kind} ${show(body.bytes)} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`];
  }),
};

const internalPaths: FuzzPath = {
  name: 'internal GET/DELETE /event-stream/{id}',
  run: (stats, rng) => each(stats, opt.count, opt.concurrency, async (i) => {
    const r = rng.fork(i);
    const method = r.pick(['GET', 'GET', 'DELETE', 'PUT', 'PATCH']);
    const target = r.chance(0.1) ? `/event-stream/version/${r.chance(0.5) ? hostileQuery(r, []) : ''}` : `/event-stream/${hostileSegment(r, streamIds.slice(0, 3))}${r.chance(0.3) ? hostileQuery(r, ['x']) : ''}`;
    // DELETE only hostile ids: the real streams stay for the WebSocket path
    const safe = method === 'DELETE' && streamIds.some((id) => target.includes(id)) ? target.replace(/[0-9a-f-]{36}/, '00000000-0000-0000-0000-000000000000') : target;
    const res = await http(method, ports.api, safe, undefined, {});
    return [classifyHttp(res, 'valid'), () => `${method} ${JSON.stringify(safe.slice(0, 200))} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`];
  }),
};

const webSockets: FuzzPath = {
  name: 'ws public /event-stream/{id}?…',
  run: (stats, rng) => each(stats, opt.count, opt.concurrency, async (i) => {
    const r = rng.fork(i);
    const id = r.chance(0.5) && streamIds.length ? r.pick(streamIds) : hostileSegment(r, streamIds.slice(0, 2));
    const path = r.chance(0.9) ? `/event-stream/${id}` : `/${hostileSegment(r)}`;
    const target = path + (r.chance(0.7) ? hostileQuery(r, ['stream_from_ordinal', 'stream_from_timestamp', 'stream_from_datetime']) : '');
    const extra = r.chance(0.05) ? r.pick(['Sec-WebSocket-Protocol: \u00ff\r\n', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=0\r\n', `X-Junk: ${'x'.repeat(9000)}\r\n`]) : '';
    const res = await upgrade(ports.stream, target, extra);
    const outcome: Outcome = res.hang ? 'hang' : res.reset ? 'reset' : res.status >= 500 || res.close === 1011 ? '5xx' : res.status === 101 && (res.close === undefined || res.close < 4000) ? 'ok' : 'refused';
    return [outcome, () => `GET ${JSON.stringify(target.slice(0, 200))} → ${res.hang ? 'no answer' : res.reset ? 'connection closed without an answer' : `${res.status}${res.close ? ` close ${res.close}` : ''}`}`];
  }),
};

// ---------------------------------------------------------------- MQTT

let mqttClient: Promise<MqttClient> | undefined;
/** One sender for every worker (one client id: a second connection would take the first one's session over). */
function mqttConnect(): Promise<MqttClient> {
  const url = new URL(brokerUrl.replace(/^tcp:/, 'mqtt:'));
  mqttClient ??= mqtt.connectAsync(`${url.protocol}//${url.host}`, {
    clientId: `${tag}_sender`, protocolVersion: 4, reconnectPeriod: 500, connectTimeout: 5000, clean: true,
    username: config.mqtt.username ?? (decodeURIComponent(url.username) || undefined), password: config.mqtt.password ?? (decodeURIComponent(url.password) || undefined),
  }).then((c) => { c.on('error', () => {}); return c; }, (err) => { mqttClient = undefined; throw err; });
  return mqttClient;
}

/** A PUBLISH whose header announces `announced` bytes, on a connection of its own: the broker must close it early. */
function oversizedPacket(announced: number, topic: string): Promise<Outcome> {
  return new Promise((ok) => {
    const url = new URL(brokerUrl.replace(/^tcp:/, 'mqtt:'));
    const socket = connect({ host: url.hostname, port: Number(url.port || 1883) });
    let sent = 0, closed = false;
    const timer = setTimeout(() => { socket.destroy(); ok('hang'); }, opt.timeoutMs);
    socket.on('error', () => {});
    socket.on('close', () => { closed = true; clearTimeout(timer); ok(sent <= 8 * 1024 * 1024 ? 'refused' : 'hang'); });
    socket.on('connect', async () => {
      const id = Buffer.from(`${tag}_big_${announced}`);
      const cbody = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 60, 0, id.length]), id]);
      socket.write(Buffer.concat([Buffer.from([0x10, cbody.length]), cbody]));
      const len: number[] = [];
      let n = announced;
      do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; len.push(b); } while (n > 0);
      const t = Buffer.from(topic);
      socket.write(Buffer.concat([Buffer.from([0x30, ...len]), Buffer.from([t.length >> 8, t.length & 255]), t]));
      const chunk = Buffer.alloc(64 * 1024, 0x7b);
      // as much as the limit allows and more, but never the whole announced packet
      try {
        while (!closed && sent < Math.min(announced - 1, 16 * 1024 * 1024)) {
          if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), sleep(100)]);
          sent += chunk.length;
        }
      } catch { /* the broker cut the connection: what we want */ }
    });
  });
}

function mqttPath(label: string, topic: string, template: Record<string, Json>): FuzzPath {
  return {
    name: `mqtt ${label}`,
    run: (stats, rng) => each(stats, opt.count, opt.concurrency * 4, async (i) => {
      const r = rng.fork(i);
      let kind = pickKind(r);
      // a packet above the embedded broker's limit (an external broker's limit is its own configuration)
      if (kind === 'oversized' && r.chance(0.5) && config.mqtt.mode === 'embedded') {
        const announced = r.pick([8, 50, 100, 255]) * 1024 * 1024;
        const outcome = await oversizedPacket(announced, topic);
        return [outcome, () => `a PUBLISH announcing ${announced} bytes → ${outcome === 'hang' ? 'not closed by the broker' : 'closed'}`];
      }
      const envelope = r.chance(0.15) && label !== 'command';
      const base = envelope ? { event_type: `${label} event`, event_timestamp: new Date(NOW * 1000).toISOString(), payload: template } : template;
      const body: Body = label === 'command' && r.chance(0.2) ? { kind: 'valid', bytes: Buffer.from(r.pick(['START', 'stop', ' STOP ', 'halt', '', '\u0000', 'S\u0000TOP'])) } : hostileBody(r, base as Record<string, Json>, { limit: config.maxPayloadBytes, fields: FIELDS }, kind);
      kind = body.kind;
      const c = await mqttConnect().catch(() => undefined);
      if (!c) return ['hang', () => 'could not connect to the broker'];
      const res = await Promise.race([
        c.publishAsync(topic, body.bytes, { qos: 1 }).then(() => 'ok' as const, (err: Error) => `error: ${err.message}`),
        sleep(opt.timeoutMs).then(() => 'hang' as const),
      ]);
      // the broker acknowledges; what storeflow made of it shows in its log (error lines count as 5xx)
      return [res === 'ok' ? 'ok' : res === 'hang' ? 'hang' : 'reset', () => `#${i} ${kind} ${show(body.bytes)} → ${res}`];
    }),
  };
}

// ---------------------------------------------------------------- AMQP

function amqpPath(url: string): FuzzPath {
  return {
    name: `amqp ${AMQP_EXCHANGE}`,
    async run(stats, rng) {
      const conn = await amqp.connect(url, { timeout: 5000 });
      conn.on('error', () => {});
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      try {
        await each(stats, opt.count, opt.concurrency * 2, async (i) => {
          const r = rng.fork(i);
          const key = r.pick(['', '#', 'prediction', 'focus.Men', 'a.b.c', 'x'.repeat(255), '\u00e9\u00e9', 'a..b', '*', 'NUL\u0000', '𝕏.𝕏']);
          const body = hostileBody(r, { customer_id: '1', ts: NOW, dep: 'Men' }, { limit: MAX_AMQP_BODY, fields: FIELDS });
          const res = await Promise.race([
            new Promise<string>((ok) => { try { ch.publish(AMQP_EXCHANGE, key, body.bytes, { messageId: r.chance(0.5) ? `${tag}-${i}` : undefined }, (err) => ok(err ? `nack: ${err.message}` : 'ok')); } catch (err) { ok(`client refused: ${(err as Error).message}`); } }),
            sleep(opt.timeoutMs).then(() => 'hang'),
          ]);
          const outcome: Outcome = res === 'ok' ? 'ok' : res === 'hang' ? 'hang' : res.startsWith('client refused') ? 'refused' : 'reset';
          return [outcome, () => `${body.kind} key ${JSON.stringify(key.slice(0, 40))} ${show(body.bytes)} → ${res}`];
        });
      } finally { await conn.close().catch(() => {}); }
    },
  };
}

// ---------------------------------------------------------------- CSV through the loader

const COLUMN_KINDS: Record<string, 'int' | 'real' | 'text' | 'other'> = {
  mean_buy_price: 'real', mean_discount_received: 'real', product_mean_price: 'real', buy_price: 'real',
  name: 'text', category: 'text', sizes: 'text', vendor: 'text', description: 'text',
  gender: 'other', department: 'other', coupon_type: 'other', start_date: 'other', end_date: 'other',
};

function csvPath(db: Database, dir: string): FuzzPath {
  const store = generateStore({ seed: 7, customers: 30, products: 60, days: 30, historyDays: 10 });
  const base = Object.fromEntries(Object.entries(formatStoreCsv(store)).map(([f, t]) => [f, Buffer.from(t)]));
  const headers: Record<string, string[]> = {
    [CSV_FILES.customers]: CSV_HEADERS.customers.split(','), [CSV_FILES.coupons]: CSV_HEADERS.coupons.split(','),
    [CSV_FILES.couponProducts]: CSV_HEADERS.couponProducts.split(','), [CSV_FILES.products]: CSV_HEADERS.products.split(','),
  };
  // a few runs of `npm run load` itself: exit 0 or 1, never a stack trace
  const scriptRuns = new Set(Array.from({ length: Math.max(1, Math.round(opt.count / 500)) }, (_, k) => Math.floor((k * opt.count) / Math.max(1, Math.round(opt.count / 500)))));
  const mutate = (r: Prng): { files: Record<string, Buffer | undefined>; what: string[] } => {
    const files: Record<string, Buffer | undefined> = { ...base };
    const what: string[] = [];
    for (let n = r.int(1, 3); n > 0; n--) {
      const file = r.pick(Object.keys(base));
      const text = files[file];
      if (!text) continue;
      const lines = text.toString('latin1').split('\n');
      switch (r.int(0, 9)) {
        case 0: case 1: case 2: case 3: {
          const row = r.int(1, Math.max(1, lines.length - 2));
          const fields = lines[row]?.split(',') ?? [];
          if (!fields.length) break;
          const col = r.int(0, fields.length - 1);
          const cell = hostileCell(r, COLUMN_KINDS[headers[file][col]] ?? 'int');
          fields[col] = cell.toString('latin1');
          lines[row] = fields.join(',');
          what.push(`${file} line ${row + 1} column ${col + 1} = ${show(cell, 40)}`);
          break;
        }
        case 4: lines.splice(1); lines.push(''); what.push(`${file}: header only`); break;
        case 5: files[file] = undefined; what.push(`${file}: missing`); continue;
        case 6: { const row = r.int(1, Math.max(1, lines.length - 2)); lines.splice(row, 0, lines[row]); what.push(`${file}: line ${row + 1} twice`); break; }
        case 7: lines[0] = r.pick(['', '\ufeff' + lines[0], lines[0].toUpperCase(), lines[0] + ',extra', lines[0].split(',').reverse().join(',')]); what.push(`${file}: header ${show(Buffer.from(lines[0], 'latin1'), 40)}`); break;
        case 8: what.push(`${file}: cut`); files[file] = text.subarray(0, r.int(0, text.length)); continue;
        default: { const row = r.int(1, Math.max(1, lines.length - 2)); lines[row] = r.chance(0.5) ? `${lines[row]},x` : lines[row].split(',').slice(1).join(','); what.push(`${file}: line ${row + 1} column count`); break; }
      }
      files[file] = Buffer.from(lines.join(r.chance(0.1) ? '\r\n' : '\n'), 'latin1');
    }
    return { files, what };
  };
  return {
    name: 'csv npm run load',
    run: (stats, rng) => each(stats, opt.count, 1, async (i) => {
      const r = rng.fork(i);
      const { files, what } = mutate(r);
      for (const name of Object.values(CSV_FILES)) {
        const p = join(dir, name);
        if (files[name]) writeFileSync(p, files[name]!); else rmSync(p, { force: true });
      }
      if (scriptRuns.has(i)) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', dir], { env: { ...childEnv, DATABASE_URL: databaseUrl, DATABASE_SCHEMA: `${tag}_csv` }, encoding: 'utf8', timeout: 60_000, cwd: resolve(import.meta.dirname, '..') });
        const stack = /\n\s+at /.test(run.stderr);
        if (run.status === null) return ['hang', () => `npm run load (${what.join('; ')}): no exit within 60 s`];
        if (stack || (run.status !== 0 && run.status !== 1)) { stats.crashes++; stats.examples.push(`npm run load (${what.join('; ')}): exit ${run.status}${stack ? ' with a stack trace' : ''}: ${run.stderr.slice(0, 400)}`); return undefined; }
        return [run.status === 0 ? 'ok' : 'refused', () => ''];
      }
      const started = Date.now();
      try {
        const tables = readStoreDirectory(dir);
        await Promise.race([loadStoreTables(db.db, tables), sleep(opt.timeoutMs).then(() => { throw new Error('hang'); })]);
        return ['ok', () => ''];
      } catch (err) {
        if (err instanceof StoreDataError) return ['refused', () => ''];
        if ((err as Error).message === 'hang') return ['hang', () => `${what.join('; ')}: load took over ${opt.timeoutMs} ms`];
        return ['5xx', () => `${what.join('; ')}: the loader failed after ${Date.now() - started} ms: ${(err as Error).message.split('\n')[0]}`];
      }
    }),
  };
}

// ---------------------------------------------------------------- main

let stopping = false;
let csvDb: Database | undefined;
const results: Stats[] = [];
const t0 = Date.now();

async function finish(code: number): Promise<never> {
  stopping = true;
  await mqttClient?.then((c) => c.end(true), () => {});
  agent.destroy();
  if (csvDb) {
    await csvDb.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(`${tag}_csv`)} CASCADE`).catch(() => {});
    await csvDb.close().catch(() => {});
  }
  await child.stop().catch(() => {});
  logFile.end();
  if (external.db) {
    const pool = createConnectionPool({ connectionString: external.db, bigIntMode: 'number', poolSize: 1 });
    await pool.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(tag)} CASCADE`).catch(() => {});
    await pool.dispose().catch(() => {});
  }
  // an embedded PostgreSQL left behind by a child that was killed
  const pidFile = join(home, 'pg', 'postmaster.pid');
  if (existsSync(pidFile)) { try { process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGINT'); await sleep(1000); } catch { /* gone */ } }
  if (!opt.keep) rmSync(work, { recursive: true, force: true });
  else process.stdout.write(`kept ${work}\n`);
  process.exit(code);
}
process.on('SIGINT', () => void finish(130));
process.on('SIGTERM', () => void finish(143));
// a bug in the fuzzer itself: say so, and never leave storeflow (and its PostgreSQL) running
const fuzzerBug = (err: unknown) => { process.stderr.write(`fuzz: internal error: ${(err as Error)?.stack ?? err}\n`); void finish(3); };
process.on('uncaughtException', fuzzerBug);
process.on('unhandledRejection', fuzzerBug);

const services = `${external.db ? 'PostgreSQL DATABASE_URL (schema ' + tag + ')' : 'embedded PostgreSQL'}, ${config.mqtt.mode === 'external' ? 'MQTT_URL (prefix ' + tag + '/)' : 'embedded broker'}${external.amqp ? ', AMQP_URL' : ''}`;
process.stdout.write(`storeflow fuzz: seed ${opt.seed}, ${opt.count} inputs per path, timeout ${opt.timeoutMs} ms; storeflow in a child process on ${services}, 127.0.0.1\n`);
try {
  await child.start();
} catch (err) {
  process.stderr.write(`fuzz: ${(err as Error).message}\n`);
  await finish(1);
}

// the control plane's routes, from its OpenAPI
const doc = await fetch(`http://127.0.0.1:${ports.http}/docs/json`).then((r) => r.json()).catch(() => ({})) as { paths?: Record<string, any> };
const posts: string[] = [];
const gets: { path: string; params: string[]; query: string[] }[] = [];
for (const [path, ops] of Object.entries<any>(doc.paths ?? {})) {
  if (path.startsWith('/docs')) continue;
  if (ops.post) posts.push(path);
  if (ops.get) gets.push({ path, params: (ops.get.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name), query: (ops.get.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name) });
}
posts.sort();
// streams for the WebSocket path: real ids with hostile queries reach the replay code
for (const key of ['#', 'prediction', 'focus.*']) {
  const r = await http('POST', ports.api, '/event-stream/', Buffer.from(JSON.stringify({ routing_key: key })), { 'content-type': 'application/json' });
  const id = /"id":"([0-9a-f-]{36})"/.exec(r.text)?.[1];
  if (id) streamIds.push(id);
}

const topics = config.topics;
const paths: FuzzPath[] = [
  mqttPath('customer/enter', topics.enter, { id: '1', ts: NOW }),
  mqttPath('customer/move', topics.move, { id: '1', ts: NOW, x: 500, y: 500 }),
  mqttPath('customer/exit', topics.exit, { id: '1', ts: NOW }),
  mqttPath('customer/focus', topics.focus, { id: '1', ts: NOW, dep: 'Men' }),
  mqttPath('command', topics.command, { command: 'STOP' }),
  ...posts.map((p) => postPath(p, /produce_/.test(p) ? config.maxPayloadBytes : 1_048_576)),
  getPaths(gets),
  internalBodies,
  internalPaths,
  webSockets,
];
if (external.amqp) paths.push(amqpPath(external.amqp));
const csvDir = join(work, 'csv');
mkdirSync(csvDir);
try {
  csvDb = await connectDatabase(databaseUrl, `${tag}_csv`, log, 2);
  await migrate(csvDb.db, log);
  paths.push(csvPath(csvDb, csvDir));
} catch (err) {
  process.stdout.write(`CSV path skipped: cannot reach PostgreSQL for a private schema (${(err as Error).message})\n`);
}

const selected = opt.only.length ? paths.filter((p) => opt.only.some((o) => p.name.includes(o))) : paths;
if (selected.length === 0) bad(`--only ${opt.only.join(',')} matches no path; paths: ${paths.map((p) => p.name).join(', ')}`);

const W = Math.max(...selected.map((p) => p.name.length), 10);
const cols = (s: Stats | { name: string; sent: string | number; ok: string | number; refused: string | number; fivexx: string | number; hangs: string | number; crashes: string | number; mem: string }) =>
  `${s.name.padEnd(W)}  ${String(s.sent).padStart(7)}  ${String(s.ok).padStart(7)}  ${String(s.refused).padStart(7)}  ${String(s.fivexx).padStart(5)}  ${String(s.hangs).padStart(5)}  ${String(s.crashes).padStart(7)}  ${String(typeof (s as any).seconds === 'number' ? (s as any).seconds.toFixed(0) : (s as any).seconds).padStart(5)}  ${(s as any).mem}`;
const mem = (s: Stats) => `${s.rssBefore.toFixed(0)} → ${s.rssAfter.toFixed(0)} (${s.rssAfter > s.rssBefore ? '+' : ''}${(((s.rssAfter - s.rssBefore) / s.rssBefore) * 100).toFixed(0)} %)${s.rssAfter > s.rssBefore * 1.2 ? ' !' : ''}`;
process.stdout.write(`${cols({ name: 'path', sent: 'sent', ok: 'ok', refused: 'refused', fivexx: '5xx', hangs: 'hangs', crashes: 'crashes', seconds: 's', mem: 'rss MB before → after' } as any)}\n`);

const stopLoads = async () => {
  for (const p of ['/stop', '/pump/stop', '/simulator/stop']) await http('POST', ports.http, p, undefined, {}, 5000);
};

for (const p of selected) {
  const stats: Stats = { name: p.name, sent: 0, ok: 0, refused: 0, fivexx: 0, hangs: 0, resets: 0, crashes: 0, rssBefore: NaN, rssAfter: NaN, seconds: 0, examples: [] };
  const started = Date.now();
  await child.ready.catch(() => {});
  // the previous path ended idle and collected; measured again only after a restart
  const previous = results[results.length - 1];
  stats.rssBefore = previous && !previous.crashes ? previous.rssAfter : await settledRss(child);
  results.push(stats);
  const errorsBefore = child.errorLines;
  current = stats;
  try {
    await p.run(stats, createPrng(`${opt.seed}/${p.name}`));
  } catch (err) {
    stats.skipped = (err as Error).message;
    stats.examples.push(`path failed: ${(err as Error).message}`);
  }
  await child.ready.catch(() => {});
  // still answering?
  const alive = await http('GET', ports.http, '/healthcheck', undefined, {}, opt.timeoutMs);
  if (alive.status !== 200 && child.alive) { stats.hangs++; stats.examples.push(`after the path, /healthcheck: ${alive.hang ? 'no answer' : alive.status || alive.error}`); }
  await stopLoads();
  await sleep(200); // the last inputs are logged
  current = undefined;
  const errors = child.errorLines - errorsBefore;
  if (errors > 0) { stats.fivexx += errors; stats.examples.push(`${errors} error line(s) in storeflow's log, the last:\n      ${child.errors.slice(-Math.min(errors, 3)).join('\n      ')}`); }
  stats.hangs += stats.resets; // a connection cut without an answer counts against the path
  stats.rssAfter = await rssAfterWindow(child, stats.rssBefore);
  stats.seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${cols({ ...stats, sent: stats.timeCapped ? `${stats.sent}*` : stats.sent, mem: mem(stats) })}\n`);
}

const total = results.reduce((t, s) => ({ sent: t.sent + s.sent, ok: t.ok + s.ok, refused: t.refused + s.refused, fivexx: t.fivexx + s.fivexx, hangs: t.hangs + s.hangs, crashes: t.crashes + s.crashes }), { sent: 0, ok: 0, refused: 0, fivexx: 0, hangs: 0, crashes: 0 });
const first = results[0]?.rssBefore ?? NaN;
const last = results[results.length - 1]?.rssAfter ?? NaN;
process.stdout.write(`${cols({ name: 'total', ...total, seconds: (Date.now() - t0) / 1000, mem: `${first.toFixed(0)} → ${last.toFixed(0)} over the run` } as any)}\n`);
for (const s of results) if (s.examples.length) process.stdout.write(`\n${s.name}:\n${s.examples.map((e) => `  - ${e}`).join('\n')}\n`);
const memoryOk = results.every((s) => !(s.rssAfter > s.rssBefore * 1.2));
if (results.some((s) => s.timeCapped)) process.stdout.write(`\n* stopped at --path-seconds ${opt.pathSeconds} before --count ${opt.count}\n`);
const failed = total.crashes + total.fivexx + total.hangs;
process.stdout.write(`\n${total.crashes} crashes, ${total.fivexx} 5xx, ${total.hangs} hangs over ${total.sent} inputs on ${results.length} paths; memory ${memoryOk ? 'back within 20 % after every path' : 'NOT back within 20 % after some path (marked !)'}; ${((Date.now() - t0) / 1000).toFixed(0)} s: ${failed ? 'FAIL' : 'PASS'}\n`);
await finish(failed ? 1 : 0);
