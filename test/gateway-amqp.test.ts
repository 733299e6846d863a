/**
 * RabbitMQ in → WebSocket out, against a real RabbitMQ: AMQP_URL when set (CI's external pass),
 * else the machine's 127.0.0.1:5672 if it answers; skipped with a message when there is none.
 */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { connect as tcpConnect } from 'node:net';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { amqpEvent, MAX_AMQP_BODY } from '../adapters/edges/amqp-source.ts';
import { createGateway, type GatewayHandle } from '../adapters/gateway/index.ts';
import { startTestApp, waitFor, uniqueName, type TestApp } from './helpers.ts';

const LOCAL_AMQP = 'amqp://guest:guest@127.0.0.1:5672';

function answers(host: string, port: number, ms = 1000): Promise<boolean> {
  return new Promise((ok) => {
    const s = tcpConnect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      ok(v);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const AMQP_URL = process.env.AMQP_URL || ((await answers('127.0.0.1', 5672)) ? LOCAL_AMQP : '');

const mapping = suite('AMQP message → log entry');
mapping('JSON body kept; text and message_type/message_body bodies marked; type from the key; invalid and oversized bodies logged as rejected', () => {
  assert.equal(amqpEvent('orders.eu', Buffer.from('{"a":1}'), 'm1'), {
    streamId: 'amqp-orders.eu',
    type: 'orders',
    data: { a: 1 },
    metadata: { source: 'amqp', routing_key: 'orders.eu' },
    messageId: 'm1',
  });
  assert.equal(amqpEvent('abc', Buffer.from('accountserver.MerchantCharge|sqn: 1')), {
    streamId: 'amqp-abc',
    type: 'abc',
    data: { text: 'accountserver.MerchantCharge|sqn: 1' },
    metadata: { source: 'amqp', routing_key: 'abc', format: 'text' },
    messageId: undefined,
  });
  assert.equal(amqpEvent('abc', Buffer.from('{"message_type":"t","message_body":{"x":1}}')), {
    streamId: 'amqp-abc',
    type: 'abc',
    data: { message_type: 't', message_body: { x: 1 } },
    metadata: { source: 'amqp', routing_key: 'abc', format: 'message' },
    messageId: undefined,
  });
  assert.is(amqpEvent('$weird', Buffer.from('1')).type, 'amqp');
  const bad = amqpEvent('x', Buffer.from('{nope'));
  assert.is(bad.type, 'rejected');
  assert.is((bad.data as { code?: unknown }).code, 'invalid_json');
  assert.is((amqpEvent('x', Buffer.alloc(MAX_AMQP_BODY + 1, 32)).data as { code?: unknown }).code, 'too_large');
});

const rabbit = suite('RabbitMQ source');
let app: TestApp & { gw: GatewayHandle };
let publisher: amqp.ChannelModel;
// an exchange of this run's own (a topic one: these tests route by pattern), never the machine's event-streams
const exchange = uniqueName('event_streams');

if (!AMQP_URL) {
  console.log('gateway-amqp: no RabbitMQ (AMQP_URL unset and nothing answers on 127.0.0.1:5672): RabbitMQ tests skipped');
} else {
  rabbit.before(async () => {
    const a = await startTestApp(
      { ROLES: 'gateway', AMQP_URL, AMQP_EXCHANGE: exchange, AMQP_EXCHANGE_TYPE: 'topic', LOG_LEVEL: 'info' },
      { factories: { gateway: createGateway({ heartbeatMs: 60_000 }) } },
    );
    app = Object.assign(a, { gw: a.roles.get('gateway') as GatewayHandle });
    publisher = await amqp.connect(AMQP_URL);
  });
  rabbit.after(async () => {
    const queue = app?.gw.amqp?.queue;
    if (queue && publisher) {
      const ch = await publisher.createChannel();
      for (const q of [queue, `${queue}.dead-letter`]) await ch.deleteQueue(q).catch(() => {});
      await ch.deleteExchange(`${queue}.dead-letter`).catch(() => {});
      await ch.deleteExchange(exchange).catch(() => {});
      await ch.close().catch(() => {});
    }
    await publisher?.close().catch(() => {});
    await app?.close();
  });

  rabbit('AMQP_EXCHANGE_TYPE=topic: published to the exchange → logged → streamed to a WebSocket; credentials never logged', async () => {
    const key = `${uniqueName('orders').replace(/[^A-Za-z0-9_]/g, '_')}.eu.new`;
    const created = await fetch(`http://127.0.0.1:${app.gw.apiPort}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: `${key.split('.')[0]}.#` }),
    });
    const { location } = (await created.json()) as { location: string };
    const ws = new WebSocket(location);
    const got: { ess_ordinal: number; message_type: string; stream_id: string; message_body: { code?: unknown }; metadata: unknown }[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    await new Promise((ok) => ws.once('open', ok));
    await waitFor(() => app.gw.clients().size === 1, 5000, 'client registered');
    const ch = await publisher.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    ch.publish(exchange, key, Buffer.from(JSON.stringify({ message_type: 'MerchantCharge', amount: 12.5 })));
    ch.publish(exchange, key, Buffer.from('{not json'));
    ch.publish(exchange, 'elsewhere.key', Buffer.from('{"x":1}'));
    await waitFor(() => got.length >= 2, 5000, 'AMQP messages on the WebSocket');
    const logged = await app.eventLog.read({ streamId: `amqp-${key}` });
    assert.equal(
      got.map((m) => [m.ess_ordinal, m.message_type, m.stream_id]),
      [
        [logged[0].position, key.split('.')[0], `amqp-${key}`],
        [logged[1].position, 'rejected', `amqp-${key}`],
      ],
    );
    assert.equal(got[0].message_body, { message_type: 'MerchantCharge', amount: 12.5 });
    assert.equal(got[0].metadata, { source: 'amqp', routing_key: key });
    assert.is(got[1].message_body.code, 'invalid_json');
    const password = new URL(AMQP_URL).password;
    assert.ok(
      app.logs.some((l) => l.includes('consuming RabbitMQ events')),
      'the source logged its start',
    );
    if (password)
      assert.not.ok(
        app.logs.some((l) => l.includes(`:${password}@`)),
        'password in a log line',
      );
    await ch.close();
    ws.close();
  });

  rabbit('poison is rejected once and dead-lettered; the queue is durable, so what is published while storeflow is down is kept', async () => {
    const key = `${uniqueName('poison').replace(/[^A-Za-z0-9_]/g, '_')}.x`;
    const ch = await publisher.createChannel();
    const deadBefore = (await ch.checkQueue(`${must(app.gw.amqp, 'app.gw.amqp').queue}.dead-letter`)).messageCount;
    const poison = ['{"order":"\\u0000"}', '{"order":"\\ud800"}', 'text with a NUL \u0000', `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`, '{"raw":"\u0000"}'];
    for (const p of poison) ch.publish(exchange, key, Buffer.from(p));
    ch.publish(exchange, key, Buffer.from('{"good":1}'));
    const logged = await waitFor(
      async () => {
        const r = await app.eventLog.read({ streamId: `amqp-${key}` });
        return r.length >= 6 ? r : null;
      },
      5000,
      'six messages logged',
    );
    await new Promise((r) => setTimeout(r, 1000));
    const again = await app.eventLog.read({ streamId: `amqp-${key}` });
    assert.equal(
      again.map((e) => [e.type, (e.data as { code?: unknown }).code ?? null]),
      [
        ['rejected', 'unstorable'],
        ['rejected', 'unstorable'],
        ['rejected', 'unstorable'],
        ['rejected', 'unstorable'],
        ['rejected', 'invalid_json'],
        [key.split('.')[0], null],
      ],
      'each message logged once: no retry loop',
    );
    assert.is(logged.length, 6);
    const dead = await ch.checkQueue(`${must(app.gw.amqp, 'app.gw.amqp').queue}.dead-letter`);
    assert.is(dead.messageCount - deadBefore, 5, 'the five poison messages are dead-lettered');
    // storeflow stops; a message published meanwhile waits in its durable queue
    const queue = must(app.gw.amqp, 'app.gw.amqp').queue;
    await must(app.gw.amqp, 'app.gw.amqp').stop();
    ch.publish(exchange, key, Buffer.from('{"while":"down"}'));
    const { startAmqpSource } = await import('../adapters/edges/amqp-source.ts');
    const { silentLogger } = await import('../adapters/process/logger.ts');
    const restarted = await startAmqpSource({ url: AMQP_URL, eventLog: app.eventLog, log: silentLogger, queue, exchange, exchangeType: 'topic' });
    try {
      const after = await waitFor(
        async () => {
          const r = await app.eventLog.read({ streamId: `amqp-${key}` });
          return r.length >= 7 ? r : null;
        },
        5000,
        'the message published while down',
      );
      assert.equal(after[6].data, { while: 'down' });
    } finally {
      await restarted.stop();
      await ch.deleteQueue(queue);
      await ch.deleteQueue(`${queue}.dead-letter`);
      await ch.close();
    }
  });
}

mapping.run();
rabbit.run();
