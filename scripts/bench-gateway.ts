/**
 * `npm run bench:gateway`: the event-stream gateway's two speeds.
 *  1. Fan-out: N events appended to the log (group commit, real PostgreSQL) and delivered to 100
 *     WebSocket clients of one stream, against a plain `ws` broadcast of the same messages
 *     (one Buffer per message sent to every client) to 100 clients, in the same run → ratio.
 *  2. Replay: 1 million stored events replayed to one client → events/s.
 * The clients live in a worker thread (the same code for both), so the server side has its own core.
 * Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary folder.
 *   npm run bench:gateway -- --events 20000 --clients 100 --replay 1000000 --runs 3
 */
import { cli } from './cli.ts';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { sql } from '@databases/pg';
import { parseConfig } from '../schemas/env.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { startStoreflow } from '../adapters/process/app.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { streamMessage } from '../actors/gateway/stream-replay.ts';
import { JSON_OPTION, printBenchJson, type BenchRow } from './bench-report.ts';

const { int, values } = cli({
  usage: 'npm run bench:gateway -- [--events N] [--clients N] [--replay N] [--runs N] [--json]',
  summary: "The event-stream gateway's fan-out (against a plain ws broadcast) and replay speed, on DATABASE_URL or an embedded PostgreSQL.",
  options: {
    events: { type: 'string', arg: 'N', help: 'events appended during the fan-out (default 20000)' },
    clients: { type: 'string', arg: 'N', help: 'WebSocket clients of the stream (default 100)' },
    replay: { type: 'string', arg: 'N', help: 'stored events replayed to one client (default 1000000)' },
    runs: { type: 'string', arg: 'N', help: 'runs, medians printed (default 3)' },
    ...JSON_OPTION,
  },
});
const EVENTS = int('events', 20_000, { min: 1 }),
  CLIENTS = int('clients', 100, { min: 1 }),
  REPLAY = int('replay', 1_000_000, { min: 1 }),
  RUNS = int('runs', 3, { min: 1 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---- the clients: a worker that opens sockets and reports when each has `expected` messages
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.wsPath);
let sockets = [];
parentPort.on('message', async (m) => {
  if (m.cmd === 'open') {
    let counts = new Array(m.urls.length).fill(0), done = 0, last = [];
    sockets = await Promise.all(m.urls.map((u, i) => new Promise((ok, fail) => {
      const ws = new WebSocket(u);
      ws.on('message', (d) => {
        if (++counts[i] === m.expected) { last[i] = d.toString(); if (++done === m.urls.length) parentPort.postMessage({ done: performance.timeOrigin + performance.now(), last: last[0] }); }
      });
      ws.on('open', () => ok(ws)); ws.on('error', fail);
    })));
    parentPort.postMessage({ open: true });
  } else if (m.cmd === 'close') {
    for (const s of sockets) s.terminate();
    sockets = [];
    parentPort.postMessage({ closed: true });
  }
});`;

class Clients {
  private w = new Worker(WORKER, { eval: true, workerData: { wsPath: createRequire(import.meta.url).resolve('ws') } });
  private next<T>(key: string): Promise<T> {
    return new Promise((ok, fail) => {
      const on = (m: object) => {
        if (key in m) {
          this.w.off('message', on);
          this.w.off('error', fail);
          ok(m as T);
        }
      };
      this.w.on('message', on);
      this.w.once('error', fail);
    });
  }
  /** Opens the sockets; resolves with a promise of the time (ms since epoch) the last one got its `expected`-th message. */
  async open(urls: string[], expected: number): Promise<{ done: Promise<{ done: number; last: string }> }> {
    const opened = this.next('open');
    const done = this.next<{ done: number; last: string }>('done');
    this.w.postMessage({ cmd: 'open', urls, expected });
    await opened;
    return { done }; // wrapped: an async function would otherwise wait for it
  }
  async close() {
    const c = this.next('closed');
    this.w.postMessage({ cmd: 'close' });
    await c;
  }
  stop() {
    return this.w.terminate();
  }
}

const now = () => performance.timeOrigin + performance.now();

// ---- a storeflow with only the gateway
const pgHome = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'storeflow-bench-'));
const schema = `bench_${randomBytes(4).toString('hex')}`;
const parsed = parseConfig({
  ...process.env,
  ROLES: 'gateway',
  PORT: '0',
  STREAM_PORT: '0',
  STREAM_API_PORT: '0',
  DATABASE_SCHEMA: schema,
  TESTING_NO_MQTT: 'true',
  LOG_LEVEL: 'warn',
  AUTO_SEED: 'false',
  STREAM_CLIENT_BUFFER: String(Math.max(10_000, EVENTS * 2)),
  ...(pgHome ? { STOREFLOW_HOME: pgHome } : {}),
});
if (!parsed.ok) {
  console.error(parsed.problems.join('\n'));
  process.exit(2);
}
const log = createLogger({ level: 'warn' });
const app = await startStoreflow(parsed.config, log, { port: 0, webDir: false });
const gw = app.roles.get('gateway') as GatewayHandle;
const clients = new Clients();
const api = `http://127.0.0.1:${gw.apiPort}/event-stream/`;
const createStream = async (routing_key: string) => {
  const r = await fetch(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ routing_key }) });
  const { id } = (await r.json()) as { id: string };
  return { id, url: `ws://127.0.0.1:${gw.streamPort}/event-stream/${id}` };
};

const rows: BenchRow[] = [];
const event = (n: number) => ({ streamId: `customer-${n % 500}`, type: 'move', data: { id: String(n % 500), ts: 1_700_000_000 + n, x: n % 20, y: n % 10 } });

try {
  console.log(
    `bench:gateway — ${EVENTS} events to ${CLIENTS} clients (${RUNS} runs), replay of ${fmt(REPLAY)} events; PostgreSQL ${pgHome ? 'embedded' : 'external'}`,
  );
  const gatewayRates: number[] = [],
    plainRates: number[] = [],
    corkedRates: number[] = [];
  const stream = await createStream('customer.*');
  for (let run = 1; run <= RUNS; run++) {
    // gateway: append → log → subscription → 100 sockets
    let { done } = await clients.open(Array(CLIENTS).fill(stream.url), EVENTS);
    while ((gw.clients().get(stream.id) ?? 0) < CLIENTS) await new Promise((r) => setTimeout(r, 5));
    let t0 = now();
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < EVENTS; i += 100) appends.push(app.eventLog.append(Array.from({ length: Math.min(100, EVENTS - i) }, (_, k) => event(i + k))));
    await Promise.all(appends);
    const g = await done;
    const gRate = EVENTS / ((g.done - t0) / 1000);
    gatewayRates.push(gRate);
    await clients.close();
    while (gw.clients().has(stream.id)) await new Promise((r) => setTimeout(r, 5));
    // the same messages through a plain ws broadcast
    const recent = await app.eventLog.read({ fromPosition: JSON.parse(g.last).ess_ordinal - EVENTS + 1, limit: EVENTS });
    const payloads = recent.map((e) =>
      Buffer.from(
        streamMessage({
          position: e.position,
          recordedAt: e.recordedAt,
          type: e.type,
          streamId: e.streamId,
          version: e.version,
          messageId: e.messageId,
          dataJson: JSON.stringify(e.data),
          metadataJson: JSON.stringify(e.metadata),
        }),
      ),
    );
    for (const corked of [false, true]) {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      await new Promise((r) => wss.once('listening', r));
      const plainUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
      ({ done } = await clients.open(Array(CLIENTS).fill(plainUrl), EVENTS));
      const sockets = [...wss.clients];
      t0 = now();
      for (let i = 0; i < payloads.length; i += 2000) {
        const chunk = payloads.slice(i, i + 2000);
        if (corked) {
          for (const c of sockets) {
            (c as unknown as { _socket: Socket })._socket.cork();
            for (const p of chunk) c.send(p, { binary: false });
            (c as unknown as { _socket: Socket })._socket.uncork();
          }
        } else for (const p of chunk) for (const c of sockets) c.send(p, { binary: false });
        await new Promise((r) => setImmediate(r));
      }
      const p = await done;
      (corked ? corkedRates : plainRates).push(EVENTS / ((p.done - t0) / 1000));
      await clients.close();
      await new Promise((r) => wss.close(r));
    }
    const pRate = plainRates[plainRates.length - 1],
      cRate = corkedRates[corkedRates.length - 1];
    console.log(
      `  run ${run}: gateway ${fmt(gRate)} events/s (${fmt(gRate * CLIENTS)} deliveries/s), plain ws ${fmt(pRate)} events/s → ratio ${(gRate / pRate).toFixed(2)}; corked plain ws ${fmt(cRate)} events/s → ratio ${(gRate / cRate).toFixed(2)}`,
    );
  }
  const ratio = median(gatewayRates) / median(plainRates);
  console.log(
    `fan-out to ${CLIENTS} clients: gateway ${fmt(median(gatewayRates))} events/s (${fmt(median(gatewayRates) * CLIENTS)} messages/s delivered), plain ws ${fmt(median(plainRates))} events/s; ratio ${ratio.toFixed(2)} (target ≥ 0.70) ${ratio >= 0.7 ? 'OK' : 'BELOW TARGET'}`,
  );
  console.log(
    `  against a plain ws broadcast that also corks each socket per chunk: ${fmt(median(corkedRates))} events/s; ratio ${(median(gatewayRates) / median(corkedRates)).toFixed(2)}`,
  );
  rows.push({
    figure: `gateway, fan-out to ${CLIENTS} clients`,
    value: Math.round(median(gatewayRates)),
    unit: 'events/s',
    baseline: { what: 'plain ws broadcast', value: Math.round(median(plainRates)) },
    ratio,
    target: '≥ 0.7 of the broadcast',
    met: ratio >= 0.7,
    note: `${(median(gatewayRates) / median(corkedRates)).toFixed(2)} of a broadcast that also batches its writes`,
  });

  // replay: events appended through the log, 10,000 a commit (consecutive positions: nothing else writes here), then
  // one client from the first of them
  if (REPLAY > 0) {
    const t = now();
    const bulk = (i: number) => ({ streamId: `bulk-${i % 1000}`, type: 'move', data: { id: String(i % 1000), ts: 1_700_000_000 + i, x: i % 20, y: i % 10 } });
    const first = { p: 0 };
    for (let i = 1; i <= REPLAY; i += 10_000) {
      const logged = await app.eventLog.append(Array.from({ length: Math.min(10_000, REPLAY - i + 1) }, (_, k) => bulk(i + k)));
      first.p ||= logged[0].position;
    }
    console.log(`  inserted ${fmt(REPLAY)} events in ${((now() - t) / 1000).toFixed(1)} s`);
    const all = await createStream('#');
    const replayRates: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const t0 = now();
      const { done } = await clients.open([`${all.url}?stream_from_ordinal=${first.p}`], REPLAY);
      const r = await done;
      const last = JSON.parse(r.last).ess_ordinal;
      if (last !== first.p + REPLAY - 1) throw new Error(`replay ended at ${last}, expected ${first.p + REPLAY - 1}`);
      const rate = REPLAY / ((r.done - t0) / 1000);
      replayRates.push(rate);
      console.log(`  run ${run}: replay ${fmt(rate)} events/s`);
      await clients.close();
    }
    const rr = median(replayRates);
    console.log(`replay of ${fmt(REPLAY)} events to one client: ${fmt(rr)} events/s (target ≥ 100,000) ${rr >= 100_000 ? 'OK' : 'BELOW TARGET'}`);
    rows.push({
      figure: `gateway, replay of ${fmt(REPLAY)} stored events to one client`,
      value: Math.round(rr),
      unit: 'events/s',
      target: '≥ 100,000 events/s',
      met: rr >= 100_000,
    });
  }
  if (values.json)
    printBenchJson({
      bench: 'gateway',
      setting: `${fmt(EVENTS)} events to ${CLIENTS} clients, replay of ${fmt(REPLAY)}, ${RUNS} runs, PostgreSQL ${pgHome ? 'embedded' : 'external'}`,
      rows,
    });
} finally {
  await clients.stop();
  await app.database.db.query(sql`DROP SCHEMA IF EXISTS ${sql.ident(schema)} CASCADE`).catch(() => {});
  await app.stop();
  if (pgHome) rmSync(pgHome, { recursive: true, force: true });
}
