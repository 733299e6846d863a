/**
 * The one place storeflow touches mqtt.js internals (adapters/edges/mqtt-deferred-ack.ts): a PUBACK
 * waits for its input's work while the next messages go on. Fails if mqtt.js changes under it.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { deferPubacks } from '../adapters/edges/mqtt-deferred-ack.ts';
import { waitFor, sleep } from './helpers.ts';

test('a held PUBACK is sent when its work resolves, never when it rejects; later messages are not held up', async () => {
  const broker = await Aedes.createBroker();
  // the broker hears each PUBACK (it does not say for which message: the order of release tells)
  let acks = 0;
  broker.on('ack', () => {
    acks++;
  });
  const server = createServer(broker.handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  const client = await mqtt.connectAsync(url, { clientId: 'deferred', protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const pending = new Map<number, Promise<unknown>>();
  const unacked: number[] = [];
  deferPubacks(client, pending, (id) => unacked.push(id));
  const release: Record<string, (ok: boolean) => void> = {};
  const heard: number[] = [];
  client.on('message', (_topic, payload, packet) => {
    const n = Number(payload.toString());
    heard.push(n);
    if (n === 3) return; // no work: acked at once
    pending.set(
      must(packet.messageId, 'packet.messageId'),
      new Promise((ok, fail) => {
        release[n] = (good) => (good ? ok(n) : fail(new Error('not logged')));
      }),
    );
  });
  await client.subscribeAsync('t', { qos: 1 });
  const publisher = await mqtt.connectAsync(url, { clientId: 'publisher', protocolVersion: 4, reconnectPeriod: 0 });
  try {
    for (const n of [1, 2, 3]) await publisher.publishAsync('t', String(n), { qos: 1 });
    await waitFor(() => heard.length === 3, 5000, 'all three messages heard although two are held');
    await sleep(200);
    assert.is(acks, 1, 'only the message without work is acked');
    release[2](true);
    await waitFor(() => acks === 2, 5000, 'the released ack');
    release[1](false);
    await sleep(200);
    assert.equal({ acks, unacked: unacked.length }, { acks: 2, unacked: 1 });
  } finally {
    await publisher.endAsync();
    await client.endAsync(true);
    await new Promise<void>((ok) => broker.close(() => ok()));
    server.close();
  }
});

test.run();
