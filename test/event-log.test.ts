/** Migrations (the event log's contract on both logs: test/event-log-contract.test.ts). */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { connectDatabase, migrate, sql, listMigrations, type Database } from '../adapters/edges/database.ts';
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
