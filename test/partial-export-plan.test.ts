/**
 * Partial exports built from a recorded fixture in memory (fast; test/partial-export.test.ts records a run on real
 * PostgreSQL): what a range carries for a visit open across a restart, what the export's plan keeps, which outputs
 * after `--to` go along, and what the scripts say about an empty selection.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { replay, Replayer, type ExportedEvent } from '../adapters/engine/replay.ts';
import { partialExport, type ReadLog, type Selection } from '../adapters/process/partial-export.ts';
import { causeOf } from '../adapters/process/processor-contract.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { startTestApp } from './helpers.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'replay');
const tables = parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(DIR, 'store', f), 'utf8')])));
const deps = {
  catalogue: new CouponCatalogue(tables.coupons, tables.products, tables.couponProducts),
  customers: new Map(tables.customers.map((c) => [c.customer_id, c])),
  scorer: loadCouponModel(join(DIR, 'coupon-model.json')),
  settings: { maxCoupons: 5, threshold: 0.2, couponValidity: 'check' as const, idleTimeoutS: 7200 },
};
// a crash and a restart at 3687 (recommender_started) and 3689 (detector_started), with shoppers in the store
const crash: ExportedEvent[] = gunzipSync(readFileSync(join(DIR, 'crash-and-restart.ndjson.gz')))
  .toString()
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

/** An in-memory log read in pages, as the database's is. */
const reader = (log: ExportedEvent[]): ReadLog =>
  async function* (from, to) {
    const range = log.filter((e) => e.position >= from && e.position <= to);
    for (let i = 0; i < range.length; i += 500) yield range.slice(i, i + 500);
  };
async function exported(log: ExportedEvent[], s: Selection): Promise<ExportedEvent[]> {
  const out: ExportedEvent[] = [];
  for await (const e of partialExport(reader(log), s, deps.settings)) out.push(e);
  return out;
}

test('a range whose open visits began before a restart carries the starts they met, as context, and replays identical', async () => {
  // customer 134 entered at 3577, was offered coupon 148 at 3675 (a focus its detector made before the crash) and is
  // still in the store at 3700: without the first detector and recommender the offer is not made again in replay,
  // and 134's focus at 3743 is offered 148 a second time
  const range = await exported(crash, { from: 3700, to: 7374 });
  assert.equal(
    range.filter((e) => e.stream_id === 'process').map((e) => [e.position, e.type, e.context ?? false]),
    [
      [1, 'recommender_started', true],
      [2, 'detector_started', true],
      [3687, 'recommender_started', false],
      [3689, 'detector_started', false],
    ],
  );
  const r = await replay(range, deps);
  assert.equal(
    { inputs: r.inputs, recorded: r.recordedOutputs, identical: r.identical, different: r.different, missing: r.missing, extra: r.extra },
    { inputs: 3293, recorded: 382, identical: 382, different: 0, missing: 0, extra: 0 },
    JSON.stringify(r.firstDifference),
  );
  // every compared decision was made under a start the export carries
  assert.is(r.sources.settingsUnnamed, false);
});

test("the export's plan keeps no outputs: a replayer that does not compare holds none, whatever the log's length; one that compares, only what is unmatched", async () => {
  const compared = new Replayer(deps);
  const planned = new Replayer({ ...deps, compare: false });
  for (const e of crash) {
    await compared.feed(e);
    await planned.feed(e);
  }
  compared.stop();
  planned.stop();
  // a comparing replay holds only outputs still unmatched (none at the end of an identical replay); the plan none at all
  const c = compared.report(Date.now());
  assert.equal([c.recordedOutputs > 700, c.identical === c.recordedOutputs, compared.outputs.held], [true, true, 0]);
  assert.equal(
    [planned.outputs.held, planned.report(Date.now()).recordedOutputs, planned.inputs],
    [0, 0, crash.filter((e) => e.metadata.source !== 'output' && ['entry', 'exit', 'move', 'focus'].includes(e.type)).length],
  );
});

test("an output id is its cause's id, ':' and what it is; an id without ':' names no cause and is not taken along after --to", async () => {
  assert.equal(['rfINnL1G3jEkAeymkVDtwH:focus', 'rfINnL1G3jEkAeymkVDtwH:focus:prediction', 'rfINnL1G3jEkAeymkVDtwHx', ''].map(causeOf), [
    'rfINnL1G3jEkAeymkVDtwH',
    'rfINnL1G3jEkAeymkVDtwH',
    undefined,
    undefined,
  ]);
  // 3742 is the move that made 134's focus (3743) and its prediction (3744); a record whose id is that move's and one
  // character more is no output of it
  const stray: ExportedEvent = {
    ...crash[crash.length - 1],
    position: 7375,
    type: 'no_prediction',
    message_id: 'rfINnL1G3jEkAeymkVDtwHx',
    metadata: { source: 'output' },
  };
  const range = await exported([...crash, stray], { from: 3700, to: 3742 });
  assert.equal(
    range.filter((e) => e.position > 3742).map((e) => [e.position, e.type, e.message_id]),
    [
      [3743, 'focus', 'rfINnL1G3jEkAeymkVDtwH:focus'],
      [3744, 'prediction', 'rfINnL1G3jEkAeymkVDtwH:focus:prediction'],
    ],
  );
});

const script = (name: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });

test('an empty range is misuse (exit 2, one line), whether exported or replayed', () => {
  for (const name of ['export', 'replay']) {
    const r = script(name, ['--from', '10', '--to', '9']);
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr.split('\n')[0], `${name}: --from 10 is after --to 9: the range is empty`);
  }
});

test("--from beyond the log's head: nothing to export, nothing to replay (exit 1); a selection without inputs is warned of", async () => {
  const app = await startTestApp({ ROLES: 'recommender' });
  const dir = mkdtempSync(join(tmpdir(), 'partial-export-plan-'));
  try {
    const env = app.env as Record<string, string>;
    const head = Math.max(...(await app.eventLog.read()).map((e) => e.position));
    const beyond = String(head + 1000);
    const ex = script('export', [join(dir, 'none.ndjson'), '--from', beyond], env);
    assert.equal([ex.status, ex.stderr], [0, `export: nothing to export: --from ${beyond} is beyond the log's head (position ${head})\n`]);
    const re = script('replay', ['--from', beyond], env);
    assert.equal([re.status, re.stdout, re.stderr], [1, '', `replay: nothing to replay: --from ${beyond} is beyond the log's head (position ${head})\n`]);
    // the log holds the recommender's start and no input: an export and a replay that compare nothing say so
    const empty = script('export', [join(dir, 'empty.ndjson'), '--from', '1', '--to', String(head)], env);
    assert.is(empty.status, 0, empty.stderr);
    assert.match(empty.stderr, /^exported \d+ events\nexport: warning: the selection has no inputs: its replay compares nothing\n$/);
    const replayed = script('replay', [join(dir, 'empty.ndjson')], env);
    assert.is(replayed.status, 0, replayed.stdout + replayed.stderr);
    assert.match(
      replayed.stdout,
      /identical 0, different 0, missing 0, extra 0\nreplay: warning: the selection has no inputs: nothing was compared\nreplay: identical\n$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await app.close();
  }
});

test.run();
