import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseConfig, EnvSchema } from '../schemas/env.ts';
import { renderEnvExample } from '../scripts/env-example.ts';

test('defaults follow the seeds', () => {
  const r = parseConfig({});
  assert.ok(r.ok);
  if (!r.ok) return;
  const c = r.config;
  assert.equal(c.port, 8000);
  assert.equal([c.transport, c.mqtt.mode], ['mqtt', 'embedded']);
  assert.equal(c.mqtt.port, 1883);
  assert.equal(c.topics, {
    enter: 'customer/enter',
    move: 'customer/move',
    exit: 'customer/exit',
    focus: 'customer/focus',
    browsing: 'customer/browsing',
    redemption: 'customer/redemption',
    prediction: 'customer/prediction',
    command: 'focusEventPump/command',
    deadLetter: '',
  });
  assert.equal(c.roles, ['recommender', 'detector', 'simulator', 'pump', 'gateway']);
  assert.equal([c.recommender.maxCoupons, c.recommender.threshold, c.recommender.idleTimeoutS], [5, 0.2, 7200]);
  assert.equal([c.pump.minCustomerId, c.pump.maxCustomerId, c.pump.intervalS, c.pump.autoStart], [1, 1000, 1, true]);
  assert.equal([c.simulator.consumeFrom, c.simulator.consumeFrequencyS, c.simulator.batchSize], ['latest', 1, 10]);
  assert.equal([c.gateway.streamPort, c.gateway.apiPort], [8080, 8081]);
});

test('seed aliases name the same topics; MQTT_HOST is a broker list', () => {
  const r = parseConfig({
    ENTRY_EVENT_TOPIC_NAME: 'in/entry',
    FOCUS_EVENT_TOPIC_NAME: 'in/focus',
    COUPON_PREDICTION_TOPIC_NAME: 'out/p',
    MQTT_HOST: 'a.example, b.example:1999',
    MQTT_PORT: '1884',
    GENERATOR_AUTO_START: 'False',
    LOG_LEVEL: 'WARNING',
    CLIENT_ID: 'kafkaClients',
  });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.config.topics.enter, 'in/entry');
  assert.is(r.config.topics.focus, 'in/focus');
  assert.is(r.config.topics.prediction, 'out/p');
  assert.equal(r.config.mqtt.urls, ['mqtt://a.example:1884', 'mqtt://b.example:1999']);
  assert.equal([r.config.transport, r.config.mqtt.mode], ['mqtt', 'external']);
  assert.is(r.config.mqtt.clientId, 'kafkaClients');
  assert.is(r.config.pump.autoStart, false);
  assert.is(r.config.logLevel, 'warn');
});

test('TLS when MQTT_BROKER_CERT_FILE is set; TESTING_NO_MQTT and TESTING_MOCK_MQTT turn MQTT off', () => {
  const tls = parseConfig({ MQTT_HOST: 'broker', MQTT_BROKER_CERT_FILE: '/ca.pem' });
  assert.ok(tls.ok && tls.config.mqtt.urls[0] === 'mqtts://broker:1883');
  for (const k of ['TESTING_NO_MQTT', 'TESTING_MOCK_MQTT']) {
    const r = parseConfig({ [k]: 'true' });
    assert.ok(r.ok && r.config.transport === 'none', k);
  }
});

test('every problem is listed with its variable name', () => {
  const r = parseConfig({
    MQTT_PORT: 'abc',
    PORT: '70000',
    ROLES: 'recommender,cashier',
    PREDICTION_THRESHOLD: '2',
    GENERATOR_AUTO_START: 'maybe',
    DATABASE_URL: 'mysql://x',
    FOCUS_TOPIC: 'a',
    FOCUS_EVENT_TOPIC_NAME: 'b',
    CONSUME_FROM: '2024-13-45T00:00:00Z',
    MIN_CUSTOMER_ID: '10',
    MAX_CUSTOMER_ID: '5',
  });
  assert.not.ok(r.ok);
  if (r.ok) return;
  const text = r.problems.join('\n');
  for (const name of [
    'MQTT_PORT',
    'PORT',
    'ROLES',
    'PREDICTION_THRESHOLD',
    'GENERATOR_AUTO_START',
    'DATABASE_URL',
    'FOCUS_TOPIC and FOCUS_EVENT_TOPIC_NAME are aliases',
    'CONSUME_FROM',
    'MIN_CUSTOMER_ID',
  ])
    assert.ok(text.includes(name), `${name} missing from:\n${text}`);
  assert.ok(text.includes('"abc"'), 'the given value is shown');
});

test('bad configuration: one message, exit code 2, no stack trace', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { PATH: process.env.PATH, MQTT_PORT: 'abc', PORT: '-1', MQTT_PASSWORD: 'hunter2-secret' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.is(r.status, 2);
  assert.match(r.stderr, /invalid configuration \(2 problems\)/);
  assert.match(r.stderr, /MQTT_PORT/);
  assert.match(r.stderr, /PORT: expected an integer between 0 and 65535, got "-1"/);
  assert.not.match(r.stderr, /\bat .*\.ts:\d+/);
  assert.not.match(r.stderr + r.stdout, /hunter2-secret/);
});

test('.env.example documents every variable and is up to date', () => {
  const text = readFileSync('.env.example', 'utf8');
  for (const key of Object.keys(EnvSchema.properties)) assert.ok(text.includes(`${key}=`), `${key} missing`);
  assert.fixture(text, renderEnvExample());
});

test.run();
