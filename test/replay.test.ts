/**
 * Recorded logs (test/fixtures/replay, recorded by `npm run record-fixtures` from the live pipeline)
 * replayed through fresh machines: the outputs must be identical to the recorded ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { replay, type ExportedEvent } from '../adapters/replay.ts';
import { CouponCatalogue } from '../actors/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/store-csv.ts';
import { loadCouponModel } from '../actors/coupon-scorer.ts';
import { startTestApp, waitFor } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'replay');
const read = (f: string) => readFileSync(join(DIR, 'store', f), 'utf8');
// the fixtures carry the model they were recorded with (scores are part of the recorded outputs), as they carry their store
const MODEL = join(DIR, 'coupon-model.json');
const tables = parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, read(f)])));
const deps = {
  catalogue: new CouponCatalogue(tables.coupons, tables.products, tables.couponProducts),
  customers: new Map(tables.customers.map((c) => [c.customer_id, c])),
  scorer: loadCouponModel(MODEL),
  settings: { maxCoupons: 5, threshold: 0.2, couponValidity: 'check' as const, idleTimeoutS: 7200 },
};
const load = (name: string): ExportedEvent[] => gunzipSync(readFileSync(join(DIR, `${name}.ndjson.gz`))).toString().trim().split('\n').map((l) => JSON.parse(l));

for (const [name, expect] of [
  ['quiet-day', ['prediction', 'no_prediction', 'focus', 'browsing']],
  ['busy-hour', ['prediction', 'no_prediction', 'focus', 'browsing']],
  ['malformed-inputs', ['prediction', 'no_prediction']],
  ['crash-and-restart', ['prediction', 'no_prediction', 'focus', 'browsing']],
] as const) {
  test(`replay of ${name}: identical outputs`, async () => {
    const log = load(name);
    const r = await replay(log, deps);
    assert.equal({ different: r.different, missing: r.missing, extra: r.extra }, { different: 0, missing: 0, extra: 0 }, JSON.stringify(r.firstDifference));
    assert.is(r.identical, r.recordedOutputs);
    for (const t of expect) assert.ok(log.some((e) => e.type === t && e.metadata.source === 'output'), `the fixture holds ${t} outputs`);
  });
}

test('the fixtures cover what they say: rejected inputs, a duplicate, an unknown customer, a restart with an undecided focus', () => {
  const bad = load('malformed-inputs');
  assert.is(bad.filter((e) => e.type === 'rejected').length, 5);
  assert.ok(bad.some((e) => e.type === 'no_prediction' && e.data.reason === 'unknown_customer'));
  assert.is(bad.filter((e) => e.type === 'focus' && e.data.ts === 1748944807).length, 1, 'the duplicate is logged once');
  const crash = load('crash-and-restart');
  assert.is(crash.filter((e) => e.type === 'recommender_started').length, 2);
  const undecided = crash.find((e) => e.type === 'focus' && e.data.id === '3' && e.metadata.source === 'mqtt' && e.data.ts === 1748944900)!;
  assert.ok(undecided, 'the focus logged just before the crash');
  assert.ok(crash.some((e) => e.message_id?.startsWith(`${undecided.message_id}:`) && e.position > undecided.position), 'decided after the restart');
});

test('a changed output is reported with the first difference, and the command exits 1', async () => {
  const log = load('malformed-inputs');
  const tampered = log.map((e) => (e.type === 'prediction' ? { ...e, data: { ...e.data, coupon: { ...e.data.coupon, id: 999999 } } } : e));
  const r = await replay(tampered, deps);
  assert.is(r.different, 1);
  assert.is(r.firstDifference?.kind, 'different');
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    writeFileSync(join(dir, 'bad.ndjson.gz'), gzipSync(tampered.map((e) => JSON.stringify(e)).join('\n')));
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', '--file', join(dir, 'bad.ndjson.gz'), '--data', join(DIR, 'store'), '--model', MODEL], { encoding: 'utf8' });
    assert.is(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /first difference \(different\)/);
    assert.match(bad.stdout, /replay: DIVERGED/);
    const good = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', '--file', join(DIR, 'quiet-day.ndjson.gz'), '--data', join(DIR, 'store'), '--model', MODEL], { encoding: 'utf8' });
    assert.is(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /identical \d+, different 0, missing 0, extra 0/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('npm run export writes the log as NDJSON, and replay reads it back from the database or the file', async () => {
  const app = await startTestApp({ ROLES: 'recommender,detector', PREDICTION_THRESHOLD: '0' });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    for (const [i, [x, y]] of [[700, 700], [705, 702], [710, 700], [712, 705]].entries())
      await app.http.inject({ method: 'POST', url: '/mock_entry', payload: { id: '1', ts: SMALL_STORE.ts } }).then(() => app.pipeline.ingest('move', JSON.stringify({ id: '1', ts: SMALL_STORE.ts + i + 1, x, y }), { source: 'mqtt' }));
    await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 1, 10_000, 'the prediction logged');
    const env = { ...process.env, ...app.env } as Record<string, string>;
    const exported = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/export.ts', '--customer', '1'], { env, encoding: 'utf8' });
    assert.is(exported.status, 0, exported.stderr);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.every((l) => l.stream_id === 'customer-1'));
    assert.equal([...new Set(lines.map((l) => l.type))].sort(), ['entry', 'focus', 'move', 'prediction']);
    const fromDb = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], { env, encoding: 'utf8' });
    assert.is(fromDb.status, 0, fromDb.stdout + fromDb.stderr);
    assert.match(fromDb.stdout, /identical 2, different 0, missing 0, extra 0/);
  } finally { await app.close(); }
});

test.run();
