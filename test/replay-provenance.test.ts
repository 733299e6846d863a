/**
 * Replay says why (issue 31): the log names the model, the catalogue, the customer table and the settings its decisions
 * were made with, and a replay that cannot reproduce it says which of them is not its own and how to supply it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTestApp } from './helpers.ts';
import { loadStoreTables } from '../adapters/edges/cache-loader.ts';
import { storeFromCsv } from '../adapters/process/replay-why.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { customerTableVersion } from '../actors/data/customer-table.ts';
import { DEFAULT_MODEL_FILE, loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';

const DIR = 'test/fixtures/replay';
const FIXTURE_MODEL = `${DIR}/coupon-model.json`;
const COMMITTED_MODEL = 'actors/recommender/coupon-model.json';
const short = (v: string) => `${v.slice(0, 23)}…`;
const replay = (...args: string[]) => {
  const env = { ...process.env };
  delete env.MODEL_FILE;
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', ...args], { encoding: 'utf8', env });
};
const why = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('why: '));

test('a fixture replayed without --model says the model differs and names the file to pass; with it, identical', () => {
  const recorded = loadCouponModel(FIXTURE_MODEL).version;
  const committed = loadCouponModel(DEFAULT_MODEL_FILE).version;
  assert.is.not(recorded, committed, 'the fixtures were recorded with another model than the committed one');
  const without = replay(`${DIR}/named-sources.ndjson.gz`, '--data', `${DIR}/store`);
  assert.is(without.status, 1, without.stdout + without.stderr);
  assert.equal(why(without.stdout), [
    `why: the model differs: the log was decided with model ${short(recorded)}, this replay scores with ${short(committed)} (${COMMITTED_MODEL}) — pass --model ${FIXTURE_MODEL}`,
  ]);
  assert.match(without.stdout, /\nreplay: DIVERGED\n$/);
  const with_ = replay(`${DIR}/named-sources.ndjson.gz`, '--data', `${DIR}/store`, '--model', FIXTURE_MODEL);
  assert.is(with_.status, 0, with_.stdout + with_.stderr);
  assert.equal(why(with_.stdout), []);
  assert.match(with_.stdout, /identical \d+, different 0, missing 0, extra 0\nreplay: identical\n$/);
});

test('another store: the catalogue and the customer table differ, and the folder that holds the recorded ones is named', () => {
  const other = storeFromCsv('test/fixtures/store-csv/valid');
  const recorded = storeFromCsv(`${DIR}/store`);
  const r = replay(`${DIR}/named-sources.ndjson.gz`, '--data', 'test/fixtures/store-csv/valid', '--model', FIXTURE_MODEL);
  assert.is(r.status, 1, r.stdout + r.stderr);
  const how = `pass --data ${DIR}/store`;
  assert.equal(why(r.stdout), [
    `why: the catalogue differs: the log rendered its coupons from catalogue ${recorded.catalogue.version}, this replay's (test/fixtures/store-csv/valid) is ${other.catalogue.version} — ${how}`,
    `why: the store data differs: the log's decisions read customer table ${short(customerTableVersion(recorded.customers.values()))}, this replay's (test/fixtures/store-csv/valid) is ${short(customerTableVersion(other.customers.values()))} — ${how}`,
  ]);
});

test('a log recorded before logs named their model replays as before; when it differs, replay says the model is not named and lists the known ones', () => {
  const r = replay(`${DIR}/quiet-day.ndjson.gz`, '--data', `${DIR}/store`);
  assert.is(r.status, 1, r.stdout + r.stderr);
  const [line, ...rest] = why(r.stdout);
  assert.equal(rest, []);
  assert.ok(
    line.startsWith(
      `why: the model is not named: the log was recorded before logs named their model; this replay scores with ${COMMITTED_MODEL} — if the log was decided with another, pass --model FILE (known: `,
    ),
    line,
  );
  assert.ok(line.includes(`${FIXTURE_MODEL} ${short(loadCouponModel(FIXTURE_MODEL).version)}`), line);
  const same = replay(`${DIR}/quiet-day.ndjson.gz`, '--data', `${DIR}/store`, '--model', FIXTURE_MODEL);
  assert.is(same.status, 0, same.stdout);
  assert.match(same.stdout, /identical \d+, different 0, missing 0, extra 0\nreplay: identical\n$/);
});

test('the log names the model, the catalogue, the customer table and the settings at start and at each /reload', async () => {
  const app = await startTestApp({ ROLES: 'recommender' });
  try {
    const files = Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(DIR, 'store', f), 'utf8')]));
    await loadStoreTables(app.database.db, parseStoreCsv(files));
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const records = (await app.eventLog.read({ streamId: 'process' })).map((e) => [e.type, e.data]);
    const model = loadCouponModel(app.config.recommender.modelFile || DEFAULT_MODEL_FILE).version;
    const store = storeFromCsv(`${DIR}/store`);
    const rc = app.config.recommender;
    assert.equal(records, [
      [
        'recommender_started',
        {
          settings: { maxCoupons: rc.maxCoupons, threshold: rc.threshold, couponValidity: rc.couponValidity, idleTimeoutS: rc.idleTimeoutS },
          scorer: 'in-process',
          model,
          coupons: 0,
          catalogue: new CouponCatalogue([], [], []).version,
          customers: 0,
          customerTable: customerTableVersion([]),
        },
      ],
      // the rows read back from PostgreSQL hash as the CSVs they were loaded from
      [
        'catalogue_loaded',
        { coupons: store.catalogue.size, catalogue: store.catalogue.version, customers: 200, customerTable: customerTableVersion(store.customers.values()) },
      ],
    ]);
  } finally {
    await app.close();
  }
});

test.run();
