/**
 * Nothing lost, nothing decided twice (issue 13): a database that stops and comes back, an embedded
 * PostgreSQL that dies, a poison message inside a burst, timestamps the database cannot hold, and one
 * customer's clock far in the future.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '../adapters/edges/database.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { startEmbeddedPostgres } from '../adapters/edges/embedded-postgres.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { connectDatabase, migrate } from '../adapters/edges/database.ts';
import { connectClient, collect, waitFor, sleep, startTestApp, uniqueName, dropSchema, DATABASE_URL } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { inputId } from '../adapters/process/processor-contract.ts';
import pgModule from '@databases/pg';
import type { PredictionFlatT } from '../schemas/messages.ts';

const createConnectionPool: typeof pgModule.default =
  (pgModule as { default?: typeof pgModule.default }).default ?? (pgModule as unknown as typeof pgModule.default);
const T = SMALL_STORE.ts;

test('database stopped for 3 s under load: inputs wait unacknowledged, /readyz says not ready, then every input is logged in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-outage-pg-'));
  const port = await freePort();
  let pg = await startEmbeddedPostgres({ dataDir: dir, port, log: silentLogger });
  const app = await startTestApp({ ROLES: 'recommender', DATABASE_URL: pg.url });
  const client = await connectClient();
  try {
    const sent: string[] = [];
    let sawNotReady = false;
    for (let i = 0; i < 300; i++) {
      const body = JSON.stringify({ id: String(1000 + (i % 50)), ts: T + i });
      sent.push(body);
      await client.publishAsync(app.config.topics.enter, body, { qos: 1 });
      if (i === 100) await pg.stop();
      if (i > 100 && i < 250 && !sawNotReady) sawNotReady = (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 503;
      if (i === 250) pg = await startEmbeddedPostgres({ dataDir: dir, port, log: silentLogger });
      await sleep(i > 100 && i < 250 ? 20 : 2);
    }
    assert.ok(sawNotReady, '/readyz answered 503 while the database was down');
    const logged = await waitFor(
      async () => {
        const rows = await app.eventLog.read({ types: ['entry'] }).catch(() => []);
        return rows.length >= sent.length ? rows : null;
      },
      30_000,
      'every entry logged',
    );
    assert.equal(
      logged.map((e) => JSON.stringify(e.data)),
      sent,
      'every input logged once, in the order published',
    );
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 15_000, 'ready again');
  } finally {
    await client.endAsync();
    await app.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an embedded PostgreSQL that dies is started again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-killed-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir: dir, log: silentLogger });
  const db = createConnectionPool({ connectionString: pg.url, bigIntMode: 'number', poolSize: 1 });
  try {
    assert.equal(await db.query(sql`SELECT 1 AS one`), [{ one: 1 }]);
    const before = pg.pid();
    process.kill(before, 'SIGKILL');
    const after = await waitFor(
      async () => {
        try {
          await db.query(sql`SELECT 1`);
          return pg.pid() !== before ? pg.pid() : null;
        } catch {
          return null;
        }
      },
      30_000,
      'the database back after SIGKILL',
    );
    assert.is.not(after, before);
    assert.equal(await db.query(sql`SELECT 2 AS two`), [{ two: 2 }]);
  } finally {
    await db.dispose();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const qos of [1, 0] as const) {
  test(`a raw NUL byte inside a burst (QoS ${qos}): rejected alone, every other input logged in order`, async () => {
    const app = await startTestApp({ ROLES: 'recommender' });
    const client = await connectClient();
    try {
      const sent: string[] = [];
      for (let i = 0; i < 200; i++) {
        if (i === 100) client.publish(app.config.topics.enter, `{"id":"7","ts":${T},"note":"\u0000"}`, { qos });
        if (i === 120) client.publish(app.config.topics.focus, `{"id":"7","ts":${T},"dep":"Men\u0000"}`, { qos });
        if (i === 140) client.publish(app.config.topics.focus, `{"id":"7","ts":${T},"dep":"\\u0000\\ud800"}`, { qos });
        const body = JSON.stringify({ id: String(2000 + (i % 20)), ts: T + i });
        sent.push(body);
        client.publish(app.config.topics.enter, body, { qos });
      }
      const logged = await waitFor(
        async () => {
          const rows = await app.eventLog.read({ types: ['entry'] });
          return rows.length >= sent.length ? rows : null;
        },
        15_000,
        'every valid entry logged',
      );
      assert.equal(
        logged.map((e) => JSON.stringify(e.data)),
        sent,
      );
      const rejected = await waitFor(
        async () => {
          const r = await app.eventLog.read({ types: ['rejected'] });
          return r.length >= 3 ? r : null;
        },
        5000,
        'three rejections',
      );
      assert.equal(
        rejected.map((r) => (r.data as { code?: unknown }).code),
        ['invalid_json', 'invalid_json', 'unknown_department'],
      );
      // the stored record is readable and says what was wrong, with the bad characters replaced
      assert.is((rejected[0].data as { payload?: unknown }).payload, `{"id":"7","ts":${T},"note":"\ufffd"}`);
      assert.is(JSON.stringify(await (await fetch(`${app.url}/healthcheck`)).text()), '"OK"');
    } finally {
      await client.endAsync();
      await app.close();
    }
  });
}

test('a batch PostgreSQL refuses is retried member by member: only the culprit fails', async () => {
  const schema = uniqueName();
  const database = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(database.db, silentLogger);
  const log = new PostgresEventLog(database.db, { log: silentLogger });
  try {
    // four appends in one group commit; the third carries a value jsonb cannot hold
    const results = await Promise.allSettled([
      log.append([{ streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 1 } }]),
      log.append([{ streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 2 } }]),
      log.append([{ streamId: 'customer-1', type: 'note', data: { text: 'a\u0000b' } }]),
      log.append([{ streamId: 'customer-1', type: 'exit', data: { id: '1', ts: 3 } }]),
    ]);
    assert.equal(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    const all = await log.read();
    assert.equal(
      all.map((e) => [e.streamId, e.version, e.type]),
      [
        ['customer-1', 1, 'entry'],
        ['customer-2', 1, 'entry'],
        ['customer-1', 2, 'exit'],
      ],
    );
  } finally {
    await log.close();
    await database.close();
    await dropSchema(schema);
  }
});

test('an append whose COMMIT went through but whose answer was lost (a database restart) is not written twice', async () => {
  const schema = uniqueName();
  const database = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(database.db, silentLogger);
  // the first attempt writes the rows, then the connection "drops" before the answer
  class LosingAnswers extends PostgresEventLog {
    lost = 0;
    protected override async insert(events: Parameters<PostgresEventLog['append']>[0]) {
      const logged = await super.insert(events);
      if (this.lost++ === 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: undefined });
      return logged;
    }
  }
  const log = new LosingAnswers(database.db, { log: silentLogger });
  try {
    await log.append([{ streamId: 'customer-0', type: 'entry', data: { id: '0', ts: 1 }, messageId: 'before' }]);
    log.lost = 0;
    const [a, b] = await Promise.all([
      log.append([{ streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 2 }, messageId: 'm1' }]),
      log.append([
        { streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 3 }, messageId: 'm2' },
        { streamId: 'process', type: 'note', data: {} },
      ]),
    ]);
    const all = await log.read();
    assert.equal(
      all.map((e) => [e.streamId, e.version, e.messageId ?? null]),
      [
        ['customer-0', 1, 'before'],
        ['customer-1', 1, 'm1'],
        ['customer-2', 1, 'm2'],
        ['process', 1, null],
      ],
    );
    assert.equal(
      [...a, ...b].map((e) => e.position),
      all.slice(1).map((e) => e.position),
      'the appenders get the rows that were written',
    );
  } finally {
    await log.close();
    await database.close();
    await dropSchema(schema);
  }
});

test("a killed process's last commit, still running when storeflow starts again, is in the de-duplication window: its redelivered input is not logged twice", async () => {
  const name = uniqueName();
  const pool = createConnectionPool({ connectionString: DATABASE_URL, bigIntMode: 'number', poolSize: 1, schema: name });
  const first = await startTestApp({ ROLES: 'recommender', DATABASE_SCHEMA: name });
  await first.stop();
  const topic = first.config.topics.enter;
  const payload = JSON.stringify({ id: '5', ts: T });
  const id = inputId(topic, payload);
  let again: Awaited<ReturnType<typeof startTestApp>> | undefined;
  const client = await connectClient();
  try {
    // the dead process's group commit, still running on the server for a moment
    const slow = pool.query(
      sql`INSERT INTO events (stream_id, version, type, data, metadata, message_id) SELECT 'customer-5', 1, 'entry', ${payload}::jsonb, ${JSON.stringify({ source: 'mqtt', topic })}::jsonb, ${id} FROM pg_sleep(1.5)`,
    );
    await sleep(200);
    again = await startTestApp({ ...first.env });
    await slow;
    // the broker delivers it again: the same input
    await client.publishAsync(topic, payload, { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ id: '6', ts: T }), { qos: 1 });
    await waitFor(async () => (await must(again, 'again').eventLog.read({ types: ['entry'] })).length >= 2, 10_000, 'the next entry logged');
    await sleep(300);
    assert.equal(
      (await again.eventLog.read({ types: ['entry'] })).map((e) => (e.data as { id?: unknown }).id),
      ['5', '6'],
    );
  } finally {
    await client.endAsync();
    await again?.stop();
    await pool.dispose();
    await dropSchema(name);
  }
});

test('a timestamp the database cannot hold is rejected at validation, and a start never trips over one already logged', async () => {
  const app = await startTestApp({ ROLES: 'recommender' });
  let again: Awaited<ReturnType<typeof startTestApp>> | undefined;
  try {
    const r = await app.http.inject({ method: 'POST', url: '/mock_entry', payload: { id: '1', ts: 1e22 } });
    assert.is(r.statusCode, 400);
    assert.match(r.json().message, /ts/);
    assert.equal(await app.eventLog.read({ types: ['entry'] }), []);
    // a row an older version let in: the next start still recovers
    await app.database.db.query(
      sql`INSERT INTO events (stream_id, version, type, data, metadata) VALUES ('customer-1', 1, 'entry', '{"id":"1","ts":1e22}', '{"source":"mqtt"}')`,
    );
    await app.http.inject({ method: 'POST', url: '/mock_entry', payload: { id: '2', ts: T } });
    await app.stop();
    again = await startTestApp({ ...app.env });
    const sessions = (await again.http.inject({ method: 'GET', url: '/sessions' }))
      .json()
      .sessions.map((s: { customer_id: string }) => s.customer_id)
      .sort();
    assert.equal(sessions, ['1', '2']);
  } finally {
    await app.stop();
    await again?.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test("one customer far in the future ends nobody else's session, live or after a restart; no coupon twice in a visit", async () => {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0' });
  let again: Awaited<ReturnType<typeof startTestApp>> | undefined;
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const post = (url: string, payload: object) => app.http.inject({ method: 'POST', url, payload });
    await post('/mock_entry', { id: '1', ts: T });
    await post('/mock_entry', { id: '2', ts: T + 1 });
    const first = (await post('/mock_focus', { id: '1', ts: T + 2, dep: 'Men' })).json().predictions[0].coupon.id;
    await post('/mock_entry', { id: '3', ts: 4102444800 }); // 2100-01-01
    await post('/mock_focus', { id: '2', ts: T + 5, dep: 'Women' });
    const live = async (a = app) =>
      (await a.http.inject({ method: 'GET', url: '/sessions' }))
        .json()
        .sessions.map((s: { customer_id: string; state: string }) => `${s.customer_id}:${s.state}`)
        .sort();
    assert.equal(await live(), ['1:ready', '2:ready', '3:ready']);
    const second = (await post('/mock_focus', { id: '1', ts: T + 3, dep: 'Men' })).json().predictions[0].coupon.id;
    assert.is.not(second, first, 'a different coupon in the same visit');
    await app.stop();
    again = await startTestApp({ ...app.env });
    assert.equal(await live(again), ['1:ready', '2:ready', '3:ready']);
    const third = (await again.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: T + 4, dep: 'Men' } })).json().predictions[0].coupon
      .id;
    assert.ok(![first, second].includes(third), `the third offer ${third} repeats none of ${first}, ${second}`);
  } finally {
    await app.stop();
    await again?.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test('a focus logged just before a crash is decided at the next start, also when its exit was logged too; the decision is published', async () => {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0' });
  let again: Awaited<ReturnType<typeof startTestApp>> | undefined;
  const client = await connectClient();
  try {
    await seedSmallStore(app.database.db);
    const t = app.config.topics;
    // what a SIGKILL between "append" and "act" leaves: the visit's inputs logged, no decision
    const input = (topic: string, body: object) => {
      const payload = JSON.stringify(body);
      return {
        streamId: `customer-${(body as { id: string }).id}`,
        type: topic === t.focus ? 'focus' : topic === t.exit ? 'exit' : 'entry',
        data: body,
        messageId: inputId(topic, payload),
        metadata: { source: 'mqtt', topic },
      };
    };
    const logged = await app.eventLog.append([
      input(t.enter, { id: '1', ts: T }),
      input(t.focus, { id: '1', ts: T + 1, dep: 'Men' }),
      input(t.exit, { id: '1', ts: T + 2 }),
      input(t.enter, { id: '2', ts: T + 3 }),
      input(t.focus, { id: '2', ts: T + 4, dep: 'Women' }),
    ]);
    await app.stop();
    const got = await collect<PredictionFlatT>(client, [t.prediction]);
    again = await startTestApp({ ...app.env });
    const decisions = await waitFor(
      async () => {
        const d = await must(again, 'again').eventLog.read({ types: ['prediction', 'no_prediction'] });
        return d.length >= 2 ? d : null;
      },
      10_000,
      'both focuses decided',
    );
    assert.equal(
      decisions.map((d) => [d.type, d.metadata.cause]),
      [
        ['prediction', logged[1].messageId],
        ['prediction', logged[4].messageId],
      ],
    );
    await waitFor(() => got.length >= 2, 5000, 'both published');
    assert.equal(got.map((g) => g.body.customer.id).sort(), ['1', '2']);
    assert.equal(
      (await again.http.inject({ method: 'GET', url: '/sessions' })).json().sessions.map((x: { customer_id: string }) => x.customer_id),
      ['2'],
      'the closed visit ended again',
    );
  } finally {
    await client.endAsync();
    await app.stop();
    await again?.stop();
    await dropSchema(app.config.databaseSchema);
  }
});

test.run();
