/**
 * The transport the configuration picks (adapters/process/transports.ts), and what the pipeline asks of it: the
 * source its inputs are logged with, and whether its outputs come back through it or are handed on locally. Nothing
 * connects here: the answers are known before any client is.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configFrom } from '../schemas/env.ts';
import { pickTransport } from '../adapters/process/transports.ts';
import { silentLogger } from '../adapters/process/logger.ts';

const picked = (env: Record<string, string>) => {
  const t = pickTransport(configFrom(env), ['mqtt://127.0.0.1:1883'], silentLogger);
  return { source: t.source, handsOffLocally: t.handsOffLocally };
};

test('the embedded broker keeps the pipeline its own publications: handed on locally', () => {
  assert.equal(picked({}), { source: 'mqtt', handsOffLocally: true });
});

test('an external MQTT 5 broker: no-local, unless the subscription is shared (GROUP_ID) or the broker speaks 3.1.1', () => {
  assert.equal(picked({ MQTT_URL: 'mqtt://broker:1883' }), { source: 'mqtt', handsOffLocally: true });
  assert.equal(picked({ MQTT_URL: 'mqtt://broker:1883', GROUP_ID: 'shop' }), { source: 'mqtt', handsOffLocally: false });
  assert.equal(picked({ MQTT_URL: 'mqtt://broker:1883', MQTT_PROTOCOL_VERSION: '4' }), { source: 'mqtt', handsOffLocally: false });
});

test('Kafka (BOOTSTRAP_SERVERS): a consumer group hears its own publications, so they come back through it', () => {
  assert.equal(picked({ BOOTSTRAP_SERVERS: '127.0.0.1:9092' }), { source: 'kafka', handsOffLocally: false });
  assert.equal(picked({ BOOTSTRAP_SERVERS: '127.0.0.1:9092', MQTT_URL: 'mqtt://broker:1883' }), { source: 'kafka', handsOffLocally: false });
});

test('TESTING_NO_MQTT: nothing comes back, outputs are handed on locally', () => {
  assert.equal(picked({ TESTING_NO_MQTT: 'true' }), { source: 'mqtt', handsOffLocally: true });
});

test('the transport is a choice of its own in the configuration, not a mode of MQTT', () => {
  const transport = (env: Record<string, string>) => configFrom(env).transport;
  assert.equal(
    [transport({}), transport({ MQTT_URL: 'mqtt://broker:1883' }), transport({ BOOTSTRAP_SERVERS: '127.0.0.1:9092' }), transport({ TESTING_NO_MQTT: 'true' })],
    ['mqtt', 'mqtt', 'kafka', 'none'],
  );
  // Kafka wins over an MQTT broker's address, as BOOTSTRAP_SERVERS is documented to (its warning says MQTT_URL is ignored)
  assert.is(transport({ BOOTSTRAP_SERVERS: '127.0.0.1:9092', MQTT_URL: 'mqtt://broker:1883', TESTING_NO_MQTT: 'true' }), 'kafka');
});

test.run();
