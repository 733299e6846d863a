/**
 * Versioned events (docs/event-versions.md): each upcaster on stored samples of every version
 * (test/fixtures/event-versions/<type>/v<n>.ndjson, with the reviewed result of each step in v<n>-as-v<n+1>.ndjson),
 * and a log holding several versions read through every read path of both logs (in memory, PostgreSQL): current shapes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { EVENT_VERSIONS, currentVersion, step, upcast } from '../actors/kernel/upcasters.ts';
import { currentRecord, fromExported, toExported, type EventLog, type ExportedEvent, type LoggedEvent } from '../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { PostgresLogTail } from '../adapters/edges/postgres-log-tail.ts';
import { connectDatabase, migrate } from '../adapters/edges/database.ts';
import { streamPage } from '../adapters/gateway/stream-page.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { DATABASE_URL, dropSchema, uniqueName, waitFor } from './helpers.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'event-versions');
const lines = (file: string): ExportedEvent[] =>
  readFileSync(join(DIR, file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
/** Every stored sample: its type, the version it was written in, and its data as the current version has it. */
const samples = Object.keys(EVENT_VERSIONS).flatMap((type) => {
  const current = EVENT_VERSIONS[type];
  return Array.from({ length: current }, (_, i) => i + 1).flatMap((n) => {
    const next = n < current ? lines(`${type}/v${n}-as-v${n + 1}.ndjson`) : undefined;
    return lines(`${type}/v${n}.ndjson`).map((e, i) => ({
      e,
      n,
      // the reviewed result of the first step, then the code's steps from there
      expected: next ? upcast(type, e.stream_id, n + 1, next[i].data) : e.data,
    }));
  });
});

test('every type has stored samples of each of its versions, and each step its reviewed result', () => {
  assert.equal(readdirSync(DIR).sort(), Object.keys(EVENT_VERSIONS).sort(), 'one folder of samples per type');
  for (const [type, current] of Object.entries(EVENT_VERSIONS)) {
    const files = readdirSync(join(DIR, type)).sort();
    const wanted = Array.from({ length: current }, (_, i) => [`v${i + 1}.ndjson`, ...(i + 1 < current ? [`v${i + 1}-as-v${i + 2}.ndjson`] : [])]).flat();
    assert.equal(files, wanted.sort(), type);
    for (let n = 1; n < current; n++) assert.is(lines(`${type}/v${n}-as-v${n + 1}.ndjson`).length, lines(`${type}/v${n}.ndjson`).length, `${type} v${n}`);
    for (const e of lines(`${type}/v${current}.ndjson`)) assert.is(e.type, type);
  }
  assert.equal(
    Object.entries(EVENT_VERSIONS).filter(([, v]) => v > 1),
    [
      ['prediction', 2],
      ['no_prediction', 2],
    ],
  );
});

test('each step turns its stored samples into the reviewed next version, and leaves its argument as it was', () => {
  let steps = 0;
  for (const [type, current] of Object.entries(EVENT_VERSIONS))
    for (let n = 1; n < current; n++) {
      const from = lines(`${type}/v${n}.ndjson`);
      const to = lines(`${type}/v${n}-as-v${n + 1}.ndjson`);
      const up = step(type, n);
      assert.ok(up, `${type}: a step from v${n}`);
      from.forEach((e, i) => {
        const before = JSON.stringify(e.data);
        assert.equal(up?.(e.data), to[i].data, `${type} v${n} → v${n + 1}: ${before}`);
        assert.is(JSON.stringify(e.data), before);
        assert.equal(currentRecord(e), { ...to[i], schema_version: current }, `${type}: the export line as current`);
        steps++;
      });
    }
  assert.is(steps, 8);
  assert.is(step('entry', 1), undefined);
});

test('data of the current version reads as it is (the same value); a line without a version is version 1; a newer version passes', () => {
  for (const { e, n } of samples) {
    if (n !== currentVersion(e.type, e.stream_id)) continue;
    assert.is(upcast(e.type, e.stream_id, n, e.data), e.data);
    assert.is(currentRecord(e), e);
  }
  // issue 34's records, written before the log stored versions, say their version in their data: read as they are
  const issue34 = lines('prediction/v1.ndjson').filter((e) => e.schema_version === undefined && e.data.v === 2);
  assert.is(issue34.length, 1);
  assert.equal(fromExported(issue34[0]).data, issue34[0].data);
  // a record of a later release than this code (a rolled-back deployment): never downcast, never guessed
  const later = { ...lines('prediction/v2.ndjson')[0], schema_version: 3 };
  assert.is(currentRecord(later), later);
  // a publisher's AMQP message whose routing key happens to be a storeflow type is the publisher's data
  assert.equal(upcast('prediction', 'amqp-prediction.eu', 1, { a: 1 }), { a: 1 });
  assert.is(currentVersion('prediction', 'amqp-prediction.eu'), 1);
  assert.is(currentVersion('rejected', 'amqp-x'), EVENT_VERSIONS.rejected);
});

/** The samples appended as they were written (each in its own version), in a stream per sample type. */
function mixedLog(tag: string) {
  return samples.map(({ e, n }, i) => ({
    streamId: e.stream_id === 'export' ? `export-${tag}` : e.stream_id.startsWith('customer-') ? `customer-${tag}-${i}` : e.stream_id,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    messageId: `${tag}-${i}`,
    schemaVersion: n,
  }));
}

/** What every read of `log` gives for the mixed log's events: the current shapes, checked against the samples. */
async function readsAreCurrent(log: EventLog, tag: string, appended: LoggedEvent[], delivered: LoggedEvent[]) {
  const want = samples.map((s) => s.expected);
  const mine = (es: LoggedEvent[]) => es.filter((x) => x.messageId?.startsWith(`${tag}-`));
  assert.equal(
    appended.map((x) => x.data),
    want,
    'append',
  );
  assert.equal(
    mine(delivered).map((x) => x.data),
    want,
    'subscribe (and the tail)',
  );
  assert.equal(
    mine(await log.read()).map((x) => x.data),
    want,
    'read',
  );
  const paged: LoggedEvent[] = [];
  for await (const page of log.pages({ pageSize: 7 })) paged.push(...page);
  assert.equal(
    mine(paged).map((x) => x.data),
    want,
    'pages',
  );
  for (const [i, x] of appended.entries()) {
    const stream = await log.readStream(x.streamId);
    assert.equal(stream.find((y) => y.messageId === x.messageId)?.data, want[i], `readStream ${x.streamId}`);
  }
  // a duplicate's append returns the logged copy, as read
  const again = await log.append(mixedLog(tag));
  assert.equal(
    again.map((x) => [x.skipped, x.data]),
    want.map((d) => ['duplicate', d]),
  );
  // the gateway's stream replay: data as JSON text, of the current shape
  const rows = (await streamPage(log, 1, { limit: 1000 })).filter((r) => appended.some((x) => x.position === r.position));
  assert.equal(
    rows.map((r) => JSON.parse(r.dataJson)),
    want,
    'stream page',
  );
  // an export says the current version
  assert.equal(
    mine(await log.read()).map((x) => toExported(x).schema_version),
    samples.map(({ e }) => currentVersion(e.type, e.stream_id)),
  );
}

test('a log holding several versions, in memory: every read gives the current shapes', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const delivered: LoggedEvent[] = [];
  log.subscribe((batch) => delivered.push(...batch));
  const appended = await log.append(mixedLog('m'));
  await readsAreCurrent(log, 'm', appended, delivered);
});

test('a log holding several versions, on PostgreSQL: every read (and the tail every process hears) gives the current shapes', async () => {
  const schema = uniqueName();
  const database = await connectDatabase(DATABASE_URL, schema, silentLogger);
  const log = new PostgresEventLog(database.db, { log: silentLogger });
  const tail = new PostgresLogTail({ url: DATABASE_URL, schema, eventLog: log, db: database.db, log: silentLogger });
  try {
    await migrate(database.db, silentLogger);
    await tail.start();
    const delivered: LoggedEvent[] = [];
    tail.subscribe((batch) => delivered.push(...batch));
    const heard: LoggedEvent[] = [];
    log.subscribe((batch) => heard.push(...batch));
    const appended = await log.append(mixedLog('p'));
    await waitFor(() => delivered.length >= appended.length, 10_000, 'the tail');
    assert.equal(
      heard.map((x) => x.data),
      delivered.map((x) => x.data),
    );
    await readsAreCurrent(log, 'p', appended, delivered);
    // each row is stored in the version it was written in
    const stored = await database.db.query(sql`SELECT schema_version FROM events ORDER BY position`);
    assert.equal(
      stored.map((r) => r.schema_version),
      samples.map((s) => s.n),
    );
  } finally {
    await tail.stop();
    await log.close();
    await database.close();
    await dropSchema(schema);
  }
});

test('rows written before sql/008 are version 1: decisions of both kinds read in the current shape; current rows go to the gateway unparsed', async () => {
  const schema = uniqueName();
  const database = await connectDatabase(DATABASE_URL, schema, silentLogger);
  const log = new PostgresEventLog(database.db, { log: silentLogger });
  try {
    await migrate(database.db, silentLogger, 7);
    // as the code before versions wrote them: no schema_version column yet
    const old = [...lines('prediction/v1.ndjson'), ...lines('no_prediction/v1.ndjson'), ...lines('entry/v1.ndjson')];
    for (const [i, e] of old.entries())
      await database.db.query(
        sql`INSERT INTO events (stream_id, version, type, data, metadata, message_id) VALUES (${`customer-old-${i}`}, 1, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${JSON.stringify(e.metadata)}::jsonb, ${`old-${i}`})`,
      );
    assert.equal(await migrate(database.db, silentLogger, 8), ['008_event_versions.sql']);
    await migrate(database.db, silentLogger); // the later ones, which today's appender writes through (the archive's heads)
    const stored = await database.db.query(sql`SELECT DISTINCT schema_version FROM events`);
    assert.equal(
      stored.map((r) => r.schema_version),
      [1],
    );
    const expected = [...lines('prediction/v1-as-v2.ndjson'), ...lines('no_prediction/v1-as-v2.ndjson'), ...lines('entry/v1.ndjson')].map((e) => e.data);
    assert.equal(
      (await log.read()).map((e) => e.data),
      expected,
    );
    // written now: version 2, sent by the gateway as the text the database holds
    const [now] = await log.append([{ streamId: 'customer-new', type: 'prediction', data: lines('prediction/v2.ndjson')[0].data }]);
    const rows = await streamPage(log, 1, { limit: 100 });
    assert.equal(
      rows.map((r) => JSON.parse(r.dataJson)),
      [...expected, now.data],
    );
    const [{ text }] = await database.db.query(sql`SELECT data::text AS text FROM events WHERE position = ${now.position}`);
    assert.is(rows.at(-1)?.dataJson, text);
  } finally {
    await log.close();
    await database.close();
    await dropSchema(schema);
  }
});

test.run();
