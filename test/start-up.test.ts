/**
 * `npm start` as a newcomer meets it (issue 29): a second copy in the same data folder, default ports that are taken,
 * Ctrl-C during start-up, and the messages a wrong setting or an unreachable database gets. Real processes
 * (scripts/start.ts, as npm start runs it), a real embedded PostgreSQL and broker.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { sleep, startTestApp, waitFor } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'storeflow-start-up-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Every port given as 0 (any free port) unless `env` says otherwise: several starts can share the machine. */
const ANY_PORT = { PORT: '0', STREAM_PORT: '0', STREAM_API_PORT: '0', MQTT_PORT: '0' };

interface Run {
  child: ChildProcess;
  out: () => string;
  /** The JSON log lines so far. */
  lines: () => { msg: string; level: number; [k: string]: unknown }[];
  exited: Promise<number | null>;
}

function start(home: string, env: Record<string, string | undefined>, args: string[] = []): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...args], {
    env: { PATH: process.env.PATH, STOREFLOW_HOME: home, LOG_LEVEL: 'info', GENERATOR_AUTO_START: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  return { child, out: () => out, lines, exited };
}

const line = (run: Run, msg: RegExp) => run.lines().find((l) => msg.test(l.msg));
const readyUrl = async (run: Run) => (await waitFor(() => line(run, /^storeflow ready$/), 90_000, `storeflow ready\n${run.out()}`)).url as string;

/** Processes whose command line names `path` (a PostgreSQL on that data directory). */
function processesOn(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function stopped(run: Run, signal: NodeJS.Signals = 'SIGINT') {
  run.child.kill(signal);
  assert.is(await run.exited, 0, run.out().slice(-3000));
}

test('one owner per data folder: a second start exits 2 naming the first and touches nothing; a killed owner is taken over', async () => {
  const home = join(dir, 'owner');
  const first = start(home, ANY_PORT);
  try {
    const url = await readyUrl(first);
    const postmaster = readFileSync(join(home, 'pg', 'postmaster.pid'), 'utf8');
    const second = start(home, ANY_PORT);
    assert.is(await second.exited, 2, second.out());
    assert.is(
      second.out(),
      `storeflow is already running here (pid ${first.child.pid}, ${url})\n` +
        `Its data folder is ${home} (STOREFLOW_HOME). Stop it first (Ctrl-C in its terminal, or kill ${first.child.pid}), or give this start a folder of its own: STOREFLOW_HOME=other-folder npm start\n`,
    );
    // the first copy and its database go on untouched
    assert.is(readFileSync(join(home, 'pg', 'postmaster.pid'), 'utf8'), postmaster);
    assert.is((await fetch(`${url}readyz`)).status, 200);
    await sleep(500);
    assert.not.match(first.out(), /terminating connection|embedded PostgreSQL exited/);

    // killed: its lock and its PostgreSQL stay behind
    first.child.kill('SIGKILL');
    await first.exited;
    const orphan = Number(postmaster.split('\n')[0]);
    assert.ok(processesOn(join(home, 'pg')).includes(orphan), 'the PostgreSQL of the killed run still runs');
    // and its pid is reused by a live process that is not storeflow (this test runner, started at another time)
    const lock = JSON.parse(readFileSync(join(home, 'storeflow.lock'), 'utf8'));
    assert.is(lock.pid, first.child.pid);
    writeFileSync(join(home, 'storeflow.lock'), JSON.stringify({ ...lock, pid: process.pid }));
    const third = start(home, ANY_PORT);
    try {
      await readyUrl(third);
      assert.equal(
        third
          .lines()
          .filter((l) => l.level === 40)
          .map((l) => l.msg),
        [
          `the storeflow that ran here (pid ${process.pid}) ended without stopping (killed?); taking over its data folder`,
          'a PostgreSQL from an earlier run still holds the data directory; stopping it',
        ],
      );
      assert.not.ok(processesOn(join(home, 'pg')).includes(orphan), 'the orphaned PostgreSQL was stopped');
    } finally {
      await stopped(third);
    }
    assert.not.ok(existsSync(join(home, 'storeflow.lock')), 'the lock is released on the way out');
    await waitFor(() => processesOn(join(home, 'pg')).length === 0, 10_000, 'no PostgreSQL left');
  } finally {
    first.child.kill('SIGKILL');
  }
});

/** Holds `port` on 127.0.0.1 if it is free; a port the machine's services hold is taken all the same. */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((ok) => {
    const server = createServer();
    server.once('error', () => ok(undefined));
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

test('default ports that are taken fall back to free ones, with a notice each; everything shows the ports bound', async () => {
  const held = await Promise.all([1883, 5432, 8000, 8080, 8081].map(hold));
  const run = start(join(dir, 'ports'), {});
  try {
    const url = await readyUrl(run);
    const notices = run.lines().filter((l) => l.level === 40);
    const moved = Object.fromEntries(notices.map((l) => [l.variable, l.port as number]));
    assert.equal(
      notices.map((l) => l.msg),
      [
        ['PORT', 8000],
        ['STREAM_PORT', 8080],
        ['STREAM_API_PORT', 8081],
        ['MQTT_PORT', 1883],
      ].map(([v, taken]) => `${v}: port ${taken} is already in use, so storeflow listens on ${moved[v]} instead (set ${v} to choose the port)`),
    );
    const shown = `127.0.0.1:${moved.PORT}`;
    assert.is(url, `http://${shown}/`);
    const mqttAt = `-h 127.0.0.1 -p ${moved.MQTT_PORT}`;
    assert.equal(line(run, /^storeflow ready$/)?.try, {
      dashboard: `http://${shown}/`,
      health: `curl http://${shown}/healthcheck`,
      watch: `mosquitto_sub ${mqttAt} -t 'customer/prediction' -v`,
      enter: `mosquitto_pub ${mqttAt} -t 'customer/enter' -m '{"id": "100", "ts": 1764000000}'`,
      focus: `mosquitto_pub ${mqttAt} -t 'customer/focus' -m '{"id": "100", "ts": 1764000060, "dep": "Boys"}'`,
    });
    assert.is(line(run, /embedded MQTT broker/)?.try, `mosquitto_sub ${mqttAt} -t '#' -v`);
    // the dashboard answers where the log says, and tells the page the stream port bound
    assert.match(await (await fetch(url)).text(), /<html/i);
    assert.is((await (await fetch(`${url}dashboard/config`)).json()).stream.port, moved.STREAM_PORT);
    // seed 004's location names the stream port bound
    const created = await fetch(`http://127.0.0.1:${moved.STREAM_API_PORT}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: 'prediction' }),
    });
    assert.match((await created.json()).location, new RegExp(`^ws://localhost:${moved.STREAM_PORT}/event-stream/[0-9a-f-]{36}$`));
    // the broker is on the port logged
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${moved.MQTT_PORT}`, { protocolVersion: 4, connectTimeout: 5000, reconnectPeriod: 0 });
    await client.endAsync();
  } finally {
    await stopped(run);
    for (const s of held) s?.close();
  }
});

test('Ctrl-C during start-up cuts it short: nothing more starts or says ready, the process exits within seconds, no PostgreSQL left', async () => {
  const home = join(dir, 'abort');
  // a first run makes the data folder (initdb, the store), so the runs below start warm, as a restart does
  const warm = start(home, ANY_PORT);
  await readyUrl(warm);
  await stopped(warm, 'SIGTERM');
  for (const at of [/^embedded PostgreSQL ready$/, /^recommender ready$/]) {
    const run = start(home, ANY_PORT);
    try {
      await waitFor(() => line(run, at), 90_000, `${at}\n${run.out()}`);
      const signalled = Date.now();
      run.child.kill('SIGINT');
      await run.exited;
      const ms = Date.now() - signalled;
      const msgs = run.lines().map((l) => l.msg);
      const after = msgs.slice(msgs.indexOf('stopping storeflow'));
      assert.equal(
        after.filter((m) => /ready/.test(m)),
        [],
        `${at}: nothing ready after the signal:\n${after.join('\n')}`,
      );
      assert.is(after.at(-1), 'storeflow stopped', String(at));
      assert.ok(ms < 5000, `${at}: exited ${ms} ms after Ctrl-C`);
      await waitFor(() => processesOn(join(home, 'pg')).length === 0, 10_000, `${at}: no PostgreSQL on ${home}/pg`);
      assert.not.ok(existsSync(join(home, 'pg', 'postmaster.pid')), `${at}: postmaster.pid removed`);
      console.log(`Ctrl-C at ${at}: exited in ${ms} ms`);
    } finally {
      run.child.kill('SIGKILL');
    }
  }
});

test('messages: an unknown role names the roles; an unreachable DATABASE_URL is one line naming it (no password, no stack)', async () => {
  const role = start(join(dir, 'messages'), ANY_PORT, ['chef']);
  assert.is(await role.exited, 2);
  assert.is(
    role.out(),
    'storeflow: invalid configuration (1 problem):\n  - ROLES: unknown role "chef"; the roles are recommender, detector, simulator, pump, gateway\nSee .env.example for every variable.\n',
  );
  const db = start(join(dir, 'messages'), { ...ANY_PORT, DATABASE_URL: 'postgres://shop:s3cret-pw@127.0.0.1:2/store' });
  assert.is(await db.exited, 1, db.out());
  const fatal = db.lines().filter((l) => l.level >= 50);
  assert.equal(
    fatal.map((l) => l.msg),
    [
      'cannot connect to PostgreSQL at DATABASE_URL=postgres://shop:***@127.0.0.1:2/store: connection refused (nothing listens there): connect ECONNREFUSED 127.0.0.1:2. Is it running, and is DATABASE_URL right?',
    ],
  );
  assert.is(fatal[0].err, undefined, 'no error object, so no stack');
  assert.not.match(db.out(), /s3cret-pw|\n\s+at /);
});

test('a body that is not JSON is told it must be JSON and what content type came (415)', async () => {
  const app = await startTestApp({ ROLES: 'recommender' });
  try {
    const post = async (contentType: string, body: string) => {
      const r = await fetch(`${app.url}/mock_entry`, { method: 'POST', headers: { 'content-type': contentType }, body });
      return [r.status, await r.json()];
    };
    // curl -d garbage
    assert.equal(await post('application/x-www-form-urlencoded', 'garbage'), [
      415,
      {
        error: 'unsupported_media_type',
        message:
          "the body must be JSON; it came as application/x-www-form-urlencoded and is not JSON (with curl: -H 'content-type: application/json' -d '{...}')",
      },
    ]);
    assert.equal(await post('application/xml', '<entry id="1"/>'), [
      415,
      {
        error: 'unsupported_media_type',
        message: "the body must be JSON; it came as application/xml (with curl: -H 'content-type: application/json' -d '{...}')",
      },
    ]);
    // JSON sent as curl -d sends it is read, as the seeds' examples expect
    assert.is((await post('application/x-www-form-urlencoded', '{"id": "1", "ts": 1764000000}'))[0], 200);
  } finally {
    await app.close();
  }
});

test.run();
