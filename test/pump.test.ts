/** The pump role over a real broker: HTTP and MQTT control (broadcast and targeted), auto-start, payload, rate. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../schemas/normalise.ts';
import { FocusEvent } from '../schemas/messages.ts';
import { DEPARTMENTS } from '../schemas/departments.ts';
import { startTestApp, connectClient, collect, waitFor, sleep, uniqueName, type TestApp } from './helpers.ts';

const focusSchema = compile(FocusEvent);
const PAYLOAD = /^\{"id":"(\d+)","dep":"([A-Za-z]+)","ts":(\d+)\}$/;

const pumpApp = (env: Record<string, string> = {}) =>
  startTestApp({ ROLES: 'pump', PUMP_INSTANCE_ID: uniqueName('pump'), PERIODIC_TASKS_INTERVAL: '0.05', ...env });
const state = async (app: TestApp, url = '/state') => (await app.http.inject({ method: 'GET', url })).json();

test('HTTP: stopped at first (auto-start off); /start publishes seed-000 focus events and broadcasts START; /stop stops', async () => {
  const app = await pumpApp({ MIN_CUSTOMER_ID: '5', MAX_CUSTOMER_ID: '9', EVENTS_PER_TICK: '4' });
  const client = await connectClient();
  try {
    const t = app.config.topics;
    const got = await collect(client, [t.focus]);
    const commands = await collect(client, [t.command]);
    await sleep(200);
    assert.is(got.length, 0);
    const s0 = await state(app);
    assert.is(s0.state, 'stopped');
    assert.is(s0.instance_id, app.config.pump.instanceId);
    assert.is(s0.events_sent, 0);
    assert.equal(await state(app, '/pump/state'), s0);

    const before = Math.floor(Date.now() / 1000);
    const started = await app.http.inject({ method: 'POST', url: '/start' });
    assert.is(started.statusCode, 200);
    assert.is(started.json().state, 'started');
    assert.is(started.json().broadcast, true);
    await waitFor(() => got.length >= 40, 10_000, '40 focus events');
    const stopped = await app.http.inject({ method: 'POST', url: '/pump/stop' });
    assert.is(stopped.json().state, 'stopped');
    const after = Math.floor(Date.now() / 1000);
    await sleep(300);
    const n = got.length;
    await sleep(300);
    assert.is(got.length, n, 'nothing after /stop');
    for (const g of got) {
      const m = PAYLOAD.exec(g.raw);
      assert.ok(m, `payload ${g.raw} is exactly {"id","dep","ts"}`);
      assert.ok(focusSchema.check(g.body), focusSchema.error(g.body));
      assert.ok(+(m?.[1] ?? NaN) >= 5 && +(m?.[1] ?? NaN) <= 9, `id ${m?.[1]} in 5..9`);
      assert.ok((DEPARTMENTS as readonly string[]).includes(m?.[2] ?? ''));
      assert.ok(+(m?.[3] ?? NaN) >= before && +(m?.[3] ?? NaN) <= after, 'ts is now, in seconds');
    }
    assert.equal(new Set(got.map((g) => g.body.id)).size, 5, 'every id of the range is drawn');
    assert.equal(
      commands.map((c) => c.raw),
      ['START', 'STOP'],
    );
    const s1 = await state(app);
    assert.is(s1.state, 'stopped');
    assert.is(s1.events_sent, n);
    assert.is(s1.rate, 0);
    // the pump does not write the event log: it is an external producer
    assert.equal(await app.eventLog.read({ types: ['focus'] }), []);
    assert.is((await app.http.inject({ method: 'GET', url: '/pump/healthcheck' })).body, 'OK');
    assert.is((await app.http.inject({ method: 'GET', url: '/healthcheck' })).body, 'OK');
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test('MQTT commands: broadcast and targeted, any case, JSON form; other instances and unknown commands change nothing', async () => {
  // two replicas on the same topics and the same MQTT_CLIENT_ID (as in a Kubernetes deployment)
  const prefix = `${uniqueName()}/`;
  const shared = { MQTT_TOPIC_PREFIX: prefix, MQTT_CLIENT_ID: uniqueName('replica'), LOG_LEVEL: 'info' };
  const a = await pumpApp({ ...shared, PUMP_INSTANCE_ID: 'pump-a' });
  const b = await pumpApp({ ...shared, PUMP_INSTANCE_ID: 'pump-b' });
  const client = await connectClient();
  try {
    const cmd = a.config.topics.command;
    const send = (topic: string, payload: string) => client.publishAsync(topic, payload, { qos: 1 });
    const states = async () => [(await state(a)).state, (await state(b)).state];
    const until = (want: string[], what: string) => waitFor(async () => JSON.stringify(await states()) === JSON.stringify(want), 5000, what);

    await send(cmd, 'start');
    await until(['started', 'started'], 'both started by a broadcast "start"');
    await send(`${cmd}/pump-b`, ' STOP ');
    await until(['started', 'stopped'], 'only b stopped by a targeted STOP');
    await send(`${cmd}/pump-c`, 'STOP');
    await send(cmd, 'jump');
    await send(cmd, '{"command": ');
    await send(`${cmd}/pump-a`, '{"command": "reboot"}');
    await sleep(300);
    assert.equal(await states(), ['started', 'stopped']);
    await send(`${cmd}/pump-a`, '{"command": "Stop"}');
    await until(['stopped', 'stopped'], 'a stopped by a JSON command');
    // /start on one instance starts every instance (it broadcasts)
    await a.http.inject({ method: 'POST', url: '/start' });
    await until(['started', 'started'], 'both started by /start on a');
    await b.http.inject({ method: 'POST', url: '/stop' });
    await until(['stopped', 'stopped'], 'both stopped by /stop on b');
    const warnings = a
      .entries()
      .filter((e) => e.msg === 'unknown pump command ignored')
      .map((e) => e.reason);
    assert.is(warnings.length, 3, JSON.stringify(warnings));
    assert.ok(warnings.some((w) => String(w).includes('jump')));
    // the start-up log names the instance id and its command topics
    const ready = a.entries().find((e) => e.instanceId === 'pump-a' && /ready/.test(e.msg));
    assert.ok(ready, 'start-up line');
    assert.equal(ready.commandTopics, [cmd, `${cmd}/pump-a`]);
    const metrics = (await a.http.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /storeflow_pump_commands_total\{command="unknown",source="mqtt"\} 3/);
  } finally {
    await client.endAsync();
    await a.close();
    await b.close();
  }
});

test('GENERATOR_AUTO_START=true publishes from the start; TESTING_NO_MQTT logs instead of publishing', async () => {
  const app = await pumpApp({ GENERATOR_AUTO_START: 'true' });
  const client = await connectClient();
  try {
    const got = await collect(client, [app.config.topics.focus]);
    await waitFor(() => got.length >= 3, 5000, 'events with no /start');
    assert.is((await state(app)).state, 'started');
  } finally {
    await client.endAsync();
    await app.close();
  }
  const quiet = await pumpApp({ GENERATOR_AUTO_START: 'true', TESTING_NO_MQTT: 'true', LOG_LEVEL: 'info' });
  try {
    await waitFor(() => quiet.entries().some((e) => e.topic === quiet.config.topics.focus && /would publish/.test(e.msg)), 5000, 'a logged publication');
    const line = quiet.entries().find((e) => e.topic === quiet.config.topics.focus && /would publish/.test(e.msg));
    assert.match(String(line?.payload), PAYLOAD);
    assert.is((await state(quiet)).state, 'started');
  } finally {
    await quiet.close();
  }
});

test('PUMP_RATE is met (published and reported); the rate can be changed live; bad settings are 400', async () => {
  const app = await pumpApp({ PUMP_RATE: '200' });
  const client = await connectClient();
  try {
    const got = await collect(client, [app.config.topics.focus]);
    await app.http.inject({ method: 'POST', url: '/start' });
    await sleep(500); // settle
    const n0 = got.length;
    const t0 = performance.now();
    await sleep(2000);
    const measured = (got.length - n0) / ((performance.now() - t0) / 1000);
    assert.ok(measured > 170 && measured < 230, `published ${measured.toFixed(1)} events/s for a target of 200`);
    const s = await state(app);
    assert.is(s.target_rate, 200);
    assert.ok(s.rate > 170 && s.rate < 230, `reported rate ${s.rate}`);

    const changed = await app.http.inject({ method: 'POST', url: '/pump/settings', payload: { rate: 500 } });
    assert.is(changed.statusCode, 200);
    assert.is(changed.json().target_rate, 500);
    await sleep(1500);
    const s2 = await state(app);
    assert.ok(s2.rate > 420 && s2.rate < 580, `reported rate ${s2.rate} after the change to 500`);

    for (const payload of [{ rate: -1 }, { events_per_tick: 0 }, { interval_s: 'soon' }, { speed: 3 }, {}]) {
      const r = await app.http.inject({ method: 'POST', url: '/pump/settings', payload });
      assert.is(r.statusCode, 400, JSON.stringify(payload));
    }
    const bad = await app.http.inject({ method: 'POST', url: '/pump/settings', headers: { 'content-type': 'application/json' }, payload: '{"rate":' });
    assert.is(bad.statusCode, 400);
    assert.is((await state(app)).target_rate, 500);
    // the settings route is only under /pump
    assert.is((await app.http.inject({ method: 'POST', url: '/settings', payload: { rate: 1 } })).statusCode, 404);
  } finally {
    await client.endAsync();
    await app.close();
  }
});

test.run();
