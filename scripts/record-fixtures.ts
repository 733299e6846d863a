/**
 * `npm run record-fixtures`: re-records the replay fixtures in test/fixtures/replay/ by running the
 * live pipeline (recommender + detector, real PostgreSQL, no broker) over deterministic inputs and
 * exporting its log. Run it when a machine changes behaviour on purpose, then review the diff
 * (`git diff --stat test/fixtures/replay`, and `npm run replay` on the old file shows the first change).
 * `--only NAME` records one fixture with the fixtures' own store and model, leaving the others as they are (the four
 * first ones are also the logs recorded before logs named their model and store data: replay must read them as they are;
 * every-type is the log written by the code that first stored schema versions: a later version's readers must replay it
 * as it is, so a change of an event's shape never re-records it, docs/event-versions.md).
 */
import { must } from '../actors/kernel/must.ts';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createLogger, silentLogger } from '../adapters/process/logger.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported, type ExportedEvent } from '../actors/kernel/event-log.ts';
import { startEmbeddedPostgres } from '../adapters/edges/embedded-postgres.ts';
import { startStoreflow, type Storeflow } from '../adapters/process/app.ts';
import { connectDatabase, migrate, sql } from '../adapters/edges/database.ts';
import { loadStoreTables } from '../adapters/edges/cache-loader.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { DEFAULT_MODEL_FILE } from '../actors/recommender/coupon-scorer.ts';
import { formatStoreCsv } from '../actors/data/store-csv-writer.ts';
import { CSV_FILES, parseStoreCsv, type StoreTables } from '../actors/data/store-csv.ts';
import { simulateDay } from '../adapters/simulator/simulation.ts';
import { inputId } from '../adapters/process/processor-contract.ts';
import { configFrom } from '../schemas/env.ts';
import type { EventKind } from '../schemas/events.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { cli } from './cli.ts';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'replay');
export const FIXTURE_STORE = { seed: 7, customers: 200, products: 600, from: '2025-01-01', days: 730 };
const log = createLogger({ level: 'warn' });

type Input = { kind: EventKind; payload: string };

/** The store the fixtures are recorded with: generated afresh for a full re-record, the committed one for --only. */
let store: StoreTables = generateStore(FIXTURE_STORE);
const profiles = () => store.customers.map((c) => ({ customerId: String(c.customer_id), gender: c.gender as 'F' | 'M', age: c.age }));
const day = (seed: number, from: string, hours: number, averageInStore: number): Input[] =>
  simulateDay({ seed, customers: profiles(), from, hours, averageInStore }).events.map((e) => ({
    kind: e.kind === 'move' ? 'move' : e.kind === 'exit' ? 'exit' : 'entry',
    payload: JSON.stringify(e.kind === 'move' ? { id: e.id, ts: Math.floor(e.at / 1000), x: e.x, y: e.y } : { id: e.id, ts: Math.floor(e.at / 1000) }),
  }));

const TS = Date.parse('2025-06-03T10:00:00Z') / 1000;
const malformed: Input[] = [
  { kind: 'entry', payload: JSON.stringify({ id: '1', ts: TS }) },
  { kind: 'focus', payload: '{"id": "1", "ts": ' },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: 'noon', dep: 'Men' }) },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: TS + 5, dep: 'Garden' }) },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: TS + 6, dep: 'Men', pad: 'x'.repeat(70_000) }) },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: TS + 7, dep: 'Men' }) },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: TS + 7, dep: 'Men' }) }, // a duplicate
  { kind: 'focus', payload: JSON.stringify({ id: '9999', ts: TS + 8, dep: 'Women' }) }, // unknown customer
  { kind: 'move', payload: JSON.stringify({ id: '1', ts: TS + 9, x: 'left', y: 3 }) },
  {
    kind: 'focus',
    payload: JSON.stringify({ event_type: 'customer focus', event_timestamp: '2025-06-03T10:00:10+02:00', payload: { customer_id: 2, department_id: 3 } }),
  },
  { kind: 'focus', payload: JSON.stringify({ id: 2, ts: TS + 11, dep: "boy's" }) },
  { kind: 'exit', payload: JSON.stringify({ id: '1', ts: TS + 12 }) },
  { kind: 'focus', payload: JSON.stringify({ id: '1', ts: TS + 13, dep: 'Sports' }) }, // after exit: a new visit
];

/** One run of the pipeline: its inputs, a crash at its end, what is done over HTTP after them (a dashboard's mark). */
type Part = { inputs: Input[]; crashAfter?: boolean; afterwards?: (app: Storeflow) => Promise<void> };

async function record(name: string, parts: Part[], databaseUrl: string) {
  const schema = `fixture_${name.replace(/-/g, '_')}_${process.pid}`;
  const env = {
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    TESTING_NO_MQTT: 'true',
    ROLES: 'recommender,detector',
    PORT: '0',
    AUTO_SEED: 'false',
    LOG_LEVEL: 'warn',
    // the fixtures' own model (a full re-record copies the committed one there first)
    MODEL_FILE: join(FIXTURE_DIR, 'coupon-model.json'),
    ...FIXTURE_ENV[name],
  };
  const config = configFrom(env);
  const db = await connectDatabase(databaseUrl, schema, log);
  await migrate(db.db, log);
  await loadStoreTables(db.db, store);
  let app: Storeflow | undefined;
  try {
    for (const part of parts) {
      app = await startStoreflow(config, log, { port: 0, webDir: false });
      await (app.roles.get('recommender') as RecommenderHandle).reload();
      for (const i of part.inputs) await app.pipeline.ingest(i.kind, i.payload, { source: 'mqtt', topic: app.pipeline.topicFor(i.kind) });
      await part.afterwards?.(app);
      if (part.crashAfter) {
        // a crash between "append" and "act": the input is in the log, no actor saw it
        const payload = JSON.stringify({ id: '3', ts: TS + 100, dep: 'Women' });
        const topic = app.pipeline.topicFor('focus');
        await app.eventLog.append([
          { streamId: 'customer-3', type: 'focus', data: JSON.parse(payload), messageId: inputId(topic, payload), metadata: { source: 'mqtt', topic } },
        ]);
      }
      await new Promise((r) => setTimeout(r, 300));
      await app.stop();
      app = undefined;
    }
    const rows: ExportedEvent[] = [];
    for await (const page of new PostgresEventLog(db.db, { log: silentLogger }).pages()) rows.push(...page.map(toExported));
    const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    writeFileSync(join(FIXTURE_DIR, `${name}.ndjson.gz`), gzipSync(text, { level: 9 }));
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.type] = (counts[r.type] ?? 0) + 1;
    console.log(`${name}: ${rows.length} log entries`, counts);
  } finally {
    await app?.stop();
    await db.db.query(sql`DROP SCHEMA ${sql.ident(schema)} CASCADE`);
    await db.close();
  }
}

/**
 * Every type of event this code logs, in a few hundred events (docs/event-versions.md): shoppers walking (moves, the
 * detector's focuses and browsing), a customer's own focuses (with exploration on: decisions of every policy), a
 * redemption, a browsing alert marked helped on the dashboard, an unknown customer, a rejected input, a reload and a
 * restart. Recorded by the code that first stored schema versions: every later version must replay it identically.
 */
function everyType(): Part[] {
  const ts = Date.parse('2025-06-05T10:00:00Z') / 1000;
  const walk = day(15, '2025-06-05T10:00:00Z', 0.25, 2);
  const half = Math.floor(walk.length / 2);
  const at = (kind: EventKind, body: object): Input => ({ kind, payload: JSON.stringify(body) });
  const own: Input[] = [
    at('entry', { id: '7', ts: ts + 60 }),
    ...['Men', 'Women', 'Boys', 'Girls', 'Sport', 'Men'].map((dep, i) => at('focus', { id: '7', ts: ts + 70 + i * 10, dep })),
    at('redemption', { id: '7', ts: ts + 140, coupon_id: store.coupons[0].coupon_id, amount: 12.5 }),
    at('browsing', { id: '8', ts: ts + 150, x: 300, y: 300 }),
    at('focus', { id: '9999', ts: ts + 160, dep: 'Women' }), // an unknown customer
    { kind: 'focus', payload: '{"id": "7", "ts": ' }, // rejected
    at('exit', { id: '7', ts: ts + 170 }),
  ];
  const helped = async (app: Storeflow) => {
    const r = await app.http.inject({ method: 'POST', url: '/dashboard/helped', payload: { customer_id: '8' } });
    if (r.statusCode !== 201) throw new Error(`the dashboard's helped mark: ${r.statusCode} ${r.body}`);
  };
  return [{ inputs: [...walk.slice(0, half), ...own], afterwards: helped }, { inputs: walk.slice(half) }];
}

/** A fixture's own settings: every-type runs the gateway too (the dashboard's routes) and explores. */
const FIXTURE_ENV: Record<string, Record<string, string>> = {
  'every-type': { ROLES: 'recommender,detector,gateway', STREAM_PORT: '0', STREAM_API_PORT: '0', EXPLORATION_RATE: '0.3' },
};

const FIXTURES: Record<string, () => Part[]> = {
  'quiet-day': () => [{ inputs: day(11, '2025-06-02T08:00:00Z', 8, 3) }],
  'busy-hour': () => [{ inputs: day(12, '2025-06-02T17:00:00Z', 1, 30) }],
  'malformed-inputs': () => [{ inputs: malformed }],
  'crash-and-restart': () => {
    const visit = day(13, '2025-06-03T09:00:00Z', 1, 8);
    const half = Math.floor(visit.length / 2);
    return [{ inputs: visit.slice(0, half), crashAfter: true }, { inputs: visit.slice(half) }];
  },
  // recorded after logs named their model, catalogue and customer table (docs/replay-provenance.md)
  'named-sources': () => [{ inputs: day(14, '2025-06-04T11:00:00Z', 1, 6) }],
  'every-type': everyType,
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, fail } = cli({
    usage: 'npm run record-fixtures -- [--only NAME]',
    summary:
      'Re-records the replay fixtures in test/fixtures/replay/ from the live pipeline (DATABASE_URL, else an embedded PostgreSQL). Review the diff afterwards.',
    options: {
      only: { type: 'string', arg: 'NAME', help: `one fixture (${Object.keys(FIXTURES).join(', ')}), with the fixtures' store and model as they are` },
    },
  });
  if (values.only !== undefined && !FIXTURES[values.only]) fail(`no fixture ${values.only}`);
  if (values.only !== undefined)
    store = parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(FIXTURE_DIR, 'store', f), 'utf8')])));
  else {
    mkdirSync(join(FIXTURE_DIR, 'store'), { recursive: true });
    for (const [file, text] of Object.entries(formatStoreCsv(store))) writeFileSync(join(FIXTURE_DIR, 'store', file), text);
    // the model the outputs are recorded with goes along (test/replay.test.ts scores with it)
    copyFileSync(DEFAULT_MODEL_FILE, join(FIXTURE_DIR, 'coupon-model.json'));
  }
  const pgDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'storeflow-fixtures-'));
  const pg = pgDir ? await startEmbeddedPostgres({ dataDir: pgDir, log }) : undefined;
  const url = process.env.DATABASE_URL ?? must(pg, 'the embedded PostgreSQL').url;
  try {
    for (const [name, parts] of Object.entries(FIXTURES)) if (values.only === undefined || values.only === name) await record(name, parts(), url);
  } finally {
    await pg?.stop();
    if (pgDir) rmSync(pgDir, { recursive: true, force: true });
  }
}
