/**
 * A broker that sends storeflow's client a packet above MQTT_MAX_PACKET_BYTES (issue 14): the client
 * closes the connection as soon as the packet's header announces it, before buffering it, on every
 * MQTT version (MQTT 3.1.1 cannot tell a broker its maximum), then reconnects as after any loss.
 * The broker is a raw TCP fake, so nothing in between limits what it sends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { connectMqtt, mqttOptions } from '../adapters/edges/mqtt.ts';
import { remainingLength } from '../adapters/edges/mqtt-packet-guard.ts';
import { captureLogger, sleep, testConfig, waitFor } from './helpers.ts';

const ANNOUNCED = 100 * 1024 * 1024;
const LIMIT = 100_000;

/** CONNACK, session not present, accepted (MQTT 5 adds an empty property list). */
const connack = (version: number) => Buffer.from(version === 5 ? [0x20, 3, 0, 0, 0] : [0x20, 2, 0, 0]);

/** A PUBLISH (QoS 0) fixed header announcing `size` remaining bytes, with its topic; the payload follows in chunks. */
function publishHeader(size: number): Buffer {
  const topic = Buffer.from('customer/focus');
  return Buffer.concat([Buffer.from([0x30, ...remainingLength(size)]), Buffer.from([topic.length >> 8, topic.length & 255]), topic]);
}

/**
 * The first connection (`every`: each one) gets CONNACK then a PUBLISH announcing ANNOUNCED bytes, sent until the
 * client closes; the others only CONNACK.
 */
async function fakeBroker(version: number, every = false) {
  const first = { sent: 0, closed: false };
  let connections = 0;
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    const n = ++connections;
    socket.once('data', async () => {
      socket.write(connack(version));
      if (n !== 1 && !every) return;
      if (n !== 1) return socket.write(publishHeader(ANNOUNCED));
      socket.on('close', () => (first.closed = true));
      socket.write(publishHeader(ANNOUNCED));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      while (first.sent < 32 * 1024 * 1024 && !first.closed) {
        if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(200)]);
        first.sent += chunk.length;
        await sleep(1);
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    first,
    connections: () => connections,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

for (const version of [3, 4, 5] as const) {
  test(`MQTT ${version === 5 ? '5' : version === 4 ? '3.1.1' : '3.1'}: a PUBLISH announcing 100 MB closes the client's connection before it is buffered; the client reconnects`, async () => {
    const broker = await fakeBroker(version);
    const { log, entries } = captureLogger('warn');
    const client = await connectMqtt({
      urls: [broker.url],
      clientId: `packet-limit-${version}`,
      protocolVersion: version,
      connectTimeoutMs: 5000,
      clean: true,
      log,
      maximumPacketSize: LIMIT,
    });
    try {
      await waitFor(() => broker.first.closed, 10_000, 'the client to close the connection').catch(() => {});
      // without the guard the client reads (and buffers) all 32 MB it is sent and never closes
      assert.equal({ closed: broker.first.closed, cutEarly: broker.first.sent < 4 * 1024 * 1024 }, { closed: true, cutEarly: true });
      const refused = entries().filter((e) => e.bytes !== undefined);
      assert.equal(
        refused.map((e) => [e.bytes, e.limit]),
        [[1 + 4 + ANNOUNCED, LIMIT]],
      );
      assert.match(refused[0].msg, /MQTT_MAX_PACKET_BYTES/);
      // an oversized packet is no "another client has this id", and the reconnect follows as after any loss
      await waitFor(() => broker.connections() >= 2 && client.isConnected(), 10_000, 'the client to reconnect');
      assert.not.ok(entries().some((e) => /connection lost/.test(e.msg)));
    } finally {
      await client.close();
      await broker.stop();
    }
  });
}

test('a broker that sends it at every connection: the client keeps reconnecting, and never stops as if another client had its id', async () => {
  const broker = await fakeBroker(4, true);
  const { log, entries } = captureLogger('warn');
  let takenOver = false;
  const client = await connectMqtt({
    urls: [broker.url],
    clientId: 'packet-limit-every',
    protocolVersion: 4,
    connectTimeoutMs: 5000,
    clean: true,
    log,
    maximumPacketSize: LIMIT,
    onTakenOver: () => (takenOver = true),
  });
  try {
    // three connections closed within a second of CONNACK each: two would pass for a client id taken over
    await waitFor(() => entries().filter((e) => e.bytes !== undefined).length >= 3, 10_000, 'three refused packets');
    await waitFor(() => broker.connections() >= 4, 5000, 'a fourth connection');
    assert.is(takenOver, false);
  } finally {
    await client.close();
    await broker.stop();
  }
});

test("every role's client has the limit, whatever its MQTT version", () => {
  for (const version of ['3', '4', '5']) {
    const o = mqttOptions(
      testConfig({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_PROTOCOL_VERSION: version, MQTT_MAX_PACKET_BYTES: '200000' }),
      ['mqtt://127.0.0.1:1883'],
      'recommender',
      captureLogger().log,
    );
    assert.is(o.maximumPacketSize, 200_000);
  }
});

test.run();
