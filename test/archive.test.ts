/**
 * `npm run archive` (docs/archive.md) on a recorded log (busy-hour: ~30 shoppers in the store at any time) loaded
 * into its own schema: each archived file replays identically, the visits open at a cut stay in the log, reads of
 * archived positions say so, and appends after an archive keep each stream's versions gap-free.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { connectDatabase, migrate, sql, type Database } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import type { ExportedEvent } from '../actors/kernel/event-log.ts';
import WebSocket from 'ws';
import type { GatewayHandle } from '../adapters/gateway/index.ts';
import { DATABASE_URL, captureLogger, dropSchema, startTestApp, testEnv, uniqueName, waitFor } from './helpers.ts';

const DIR = 'test/fixtures/replay';
const FIXTURE = `${DIR}/busy-hour.ndjson.gz`;
const read = (file: string): ExportedEvent[] =>
  gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const recorded = read(FIXTURE);
const fail = (why: string): never => {
  throw new Error(`unexpected output: ${why}`);
};

let schema = '';
let database: Database;
let out = '';
const env = () => ({ ...process.env, ...testEnv({ DATABASE_SCHEMA: schema }), DATABASE_URL });
const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], { encoding: 'utf8', env: env() });
const replay = (file: string) => run('replay', file, '--data', `${DIR}/store`, '--model', `${DIR}/coupon-model.json`);
const positions = async () => (await database.db.query(sql`SELECT position FROM events ORDER BY position`)).map((r) => Number(r.position));

test.before.each(async () => {
  schema = uniqueName('archive');
  out = mkdtempSync(join(tmpdir(), 'storeflow-archive-'));
  database = await connectDatabase(DATABASE_URL, schema, captureLogger('error').log, 2);
  await migrate(database.db, captureLogger('error').log);
  // the recording as it was logged: positions, versions, ids and times kept
  for (let i = 0; i < recorded.length; i += 5000)
    await database.db.query(sql`
      INSERT INTO events (position, stream_id, version, type, data, metadata, message_id, recorded_at) OVERRIDING SYSTEM VALUE
      SELECT * FROM json_to_recordset(${JSON.stringify(recorded.slice(i, i + 5000))}::json)
        AS (position bigint, stream_id text, version int, type text, data jsonb, metadata jsonb, message_id text, recorded_at timestamptz)`);
  await database.db.query(sql`SELECT setval(pg_get_serial_sequence('events', 'position'), (SELECT max(position) FROM events))`);
});

test.after.each(async () => {
  await database.close();
  await dropSchema(schema);
  rmSync(out, { recursive: true, force: true });
});

test('archived twice, each file replays identically; together they hold every decision the log held, each once; the visits open at the first cut were kept until the second', async () => {
  const middle = recorded[Math.floor(recorded.length / 2)];
  const first = run('archive', '--before', middle.recorded_at, '--out', out);
  assert.is(first.status, 0, first.stdout + first.stderr);
  const [, archived, from, to, file1, keptEvents, keptVisits] =
    /^archived (\d+) events \(positions (\d+) to (\d+)\) to (\S+) in [\d.]+ s; kept (\d+) events of (\d+) visits still open \(in the file as context\)\n$/.exec(
      first.stdout,
    ) ?? fail(first.stdout);
  const cut = recorded.findIndex((e) => e.recorded_at >= middle.recorded_at);
  assert.is(Number(from), 1);
  assert.is(Number(to), recorded[cut].position - 1);
  // busy: about 30 shoppers in the store at the cut, each kept from their entry
  assert.ok(Number(keptVisits) >= 10, keptVisits);
  assert.is(
    first.stderr.split('\n').filter((l) => /^archive: kept customer-\d+ from position \d+: its visit was still open/.test(l)).length,
    Math.min(10, Number(keptVisits)),
  );
  const table = await positions();
  assert.is(table.length, recorded.length - Number(archived));
  assert.is(table.filter((p) => p < recorded[cut].position).length, Number(keptEvents));
  const one = read(file1);
  assert.equal(one[0].type, 'archive');
  assert.is(one.filter((e) => !e.context && e.position > 0).length, Number(archived));
  const r1 = replay(file1);
  assert.is(r1.status, 0, r1.stdout + r1.stderr);
  assert.match(r1.stdout, /different 0, missing 0, extra 0\nreplay: identical\n$/);

  // the rest of the recording, archived once every visit has closed
  const second = run('archive', '--before', new Date(Date.parse(recorded.at(-1)?.recorded_at ?? '') + 1).toISOString(), '--out', out);
  assert.is(second.status, 0, second.stdout + second.stderr);
  const file2 = /to (\S+) in/.exec(second.stdout)?.[1] ?? fail(second.stdout);
  assert.equal(await positions(), []);
  const two = read(file2);
  // it begins with the records in force where the table began (the first file had them)
  assert.equal(
    two.slice(1, 3).map((e) => e.type),
    ['recommender_started', 'detector_started'],
  );
  const r2 = replay(file2);
  assert.is(r2.status, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /different 0, missing 0, extra 0\nreplay: identical\n$/);

  // every record of the log in exactly one file, not as context; the decisions among them as logged
  const archivedRecords = [...one, ...two].filter((e) => e.position > 0 && !e.context && e.stream_id !== 'process');
  const recordedCustomers = recorded.filter((e) => e.stream_id !== 'process');
  assert.equal(
    archivedRecords.map((e) => e.position).sort((a, b) => a - b),
    recordedCustomers.map((e) => e.position),
  );
  // by id and place (the files write each event at the current schema version, the recording is of an older one)
  const decisions = (es: ExportedEvent[]) =>
    es.filter((e) => e.type === 'prediction' || e.type === 'no_prediction').map((e) => `${e.position} ${e.stream_id} ${e.version} ${e.message_id}`);
  assert.equal(decisions(archivedRecords).sort(), decisions(recordedCustomers).sort());
  const identical = (s: string) => Number(/identical (\d+),/.exec(s)?.[1]);
  assert.is(identical(r1.stdout) + identical(r2.stdout), recorded.filter((e) => e.metadata.source === 'output').length);
});

test('a visit still open is refused: its events stay in the log, named; with only open visits before the cut, nothing is removed', async () => {
  const last = recorded.at(-1) as ExportedEvent;
  const ts = Math.max(...recorded.map((e) => Number(e.data?.ts) || 0));
  const eventLog = new PostgresEventLog(database.db, { log: captureLogger('error').log });
  const [entry, focus] = await eventLog.append([
    { streamId: 'customer-9001', type: 'entry', data: { id: '9001', ts: ts + 1 }, metadata: { source: 'http' }, messageId: 'open-entry' },
    { streamId: 'customer-9001', type: 'focus', data: { id: '9001', ts: ts + 2, dep: 'Boys' }, metadata: { source: 'http' }, messageId: 'open-focus' },
  ]);
  assert.ok(entry.position > last.position);
  const r = run('archive', '--before', new Date().toISOString(), '--out', out);
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, `archive: kept customer-9001 from position ${entry.position}: its visit was still open at the cut (position ${focus.position + 1})\n`);
  assert.equal(await positions(), [entry.position, focus.position]);
  // again: only the open visit is left, so nothing is archived and nothing removed
  const again = run('archive', '--before', new Date().toISOString(), '--out', out);
  assert.is(again.status, 1, again.stdout + again.stderr);
  assert.is(
    again.stderr,
    `archive: kept customer-9001 from position ${entry.position}: its visit was still open at the cut (position ${focus.position + 1})\narchive: nothing archived: every event before position ${focus.position + 1} belongs to a visit still open; nothing removed\n`,
  );
  assert.equal(await positions(), [entry.position, focus.position]);
  await eventLog.close();
});

test('reads of archived positions say so and name the file; appends after an archive keep every stream gap-free', async () => {
  const end = new Date(Date.parse(recorded.at(-1)?.recorded_at ?? '') + 1).toISOString();
  const a = run('archive', '--before', end, '--out', out);
  assert.is(a.status, 0, a.stdout + a.stderr);
  const file = /to (\S+) in/.exec(a.stdout)?.[1] ?? fail(a.stdout);
  const before = (recorded.at(-1)?.position ?? 0) + 1;
  const notice = `positions 1 to ${before - 1} are archived (${file}): the log holds position ${before} on, and the events of visits still open when they were archived`;
  const exported = run('export', '--from', '1');
  assert.is(exported.status, 0, exported.stderr);
  assert.match(exported.stderr, `export: ${notice}\n`);
  const replayed = run('replay', '--from', '1', '--data', `${DIR}/store`, '--model', `${DIR}/coupon-model.json`);
  assert.match(replayed.stderr, `replay: ${notice}\n`);

  // a stream whose every event is archived goes on from its last archived version
  const stream = recorded.find((e) => e.stream_id.startsWith('customer-'))?.stream_id ?? fail('no customer');
  const id = stream.slice('customer-'.length);
  const lastVersion = Math.max(...recorded.filter((e) => e.stream_id === stream).map((e) => e.version));
  const captured = captureLogger('warn');
  const eventLog = new PostgresEventLog(database.db, { log: captured.log });
  const [e1] = await eventLog.append([{ streamId: stream, type: 'entry', data: { id, ts: 1 }, metadata: { source: 'http' }, messageId: 'after-1' }]);
  const [e2] = await eventLog.append([
    { streamId: stream, type: 'exit', data: { id, ts: 2 }, metadata: { source: 'http' }, messageId: 'after-2', expectedVersion: e1.version },
  ]);
  assert.equal([e1.version, e2.version], [lastVersion + 1, lastVersion + 2]);
  // a stream read below what the log holds: the events it holds, and a notice naming the file
  assert.equal(
    (await eventLog.readStream(stream)).map((e) => e.version),
    [lastVersion + 1, lastVersion + 2],
  );
  assert.equal(
    captured.entries().map((e) => e.msg),
    [`event log: ${stream}: versions 1 to ${lastVersion} are archived (the last in ${file}): the log holds version ${lastVersion + 1} on`],
  );
  await eventLog.close();

  // the gateway's replay from an archived ordinal: a message that says so first, then what the log holds
  const app = await startTestApp({ ROLES: 'gateway', DATABASE_SCHEMA: schema });
  try {
    const gw = app.roles.get('gateway') as GatewayHandle;
    const created = await fetch(`http://127.0.0.1:${gw.apiPort}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: '#' }),
    });
    const { location } = (await created.json()) as { location: string };
    const ws = new WebSocket(`${location}?stream_from_ordinal=5`);
    const messages: { ess_ordinal: number; message_type: string; message_body: unknown }[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await waitFor(() => messages.length >= 3, 10_000, 'the notice and the two events the log holds');
    ws.close();
    assert.equal(
      messages.map((m) => [m.ess_ordinal, m.message_type]),
      [
        [before - 1, 'archived'],
        [e1.position, 'entry'],
        [e2.position, 'exit'],
      ],
    );
    assert.equal(messages[0].message_body, { archived_before: before, files: [file], notice: notice.replace('positions 1 ', 'positions 5 ') });
  } finally {
    await app.stop();
  }
});

test.run();
