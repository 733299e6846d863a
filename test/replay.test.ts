/**
 * Recorded logs (test/fixtures/replay, recorded by `npm run record-fixtures` from the live pipeline)
 * replayed through fresh machines: the outputs must be identical to the recorded ones.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { replay, Replayer, canonical, sameJson, type ExportedEvent } from '../adapters/engine/replay.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { startTestApp, waitFor } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { Output } from '../adapters/process/processor-contract.ts';
import { RedemptionLog } from '../adapters/recommender/redemptions.ts';
import { loadCatalogue, loadCustomers } from '../adapters/edges/cache-store.ts';
import { toExported } from '../actors/kernel/event-log.ts';
import { EVENT_VERSIONS } from '../actors/kernel/upcasters.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';

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
const load = (name: string): ExportedEvent[] =>
  gunzipSync(readFileSync(join(DIR, `${name}.ndjson.gz`)))
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

for (const [name, expect] of [
  ['quiet-day', ['prediction', 'no_prediction', 'focus', 'browsing']],
  ['busy-hour', ['prediction', 'no_prediction', 'focus', 'browsing']],
  ['malformed-inputs', ['prediction', 'no_prediction']],
  ['crash-and-restart', ['prediction', 'no_prediction', 'focus', 'browsing']],
  // written by the code that first stored schema versions: every later version must replay it identically
  ['every-type', ['prediction', 'no_prediction', 'focus', 'browsing']],
] as const) {
  test(`replay of ${name}: the processors produce exactly the recorded outputs`, async () => {
    const log = load(name);
    const made: Output[] = [];
    const replayer = new Replayer({ ...deps, onOutput: (o) => made.push(o) });
    for (const e of log) await replayer.feed(e);
    const r = replayer.report(Date.now());
    replayer.stop();
    assert.equal({ different: r.different, missing: r.missing, extra: r.extra }, { different: 0, missing: 0, extra: 0 }, JSON.stringify(r.firstDifference));
    // what the code produced, by type, is what the live run logged: the same outputs, of the kinds the fixture is for
    const byType = (types: string[]) => Object.fromEntries([...new Set(types)].sort().map((t) => [t, types.filter((x) => x === t).length]));
    const recorded = log.filter((e) => e.metadata.source === 'output' && e.message_id);
    const produced = byType(made.map((o) => o.type));
    assert.equal(produced, byType(recorded.map((e) => e.type)));
    assert.equal(Object.keys(produced), [...expect].sort());
    assert.equal(made.map((o) => o.messageId).sort(), recorded.map((e) => e.message_id).sort());
    // compared as they came: nothing is held once every output met its record
    assert.is(replayer.outputs.held, 0);
  });
}

test('the fixtures cover what they say: rejected inputs, a duplicate, an unknown customer, a restart with an undecided focus', () => {
  const bad = load('malformed-inputs');
  assert.is(bad.filter((e) => e.type === 'rejected').length, 5);
  assert.ok(bad.some((e) => e.type === 'no_prediction' && e.data.reason === 'unknown_customer'));
  assert.is(bad.filter((e) => e.type === 'focus' && e.data.ts === 1748944807).length, 1, 'the duplicate is logged once');
  const crash = load('crash-and-restart');
  assert.is(crash.filter((e) => e.type === 'recommender_started').length, 2);
  const undecided = must(
    crash.find((e) => e.type === 'focus' && e.data.id === '3' && e.metadata.source === 'mqtt' && e.data.ts === 1748944900),
    'crash.find((e) => e.type === "focus" && e.data.id === "3"...',
  );
  assert.ok(undecided, 'the focus logged just before the crash');
  assert.ok(
    crash.some((e) => e.message_id?.startsWith(`${undecided.message_id}:`) && e.position > undecided.position),
    'decided after the restart',
  );
});

test('every-type holds every type the code logs, each line with the schema version it was written in (docs/event-versions.md)', () => {
  const log = load('every-type');
  const exportOnly = ['partial_export', 'idle_end'];
  assert.equal(
    [...new Set(log.map((e) => e.type))].sort(),
    Object.keys(EVENT_VERSIONS)
      .filter((t) => !exportOnly.includes(t))
      .sort(),
  );
  assert.equal(
    log.filter((e) => e.schema_version !== EVENT_VERSIONS[e.type]),
    [],
  );
  // decisions of every policy, a start after a restart, the dashboard's mark, a redemption and a rejected input
  const decisions = log.filter((e) => e.type === 'prediction' || e.type === 'no_prediction');
  assert.equal([...new Set(decisions.map((e) => e.data.policy))].sort(), ['exploration', 'model']);
  assert.is(log.filter((e) => e.type === 'recommender_started').length, 2);
  assert.ok(log.length < 500, `small (${log.length} events)`);
});

test('outputs compare as JSON, key order aside: an absent key is an undefined one, NaN is null, anything else differs', () => {
  const pairs: [unknown, unknown][] = [
    [
      { a: 1, b: { c: [1, { d: 'x' }] } },
      { b: { c: [1, { d: 'x' }] }, a: 1 },
    ],
    [{ a: 1, detail: undefined }, { a: 1 }],
    [{ score: Number.NaN }, { score: null }],
    [{ a: 1 }, { a: 2 }],
    [{ a: [1, 2] }, { a: [2, 1] }],
    [{ a: '1' }, { a: 1 }],
    [{ a: { b: 1 } }, { a: { b: 1, c: 0 } }],
    [{ a: null }, { a: {} }],
  ];
  assert.equal(
    pairs.map(([x, y]) => [sameJson(x, y), sameJson(y, x)]),
    [
      [true, true],
      [true, true],
      [true, true],
      [false, false],
      [false, false],
      [false, false],
      [false, false],
      [false, false],
    ],
  );
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
    const bad = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/replay.ts', '--file', join(dir, 'bad.ndjson.gz'), '--data', join(DIR, 'store'), '--model', MODEL],
      { encoding: 'utf8' },
    );
    assert.is(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /first difference \(different\)/);
    assert.match(bad.stdout, /replay: DIVERGED/);
    const good = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/replay.ts', '--file', join(DIR, 'quiet-day.ndjson.gz'), '--data', join(DIR, 'store'), '--model', MODEL],
      { encoding: 'utf8' },
    );
    assert.is(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /identical \d+, different 0, missing 0, extra 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run export writes the log as NDJSON, and replay reads it back from the database or the file', async () => {
  const app = await startTestApp({ ROLES: 'recommender,detector', PREDICTION_THRESHOLD: '0' });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    for (const [i, [x, y]] of [
      [700, 700],
      [705, 702],
      [710, 700],
      [712, 705],
    ].entries())
      await app.http
        .inject({ method: 'POST', url: '/mock_entry', payload: { id: '1', ts: SMALL_STORE.ts } })
        .then(() => app.pipeline.ingest('move', JSON.stringify({ id: '1', ts: SMALL_STORE.ts + i + 1, x, y }), { source: 'mqtt' }));
    await waitFor(async () => (await app.eventLog.read({ types: ['prediction'] })).length === 1, 10_000, 'the prediction logged');
    const env = { ...process.env, ...app.env } as Record<string, string>;
    const exported = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/export.ts', '--customer', '1'], { env, encoding: 'utf8' });
    assert.is(exported.status, 0, exported.stderr);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // one customer's stream, and what its replay needs besides (docs/replay-provenance.md)
    assert.equal(
      lines.filter((l) => l.stream_id !== 'customer-1').map((l) => l.type),
      ['partial_export', 'recommender_started', 'detector_started', 'catalogue_loaded'],
    );
    assert.equal([...new Set(lines.filter((l) => l.stream_id === 'customer-1').map((l) => l.type))].sort(), ['entry', 'focus', 'move', 'prediction']);
    // every line says the schema version of its data (docs/event-versions.md)
    assert.equal(
      lines.filter((l) => l.schema_version !== EVENT_VERSIONS[l.type]),
      [],
    );
    const fromDb = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], { env, encoding: 'utf8' });
    assert.is(fromDb.status, 0, fromDb.stdout + fromDb.stderr);
    assert.match(fromDb.stdout, /identical 2, different 0, missing 0, extra 0/);
    // the log names the catalogue its predictions were rendered from: at start, and again at the reload
    const loaded = await loadCatalogue(app.database.db);
    const named = (await app.eventLog.read({ streamId: 'process', types: ['recommender_started', 'catalogue_loaded'] })).map((e) => [
      e.type,
      (e.data as { catalogue: string }).catalogue,
    ]);
    assert.equal(named.at(-1), ['catalogue_loaded', loaded.version]);
    assert.is(named[0][0], 'recommender_started');
    assert.is(named[0][1].length, 16);
    // a replay whose catalogue is another says so, and fails: the coupons published may have differed
    const logged = (await app.eventLog.read()).map(toExported);
    const other = new CouponCatalogue([...tables.coupons].slice(1), tables.products, tables.couponProducts);
    const r = await replay(logged, { ...deps, catalogue: other, customers: await loadCustomers(app.database.db) });
    assert.equal(r.otherCatalogues, [loaded.version]);
    assert.equal((await replay(logged, { ...deps, catalogue: loaded, customers: await loadCustomers(app.database.db) })).otherCatalogues, []);
  } finally {
    await app.close();
  }
});

test('live runs and replays run the same engine: the logged records through a fresh replay give the live outputs', async () => {
  const app = await startTestApp({ ROLES: 'recommender,detector', PREDICTION_THRESHOLD: '0' });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    // (the redemption log decides nothing: no outputs, nothing for a replay to redo)
    assert.equal(
      app.pipeline.processors.map((p) => p.constructor.name),
      ['RecommenderProcessor', RedemptionLog.name, 'DetectorProcessor'],
    );
    const T = SMALL_STORE.ts;
    const post = (kind: 'entry' | 'move' | 'focus' | 'exit', body: object) =>
      app.pipeline.ingest(kind, JSON.stringify(body), { source: 'http' }).then((r) => (r.status === 'accepted' ? r.outputs : []));
    const work: unknown[] = [];
    for (const id of ['1', '2', '3']) work.push(await post('entry', { id, ts: T }));
    for (const [i, [x, y]] of [
      [700, 700],
      [705, 702],
      [710, 700],
      [500, 500],
      [505, 505],
      [510, 500],
    ].entries())
      work.push(await post('move', { id: '1', ts: T + 1 + i, x, y }));
    work.push(
      await post('focus', { id: '2', ts: T + 10, dep: 'Men' }),
      await post('focus', { id: '2', ts: T + 11, dep: 'Men' }),
      await post('focus', { id: '3', ts: T + 12, dep: 'Women' }),
      await post('exit', { id: '2', ts: T + 13 }),
    );
    await Promise.all(work);
    const log = await app.eventLog.read();
    const live = log.filter((e) => e.metadata.source === 'output').map((e) => [e.messageId, e.type, e.data]);
    assert.ok(live.length >= 6, `the live run decided and detected (${live.length} outputs)`);
    // the engine, fresh, over the log's records in log order (its starts say the settings and the detector's hand-off)
    const { catalogue, customers } = { catalogue: await loadCatalogue(app.database.db), customers: await loadCustomers(app.database.db) };
    const model = await inProcessScorer(app.config.recommender.modelFile);
    const replayed: unknown[] = [];
    const settings = { maxCoupons: 5, threshold: 0.5, couponValidity: 'check' as const, idleTimeoutS: 7200 };
    const engine = new Replayer({ catalogue, customers, scorer: model, settings, onOutput: (o) => replayed.push([o.messageId, o.type, o.data]) });
    for (const e of log) await engine.feed(toExported(e));
    engine.stop();
    assert.equal(replayed.map(canonical).sort(), live.map(canonical).sort());
  } finally {
    await app.close();
  }
});

test.run();
