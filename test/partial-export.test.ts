/**
 * Partial exports replay (issue 31): a recorded run — the simulator's shoppers through the live pipeline on real
 * PostgreSQL, then a customer whose session ends idle and who comes back — exported for one customer and for a range
 * of positions by `npm run export`, and replayed by `npm run replay` against the same store and model.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { startTestApp } from './helpers.ts';
import { loadStoreTables } from '../adapters/edges/cache-loader.ts';
import { simulateDay } from '../adapters/simulator/simulation.ts';
import { storeFromCsv } from '../adapters/process/replay-why.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { Output } from '../adapters/process/processor-contract.ts';
import type { EventKind } from '../schemas/events.ts';

const STORE = join(import.meta.dirname, 'fixtures', 'replay', 'store');
const script = (name: string, args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test('an export of one customer and of a range replay identical: the records in force, the visits open at --from, the idle ends', async () => {
  const app = await startTestApp({ ROLES: 'recommender,detector', PREDICTION_THRESHOLD: '0', SESSION_IDLE_TIMEOUT: '300' });
  const dir = mkdtempSync(join(tmpdir(), 'partial-export-'));
  try {
    const { customers } = storeFromCsv(STORE);
    await loadStoreTables(app.database.db, parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(STORE, f), 'utf8')]))));
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const profiles = [...customers.values()].map((c) => ({ customerId: String(c.customer_id), gender: c.gender as 'F' | 'M', age: c.age }));
    const day = simulateDay({ seed: 31, customers: profiles, from: '2025-06-02T10:00:00Z', hours: 0.25, averageInStore: 8 }).events;
    const work: Promise<Output[]>[] = [];
    const ingest = async (kind: EventKind, body: object) => {
      const r = await app.pipeline.ingest(kind, JSON.stringify(body), { source: 'mqtt', topic: app.pipeline.topicFor(kind) });
      if (r.status === 'accepted') work.push(r.outputs);
    };
    for (const e of day) {
      const ts = Math.floor(e.at / 1000);
      await ingest(e.kind === 'move' ? 'move' : e.kind === 'exit' ? 'exit' : 'entry', e.kind === 'move' ? { id: e.id, ts, x: e.x, y: e.y } : { id: e.id, ts });
    }
    // customer 7 focuses on Men and stays quiet; others' inputs move event time 400 s on (idle timeout 300 s): the
    // session ends idle, and 7's next focus opens a new visit, which offers the same coupon again
    const T = Math.floor(Math.max(...day.map((e) => e.at)) / 1000) + 10;
    await ingest('focus', { id: '7', ts: T, dep: 'Men' });
    await ingest('entry', { id: '8', ts: T + 400 });
    await ingest('entry', { id: '9', ts: T + 401 });
    await ingest('focus', { id: '7', ts: T + 500, dep: 'Men' });
    await Promise.all(work);
    const offered = (await app.eventLog.read({ streamId: 'customer-7', types: ['prediction'] })).map((e) => (e.data as { coupon: { id: number } }).coupon.id);
    assert.is(offered.length, 2);
    assert.is(offered[0], offered[1], 'the visit after the idle end offers the same coupon again');
    const head = Math.max(...(await app.eventLog.read()).map((e) => e.position));

    const env = app.env as Record<string, string>;
    const exported = (file: string, args: string[]) => {
      const r = script('export', [join(dir, file), ...args], env);
      assert.is(r.status, 0, r.stderr);
      return lines(join(dir, file));
    };
    const replayed = (file: string) => script('replay', [join(dir, file)], env);

    // one customer: the records in force, the customer's stream, the idle end that closed the first visit
    const one = exported('customer-7.ndjson', ['--customer', '7']);
    assert.equal(
      one.filter((e) => e.stream_id !== 'customer-7').map((e) => e.type),
      ['partial_export', 'recommender_started', 'detector_started', 'catalogue_loaded'],
    );
    assert.equal(
      one.filter((e) => e.stream_id === 'customer-7').map((e) => e.type),
      ['focus', 'prediction', 'idle_end', 'focus', 'prediction'],
    );
    assert.equal(one.find((e) => e.type === 'idle_end').data, { id: '7', ts: T + 400, of: 'session' });
    const r1 = replayed('customer-7.ndjson');
    assert.is(r1.status, 0, r1.stdout + r1.stderr);
    assert.match(r1.stdout, /replay: 2 inputs, 2 recorded outputs, 2 replayed outputs in \d+ ms/);
    assert.match(r1.stdout, /identical 2, different 0, missing 0, extra 0\nreplay: identical\n$/);
    // without its idle end the replay keeps the first visit open: the coupon counts as offered, the decision differs
    writeFileSync(
      join(dir, 'no-idle-end.ndjson'),
      `${one
        .filter((e) => e.type !== 'idle_end')
        .map((e) => JSON.stringify(e))
        .join('\n')}\n`,
    );
    const r2 = replayed('no-idle-end.ndjson');
    assert.is(r2.status, 1, r2.stdout);
    assert.match(r2.stdout, /different 1, missing 0, extra 0/);

    // a range from the middle of the run: visits open at --from come along as context, replayed and not compared
    const from = Math.floor(head / 3),
      to = Math.floor((2 * head) / 3);
    const range = exported('range.ndjson', ['--from', String(from), '--to', String(to)]);
    const context = range.filter((e) => e.context);
    assert.ok(context.length > 0 && context.every((e) => e.position < from), 'the open visits before --from, as context');
    assert.ok(range.filter((e) => !e.context && e.stream_id !== 'process' && e.type !== 'partial_export').every((e) => e.position >= from));
    const r3 = replayed('range.ndjson');
    assert.is(r3.status, 0, r3.stdout + r3.stderr);
    assert.match(r3.stdout, /identical [1-9]\d*, different 0, missing 0, extra 0\nreplay: identical\n$/);
    // the same range replayed from the database's log: the same records, read the same way
    const r4 = script('replay', ['--from', String(from), '--to', String(to)], env);
    assert.is(r4.status, 0, r4.stdout + r4.stderr);
    assert.is(r4.stdout.split('\n')[1], r3.stdout.split('\n')[1]);
    assert.match(r4.stdout, /\nreplay: identical\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await app.close();
  }
});

test.run();
