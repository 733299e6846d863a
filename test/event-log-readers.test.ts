/**
 * Readers of the whole log (docs/log-readers.md): the log tail hands on every committed event once, in position
 * order, never skipping a transaction that commits late and never waiting on positions a rollback left unused; a log
 * written by the previous schema keeps every event, position and id. Each test in its own schema.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { connectDatabase, migrate, sql, type Database } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { PostgresLogTail } from '../adapters/edges/postgres-log-tail.ts';
import { createMetrics, type Metrics } from '../adapters/process/metrics.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { DATABASE_URL, uniqueName, dropSchema, waitFor, sleep } from './helpers.ts';

interface Seen {
  position: number;
  messageId: string | undefined;
  at: number;
}

/** A log in a schema of its own, a writer, and a tail from the log's head, recording what it hands on and when. */
async function logWithTail(o: { migrations?: number } = {}) {
  const schema = uniqueName();
  const database = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(database.db, silentLogger, o.migrations);
  const eventLog = new PostgresEventLog(database.db, { log: silentLogger });
  const metrics = createMetrics();
  const tail = new PostgresLogTail({ url: DATABASE_URL, schema, eventLog, db: database.db, log: silentLogger, metrics });
  const seen: Seen[] = [];
  tail.subscribe((batch) => {
    const at = performance.now();
    for (const e of batch) seen.push({ position: e.position, messageId: e.messageId, at });
  });
  await tail.start();
  return {
    schema,
    database,
    eventLog,
    tail,
    seen,
    metrics,
    /** The log's events as the database holds them: position and id, in position order. */
    async logged(): Promise<[number, string | null][]> {
      return (await database.db.query(sql`SELECT position, message_id FROM events ORDER BY position`)).map((r) => [Number(r.position), r.message_id]);
    },
    async close() {
      await tail.stop();
      await database.close();
      await dropSchema(schema);
    },
  };
}

/** A session that is not storeflow's (no idle-in-transaction limit), on `schema`. */
async function foreignSession(schema: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`SET search_path TO ${schema}`);
  return c;
}

const prediction = (id: string) => ({ streamId: `customer-${id}`, type: 'prediction', data: { customer_id: id }, messageId: `p-${id}` });

async function gauge(metrics: Metrics, name: string): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  return (await m?.get())?.values[0]?.value ?? Number.NaN;
}

test('a transaction held open 15 s while others commit: its event arrives in ordinal order, and later events wait only for it', async () => {
  const t = await logWithTail();
  const held = await foreignSession(t.schema);
  try {
    await t.eventLog.append([prediction('before')]);
    await waitFor(() => t.seen.length === 1, 5000, 'the event before');
    await held.query('BEGIN');
    const [{ position: heldAt }] = (
      await held.query(
        `INSERT INTO events (stream_id, version, type, data, message_id) VALUES ('customer-held', 1, 'prediction', '{}', 'p-held') RETURNING position`,
      )
    ).rows;
    // others append and commit while it stays open
    const committed = new Map<number, number>();
    const opened = performance.now();
    for (let i = 0; performance.now() - opened < 15_000; i++) {
      const [e] = await t.eventLog.append([prediction(`later-${i}`)]);
      committed.set(e.position, performance.now());
      await sleep(250);
    }
    assert.ok(committed.size >= 30, `others committed meanwhile (${committed.size})`);
    assert.equal(
      t.seen.map((s) => s.messageId),
      ['p-before'],
      'nothing after the open transaction is handed on while it is open',
    );
    const lag = await gauge(t.metrics, 'storeflow_log_tail_lag_seconds');
    assert.ok(lag > 10 && lag < 20, `the lag metric shows the wait (${lag} s)`);
    await held.query('COMMIT');
    const at = performance.now();
    await waitFor(() => t.seen.length === committed.size + 2, 5000, 'the held event and every later one');
    assert.equal(
      t.seen.map((s) => [s.position, s.messageId ?? null]),
      await t.logged(),
      'every committed event once, in position order',
    );
    assert.is(t.seen[1].position, Number(heldAt), 'the held event in its ordinal place');
    const waited = Math.max(...t.seen.slice(1).map((s) => s.at - at));
    assert.ok(waited < 1000, `the later events came as soon as it committed (${waited.toFixed(0)} ms after)`);
  } finally {
    await held.end();
    await t.close();
  }
});

test('10,000 rolled-back appends cost the tail no waiting', async () => {
  const t = await logWithTail();
  const other = await foreignSession(t.schema);
  try {
    const committed = new Map<number, number>();
    const rollback = "BEGIN; INSERT INTO events (stream_id, version, type, data) VALUES ('customer-lost', 1, 'prediction', '{}'); ROLLBACK;";
    for (let i = 0; i < 100; i++) {
      // 100 rolled-back transactions, each leaving its position unused, then one that commits above them
      await other.query(rollback.repeat(100));
      const [e] = await t.eventLog.append([prediction(String(i))]);
      committed.set(e.position, performance.now());
    }
    await waitFor(() => t.seen.length === 100, 10_000, 'every committed event');
    const logged = await t.logged();
    assert.equal(
      t.seen.map((s) => [s.position, s.messageId ?? null]),
      logged,
    );
    assert.ok(logged[99][0] - logged[0][0] >= 100 * 99, `the holes are there: positions ${logged[0][0]}–${logged[99][0]} for 100 events`);
    const delays = t.seen.map((s) => s.at - (committed.get(s.position) ?? s.at)).sort((a, b) => a - b);
    assert.ok(delays[99] < 1000, `no event waited on a hole: the slowest came ${delays[99].toFixed(0)} ms after its commit`);
  } finally {
    await other.end();
    await t.close();
  }
});

test('a log written by the previous schema keeps every event, position and id, and is read in order', async () => {
  const schema = uniqueName();
  let database: Database | undefined = await connectDatabase(DATABASE_URL, schema, silentLogger);
  try {
    // the schema as the previous release left it (migrations up to 006), a log with a rollback's hole in it
    await migrate(database.db, silentLogger, 6);
    // appended as the previous release's INSERT did (today's writes the schema version of sql/008 too)
    const db = database.db;
    const old = {
      append: async (events: ReturnType<typeof prediction>[]) => {
        for (const e of events)
          await db.query(
            sql`INSERT INTO events (stream_id, version, type, data, message_id) VALUES (${e.streamId}, 1, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${e.messageId})`,
          );
      },
    };
    await old.append([prediction('1'), prediction('2')]);
    await database.db
      .tx(async (tx) => {
        await tx.query(sql`INSERT INTO events (stream_id, version, type, data) VALUES ('customer-lost', 1, 'x', '{}')`);
        throw new Error('rolled back');
      })
      .catch(() => {});
    await old.append([prediction('3')]);
    const all = sql`SELECT position, stream_id, version, type, data, metadata, message_id, recorded_at FROM events ORDER BY position`;
    const before = await database.db.query(all);
    await database.close();
    database = await connectDatabase(DATABASE_URL, schema, silentLogger);
    await migrate(database.db, silentLogger);
    assert.equal(await database.db.query(all), before);
    const [setting] = await database.db.query(sql`SHOW idle_in_transaction_session_timeout`);
    assert.equal(setting, { idle_in_transaction_session_timeout: '10s' }, "storeflow's sessions end a transaction left idle");
    const after = await new PostgresEventLog(database.db, { log: silentLogger }).append([prediction('4')]);
    assert.ok(after[0].position > before[before.length - 1].position, 'positions go on after the old ones');
    const read = await new PostgresEventLog(database.db, { log: silentLogger }).read({ fromPosition: 1 });
    assert.equal(
      read.map((e) => [e.position, e.messageId]),
      [...before.map((r) => [Number(r.position), r.message_id]), [after[0].position, 'p-4']],
    );
  } finally {
    await database?.close();
    await dropSchema(schema);
  }
});

test.run();
