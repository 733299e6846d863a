/**
 * Every replica sees the whole log: a gateway stream opened on one process (A, the gateway role) delivers, live and
 * in position order, the predictions two other processes (B and C, recommenders as separate OS processes on the same
 * database) append — A's own appends are none of them. The wake-up is PostgreSQL's LISTEN/NOTIFY (sql/006).
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { DATABASE_URL, MQTT_URL, waitFor, startTestApp, dropSchema } from './helpers.ts';

test('a stream on process A carries, live and in order, the predictions processes B and C append', async () => {
  const a = await startTestApp({ ROLES: 'gateway' });
  const gw = a.roles.get('gateway') as GatewayHandle;
  const name = a.config.databaseSchema;
  const ports = [await freePort(), await freePort()];
  const recommenders: ChildProcess[] = [];
  try {
    const created = await fetch(`http://127.0.0.1:${gw.apiPort}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: 'prediction' }),
    });
    assert.is(created.status, 201);
    const { location } = (await created.json()) as { location: string };
    const ws = new WebSocket(location);
    const got: { ess_ordinal: number; stream_id: string; message_body: { customer_id: string } }[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    // two recommenders on A's database and topics, each with its own client id; B seeds the store first
    for (const [i, port] of ports.entries()) {
      recommenders[i] = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL,
          MQTT_URL,
          MQTT_PROTOCOL_VERSION: must(a.env.MQTT_PROTOCOL_VERSION, 'a.env.MQTT_PROTOCOL_VERSION'),
          DATABASE_SCHEMA: name,
          MQTT_TOPIC_PREFIX: must(a.env.MQTT_TOPIC_PREFIX, 'a.env.MQTT_TOPIC_PREFIX'),
          MQTT_CLIENT_ID: `${name}-${'bc'[i]}`,
          PORT: String(port),
          ROLES: 'recommender',
          PREDICTION_THRESHOLD: '0',
          COUPON_VALIDITY: 'ignore',
          LOG_LEVEL: 'warn',
          AUTO_SEED: i === 0 ? 'true' : 'false',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 90_000, `recommender ${'BC'[i]} ready`);
    }
    // each recommender gets its own customers over HTTP (the mock endpoint), so both append
    const CUSTOMERS = 20;
    for (let c = 1; c <= CUSTOMERS; c++) {
      const port = ports[c % 2];
      const focus = await fetch(`http://127.0.0.1:${port}/mock_focus`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: String(c), ts: 1748736000 + c, dep: 'Men' }),
      });
      assert.is(focus.status, 200, await focus.text());
    }
    const logged = await a.database.db.query(sql`SELECT position, stream_id FROM events WHERE type = 'prediction' ORDER BY position`);
    assert.is(logged.length, CUSTOMERS, 'every focus got a coupon');
    await waitFor(() => got.length >= CUSTOMERS, 10_000, 'every prediction on the stream of process A');
    assert.equal(
      got.map((m) => [m.ess_ordinal, m.stream_id]),
      logged.map((r) => [r.position, r.stream_id]),
    );
    assert.is(a.eventLog.stats.events, 0, 'process A appended none of them');
    ws.close();
  } finally {
    for (const r of recommenders) r?.kill('SIGTERM');
    await Promise.all(recommenders.map((r) => r && new Promise((ok) => (r.exitCode !== null ? ok(null) : r.once('exit', ok)))));
    await a.stop();
    await dropSchema(name);
  }
});

test.run();
