/** Migrations, and the event log contract run against both implementations (in-memory and PostgreSQL). */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { connectDatabase, migrate, sql, listMigrations, type Database } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import type { EventLog } from '../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { DATABASE_URL, uniqueName, dropSchema } from './helpers.ts';

const migrations = suite('migrations');
let database: Database;
const schema = uniqueName();
migrations.before(async () => {
  database = await connectDatabase(DATABASE_URL, schema, silentLogger);
});
migrations.after(async () => {
  await database.close();
  await dropSchema(schema);
});

migrations('apply once, recorded, idempotent on re-run', async () => {
  const first = await migrate(database.db, silentLogger);
  assert.equal(
    first,
    listMigrations().map((m) => m.name),
  );
  assert.equal(await migrate(database.db, silentLogger), []);
  const rows = await database.db.query(sql`SELECT version, name FROM schema_migrations ORDER BY version`);
  assert.equal(
    rows.map((r) => r.name),
    first,
  );
  const tables = (await database.db.query(sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY 1`)).map(
    (r) => r.table_name,
  );
  for (const t of ['coupon_info', 'coupon_product', 'customer_info', 'events', 'product_info', 'schema_migrations']) assert.ok(tables.includes(t), t);
});

migrations('a log written before ids were unique keeps its first copy of each id; later copies get their position appended', async () => {
  const other = uniqueName();
  const db = await connectDatabase(DATABASE_URL, other, silentLogger);
  try {
    // the schema as it stood before 005, and a log with an input logged twice and an id used again later
    for (const m of listMigrations().filter((m) => m.version < 5)) await db.db.query(sql.__dangerous__rawValue(m.text));
    await db.db.query(sql`
      INSERT INTO events (stream_id, version, type, data, message_id) VALUES
        ('customer-1', 1, 'focus', '{}', 'a'), ('customer-1', 2, 'focus', '{}', 'a'), ('customer-1', 3, 'prediction', '{}', 'a:prediction'),
        ('customer-2', 1, 'entry', '{}', 'b'), ('customer-1', 4, 'prediction', '{}', 'a:prediction'), ('customer-2', 2, 'move', '{}', NULL),
        ('customer-2', 3, 'move', '{}', NULL)`);
    const migration = must(
      listMigrations().find((m) => m.version === 5),
      'listMigrations().find((m) => m.version === 5)',
    );
    await db.db.query(sql.__dangerous__rawValue(migration.text));
    const rows = await db.db.query(sql`SELECT position, message_id FROM events ORDER BY position`);
    assert.equal(
      rows.map((r) => r.message_id),
      ['a', 'a#2', 'a:prediction', 'b', 'a:prediction#5', null, null],
    );
    let refused = false;
    await db.db
      .query(sql`INSERT INTO events (stream_id, version, type, data, message_id) VALUES ('customer-3', 1, 'entry', '{}', 'b')`)
      .catch(() => (refused = true));
    assert.ok(refused, 'the index holds');
  } finally {
    await db.close();
    await dropSchema(other);
  }
});

migrations('concurrent migrators apply each migration exactly once', async () => {
  const other = uniqueName();
  const a = await connectDatabase(DATABASE_URL, other, silentLogger);
  const b = await connectDatabase(DATABASE_URL, other, silentLogger);
  try {
    const [x, y] = await Promise.all([migrate(a.db, silentLogger), migrate(b.db, silentLogger)]);
    assert.is(x.length + y.length, listMigrations().length);
  } finally {
    await a.close();
    await b.close();
    await dropSchema(other);
  }
});

migrations('cache tables enforce keys', async () => {
  await database.db.query(sql`INSERT INTO product_info VALUES (1, 'p', 'c', 'S', 'v', 'd', 1.5, 'Men')`);
  await database.db.query(sql`INSERT INTO coupon_info VALUES (1, 'just_discount', 'Men', 10, 1, '2020-01-01', '2020-01-05', 1.5, 1)`);
  await database.db.query(sql`INSERT INTO coupon_product VALUES (1, 1)`);
  let failed = false;
  try {
    await database.db.query(sql`INSERT INTO coupon_product VALUES (1, 999)`);
  } catch {
    failed = true;
  }
  assert.ok(failed, 'a coupon_product row naming a missing product is refused');
});

migrations.run();

/** The contract every EventLog implementation honours. */
function contract(name: string, make: () => Promise<{ log: EventLog; other: () => EventLog; done: () => Promise<void> }>) {
  const s = suite(`event log contract: ${name}`);
  let log: EventLog, other: () => EventLog, done: () => Promise<void>;
  s.before.each(async () => {
    ({ log, other, done } = await make());
  });
  s.after.each(async () => {
    await done();
  });

  s('append assigns increasing positions and per-stream versions', async () => {
    const out = await log.append([
      { streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 10 } },
      { streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 11 } },
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 12, dep: 'Men' }, messageId: 'm-1' },
    ]);
    assert.equal(
      out.map((e) => [e.streamId, e.version]),
      [
        ['customer-1', 1],
        ['customer-2', 1],
        ['customer-1', 2],
      ],
    );
    assert.ok(out[0].position < out[1].position && out[1].position < out[2].position);
    const more = await log.append([{ streamId: 'customer-1', type: 'exit', data: { id: '1', ts: 13 } }]);
    assert.is(more[0].version, 3);
    assert.is(await log.head(), more[0].position);
  });

  s('tally counts events after a position by type and by source; read selects by source', async () => {
    const logged = await log.append([
      { streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 10 }, metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 11, dep: 'Men' }, metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'prediction', data: { customer_id: '1' }, metadata: { source: 'output', cause: 'x' } },
      { streamId: 'system', type: 'recommender_started', data: {} },
    ]);
    const [first, second, , last] = logged.map((e) => e.position);
    assert.equal(await log.tally(), {
      head: last,
      types: { entry: 1, focus: 1, prediction: 1, recommender_started: 1 },
      sources: { mqtt: 2, output: 1 },
    });
    assert.equal(await log.tally(first), { head: last, types: { focus: 1, prediction: 1, recommender_started: 1 }, sources: { mqtt: 1, output: 1 } });
    assert.equal(await log.tally(last), { head: 0, types: {}, sources: {} });
    assert.equal(
      (await log.read({ source: 'mqtt' })).map((e) => e.position),
      [first, second],
    );
  });

  s('an id is logged once: a second append of it (later, or in the same batch, or by another writer) writes nothing and returns the logged copy', async () => {
    const [first] = await log.append([{ streamId: 'customer-1', type: 'focus', data: { n: 1 }, messageId: 'in-1' }]);
    const again = await log.append([
      { streamId: 'customer-1', type: 'focus', data: { n: 2 }, messageId: 'in-1' },
      { streamId: 'customer-1', type: 'exit', data: { n: 3 }, messageId: 'in-2' },
      { streamId: 'customer-1', type: 'exit', data: { n: 4 }, messageId: 'in-2' },
      { streamId: 'customer-1', type: 'move', data: { n: 5 } },
    ]);
    assert.equal(
      again.map((e) => [e.skipped ?? 'written', e.version, e.data]),
      [
        ['duplicate', 1, { n: 1 }],
        ['written', 2, { n: 3 }],
        ['duplicate', 2, { n: 3 }],
        ['written', 3, { n: 5 }],
      ],
    );
    assert.is(again[0].position, first.position);
    const [byOther] = await other().append([{ streamId: 'customer-9', type: 'prediction', data: {}, messageId: 'in-2' }]);
    assert.is(byOther.skipped, 'duplicate');
    assert.is(byOther.streamId, 'customer-1');
    assert.equal(
      (await log.read()).map((e) => [e.streamId, e.version, e.messageId ?? null]),
      [
        ['customer-1', 1, 'in-1'],
        ['customer-1', 2, 'in-2'],
        ['customer-1', 3, null],
      ],
    );
  });

  s('expected version: an append behind another writer is a conflict; behind only its own appends it goes through', async () => {
    const [entry] = await log.append([{ streamId: 'customer-1', type: 'entry', data: {}, messageId: 'e' }]);
    // this writer's own later input does not make its decision stale
    await log.append([{ streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f1' }]);
    const [mine] = await log.append([{ streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f1:prediction', expectedVersion: entry.version }]);
    assert.equal([mine.skipped, mine.version], [undefined, 3]);
    // another writer appends: an expectation that has not seen it is refused, with nothing written
    const [theirs] = await other().append([{ streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f2' }]);
    assert.is(theirs.version, 4);
    const stale = await log.append([
      { streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f3:prediction', expectedVersion: 3 },
      { streamId: 'customer-2', type: 'entry', data: {}, messageId: 'e2' },
    ]);
    assert.equal(
      stale.map((e) => [e.skipped ?? 'written', e.version]),
      [
        ['conflict', 0],
        ['written', 1],
      ],
    );
    // having read the stream up to the other writer's event, the same append goes through
    const seen = await log.readStream('customer-1', 3);
    assert.equal(
      seen.map((e) => [e.version, e.messageId]),
      [[4, 'f2']],
    );
    const [retried] = await log.append([{ streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f3:prediction', expectedVersion: 4 }]);
    assert.equal([retried.skipped, retried.version], [undefined, 5]);
    assert.equal(
      (await log.readStream('customer-1')).map((e) => e.messageId),
      ['e', 'f1', 'f1:prediction', 'f2', 'f3:prediction'],
    );
  });

  s('read by range, stream and type returns what was appended, in order', async () => {
    const out = await log.append(
      Array.from({ length: 10 }, (_, i) => ({ streamId: `customer-${i % 3}`, type: i % 2 ? 'move' : 'entry', data: { i }, metadata: { source: 'test' } })),
    );
    const all = await log.read();
    assert.equal(
      all.map((e) => e.data),
      out.map((e) => e.data),
    );
    assert.equal(all[0].metadata, { source: 'test' });
    assert.equal(
      (await log.read({ fromPosition: out[3].position, toPosition: out[5].position })).map((e) => (e.data as { i: number }).i),
      [3, 4, 5],
    );
    assert.equal(
      (await log.read({ streamId: 'customer-1' })).map((e) => (e.data as { i: number }).i),
      [1, 4, 7],
    );
    assert.equal(
      (await log.read({ types: ['move'] })).map((e) => (e.data as { i: number }).i),
      [1, 3, 5, 7, 9],
    );
    assert.equal(
      (await log.read({ fromPosition: out[8].position, limit: 1 })).map((e) => (e.data as { i: number }).i),
      [8],
    );
  });

  s('concurrent appends are all durable, versions gap-free per stream', async () => {
    const batches = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([{ streamId: 'customer-9', type: 'move', data: { i } }])));
    const versions = batches.map((b) => b[0].version).sort((a, b) => a - b);
    assert.equal(
      versions,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.is((await log.read({ streamId: 'customer-9' })).length, 50);
  });

  s('subscribers see every appended batch once', async () => {
    const seen: number[] = [];
    const off = log.subscribe((events) => seen.push(...events.map((e) => e.position)));
    const a = await log.append([
      { streamId: 's', type: 't', data: 1 },
      { streamId: 's', type: 't', data: 2 },
    ]);
    off();
    await log.append([{ streamId: 's', type: 't', data: 3 }]);
    assert.equal(
      seen,
      a.map((e) => e.position),
    );
  });

  s('pages walk a range or a stream in position order', async () => {
    const out = await log.append(Array.from({ length: 7 }, (_, i) => ({ streamId: `customer-${i % 2}`, type: 'move', data: { i } })));
    const pages: number[][] = [];
    for await (const page of log.pages({ fromPosition: out[1].position, pageSize: 2 })) pages.push(page.map((e) => (e.data as { i: number }).i));
    assert.equal(pages, [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const odd: number[] = [];
    for await (const page of log.pages({ streamId: 'customer-1', pageSize: 10 })) odd.push(...page.map((e) => (e.data as { i: number }).i));
    assert.equal(odd, [1, 3, 5]);
    assert.is(await log.firstPositionSince(Date.now() + 60_000), (await log.head()) + 1);
    assert.is(await log.firstPositionSince(0), out[0].position);
  });

  s('counts, the latest of a type, and stream pages as a replay sends them', async () => {
    const out = await log.append([
      { streamId: 'customer-1', type: 'browsing', data: { id: '1', ts: 1 } },
      { streamId: 'customer-1', type: 'prediction', data: { customer_id: '1' } },
      { streamId: 'amqp-orders', type: 'orders', data: { customer_id: 7 }, metadata: { source: 'amqp', routing_key: 'orders.eu' } },
      { streamId: 'customer-1', type: 'browsing', data: { id: '1', ts: 2 } },
    ]);
    assert.is(await log.countSince('browsing', 0, out[3].position), 2);
    assert.is(await log.countSince('browsing', 0, out[2].position), 1);
    assert.is((await log.last('customer-1', 'browsing'))?.position, out[3].position);
    assert.is(await log.last('customer-2', 'browsing'), undefined);
    const page = await log.streamPage(out[1].position, { limit: 2 });
    assert.equal(
      page.map((r) => ({ ...r, dataJson: JSON.parse(r.dataJson), metadataJson: JSON.parse(r.metadataJson), recordedAt: typeof r.recordedAt })),
      [
        {
          position: out[1].position,
          type: 'prediction',
          streamId: 'customer-1',
          version: 2,
          messageId: null,
          dataJson: { customer_id: '1' },
          metadataJson: {},
          routingKey: null,
          customer: '1',
          recordedAt: 'number',
        },
        {
          position: out[2].position,
          type: 'orders',
          streamId: 'amqp-orders',
          version: 1,
          messageId: null,
          dataJson: { customer_id: 7 },
          metadataJson: { source: 'amqp', routing_key: 'orders.eu' },
          routingKey: 'orders.eu',
          customer: '7',
          recordedAt: 'number',
        },
      ],
    );
    assert.equal(
      (await log.streamPage(1, { type: 'browsing', limit: 10 })).map((r) => r.position),
      [out[0].position, out[3].position],
    );
  });

  s('recent input ids are those of inputs, not outputs', async () => {
    await log.append([
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 1 }, messageId: 'in-1', metadata: { source: 'mqtt' } },
      { streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'in-1:prediction', metadata: { source: 'output' } },
      { streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 1 }, metadata: { source: 'mqtt' } },
    ]);
    assert.equal(
      (await log.inputIdsSince(0)).map((e) => e.messageId),
      ['in-1'],
    );
  });

  s('open visits: customers still in the store, their events since their last exit; one clock far ahead idles nobody', async () => {
    const e = (id: string, type: string, ts: number, extra: object = {}) => ({
      streamId: `customer-${id}`,
      type,
      data: { id, ts, ...extra },
      metadata: { source: 'mqtt' },
    });
    await log.append([
      e('1', 'entry', 1000),
      e('1', 'exit', 1100),
      e('1', 'entry', 5000),
      e('1', 'focus', 5010, { dep: 'Men' }),
      e('2', 'entry', 1000),
      e('2', 'exit', 1200), // left
      e('3', 'entry', 100), // idle: over 7200 s before event time
      e('4', 'entry', 5020),
      e('5', 'entry', 4_102_444_800), // far ahead: its own visit is open, and it moves nobody's clock
      // a closed visit whose focus was never decided (a crash between the two): from the exit before it
      e('6', 'entry', 4000),
      e('6', 'focus', 4001, { dep: 'Men' }),
      { streamId: 'customer-6', type: 'no_prediction', data: { reason: 'below_threshold' }, metadata: { source: 'output' } },
      e('6', 'exit', 4002),
      e('6', 'entry', 4003),
      e('6', 'focus', 4004, { dep: 'Men' }),
      e('6', 'exit', 4005),
    ]);
    const open = await log.openVisits(4000);
    assert.equal(
      open.map((x) => `${x.streamId}:${x.type}:${(x.data as { ts?: unknown }).ts ?? ''}`),
      [
        'customer-1:entry:5000',
        'customer-1:focus:5010',
        'customer-4:entry:5020',
        'customer-5:entry:4102444800',
        'customer-6:entry:4003',
        'customer-6:focus:4004',
        'customer-6:exit:4005',
      ],
    );
  });
  s.run();
}

contract('in-memory', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  return { log, other: () => log.anotherWriter(), done: async () => {} };
});
contract('PostgreSQL', async () => {
  const schema = uniqueName();
  const db = await connectDatabase(DATABASE_URL, schema, silentLogger);
  await migrate(db.db, silentLogger);
  const log = new PostgresEventLog(db.db, { log: silentLogger });
  // a second writer on the same database, as another replica would be
  const second = new PostgresEventLog(db.db, { log: silentLogger });
  return {
    log,
    other: () => second,
    done: async () => {
      await second.close();
      await log.close();
      await db.close();
      await dropSchema(schema);
    },
  };
});
