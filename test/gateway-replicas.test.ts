/**
 * Every replica sees the whole log: a gateway stream opened on one replica (A: gateway and recommender in this
 * process) delivers, live, in position order and each once, every prediction that three recommender replicas (A, and
 * B and C as separate OS processes on the same database) append at once. Customers move between replicas from one
 * round to the next, so group commits race on stream versions and some are rolled back, leaving holes in the
 * positions: the stream neither stalls at them nor skips a late commit. The wake-up is PostgreSQL's LISTEN/NOTIFY
 * (sql/006); the reading rule is adapters/edges/postgres-log-tail.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { DATABASE_URL, MQTT_URL, waitFor, startTestApp, dropSchema } from './helpers.ts';

test('a stream on replica A carries, live, in order and each once, every prediction that replicas A, B and C append at once', async () => {
  const a = await startTestApp({ ROLES: 'gateway,recommender', PREDICTION_THRESHOLD: '0', COUPON_VALIDITY: 'ignore', AUTO_SEED: 'true' });
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
    // two more recommenders on A's database and topics, each with its own client id; A seeded the store
    for (const [i, port] of ports.entries()) {
      recommenders[i] = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL,
          MQTT_URL,
          MQTT_PROTOCOL_VERSION: a.env.MQTT_PROTOCOL_VERSION ?? '4',
          DATABASE_SCHEMA: name,
          MQTT_TOPIC_PREFIX: a.env.MQTT_TOPIC_PREFIX ?? '',
          MQTT_CLIENT_ID: `${name}-${'bc'[i]}`,
          PORT: String(port),
          ROLES: 'recommender',
          PREDICTION_THRESHOLD: '0',
          COUPON_VALIDITY: 'ignore',
          LOG_LEVEL: 'warn',
          AUTO_SEED: 'false',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 90_000, `recommender ${'BC'[i]} ready`);
    }
    const replicas = [a.url, ...ports.map((p) => `http://127.0.0.1:${p}`)];
    // every customer focuses in each round, all at once, on a different replica each round (over HTTP, the mock endpoint)
    const CUSTOMERS = 60;
    const deps = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
    for (const round of [0, 1, 2]) {
      const answers = await Promise.all(
        Array.from({ length: CUSTOMERS }, async (_, k) => {
          const c = k + 1;
          const r = await fetch(`${replicas[(c + round) % 3]}/mock_focus`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: String(c), ts: 1748736000 + round * 100 + c, dep: deps[(c + round) % 5] }),
          });
          return r.status;
        }),
      );
      assert.equal(answers, Array(CUSTOMERS).fill(200));
    }
    const logged = await a.database.db.query(sql`SELECT position, stream_id FROM events WHERE type = 'prediction' ORDER BY position`);
    assert.ok(logged.length >= CUSTOMERS, `predictions logged: ${logged.length}`);
    await waitFor(() => got.length >= logged.length, 10_000, 'every prediction on the stream of replica A');
    await new Promise((ok) => setTimeout(ok, 500)); // nothing more comes
    assert.equal(
      got.map((m) => [m.ess_ordinal, m.stream_id]),
      logged.map((r) => [r.position, r.stream_id]),
    );
    const [{ holes }] = await a.database.db.query(sql`SELECT (max(position) - count(*))::int AS holes FROM events`);
    const appended = await Promise.all(
      ports.map(async (p) => /^storeflow_inputs_total\{[^}]*\} (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text())),
    );
    console.log(
      `gateway-replicas: ${logged.length} predictions streamed; ${holes} positions left unused by rollbacks; A appended ${a.eventLog.stats.events} events, B and C inputs: ${appended.map((m) => m?.[1]).join(', ')}`,
    );
    ws.close();
    await new Promise((ok) => (ws.readyState === WebSocket.CLOSED ? ok(null) : ws.once('close', ok)));
  } finally {
    for (const r of recommenders) r?.kill('SIGTERM');
    await Promise.all(recommenders.map((r) => r && new Promise((ok) => (r.exitCode !== null ? ok(null) : r.once('exit', ok)))));
    await a.stop();
    await dropSchema(name);
  }
});

test.run();
