/**
 * `npm run replay`: runs a log's inputs through fresh machines on a simulated clock (no broker, no
 * real time) and compares the outputs with the recorded ones. Exits 1 on any divergence.
 *   npm run replay -- LOG.ndjson[.gz] [--data CSV_DIR]         a file written by `npm run export` (or --file LOG)
 *   npm run replay -- [--from POSITION] [--to POSITION]       the database's log
 * The store (coupons, customers) comes from --data (CSVs in the original format) or the cache DB. When the replay cannot
 * reproduce the log, it says which of the model, catalogue, customer table and settings the log names is not its own,
 * and how to supply it (adapters/process/replay-why.ts).
 * npm starts it with a 64 MB young generation (--max-semi-space-size=64, package.json): every input makes short-lived
 * actor snapshots, and with the default 16 MB they were collected and promoted often enough to be a third of the time.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { settledHead } from '../adapters/edges/postgres-log-settled.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported } from '../actors/kernel/event-log.ts';
import { loadCatalogue, loadCustomers } from '../adapters/edges/cache-store.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';
import { replay, type ExportedEvent, type ReplayReport } from '../adapters/engine/replay.ts';
import { storeFromCsv, whyDiverged } from '../adapters/process/replay-why.ts';
import { isPartial, partialExport } from '../adapters/process/partial-export.ts';
import { archivedInForce, archivedMark } from '../adapters/edges/postgres-log-archived.ts';
import { archivedNotice } from '../actors/kernel/archived.ts';
import { DEFAULT_MODEL_FILE } from '../actors/recommender/coupon-scorer.ts';
import { cli } from './cli.ts';

const args = cli({
  usage: 'npm run replay -- [FILE] [--data CSV_DIR] [--from POSITION] [--to POSITION] [--model FILE]',
  summary:
    "Runs a log's inputs through fresh machines (no broker, no real time) and compares every output with the recorded one by id; exit 1 on any divergence.",
  positionals: { help: "FILE  an NDJSON log written by `npm run export` (.ndjson or .ndjson.gz); without it, the database's log", max: 1 },
  options: {
    file: { type: 'string', arg: 'FILE', help: 'the same as FILE' },
    data: { type: 'string', arg: 'CSV_DIR', help: "the store (CSVs in the original's format) instead of the cache DB" },
    from: { type: 'string', arg: 'POSITION', help: "first log position of the database's log (default 1)" },
    to: { type: 'string', arg: 'POSITION', help: 'last log position (default: the end)' },
    model: { type: 'string', arg: 'FILE', help: 'the coupon model to score with (default MODEL_FILE, else the committed model)' },
  },
});
if (args.positionals[0] && args.values.file) args.fail('the file is given twice (FILE and --file)');
const values = { ...args.values, file: args.positionals[0] ?? args.values.file };
if (values.file && (values.from || values.to)) args.fail("--from and --to select from the database's log, not from a file");
for (const [what, path] of [
  ['file', values.file],
  ['folder', values.data],
  ['model file', values.model],
] as const)
  if (path && !existsSync(path)) args.fail(`no such ${what}: ${path}`);
const fromPosition = args.int('from', 1, { min: 1 });
const toPosition = args.int('to', Number.MAX_SAFE_INTEGER, { min: 1 });
if (fromPosition > toPosition) args.fail(`--from ${fromPosition} is after --to ${toPosition}: the range is empty`);
const config = loadConfigOrExit();
const log = createLogger({ level: 'warn' });
const scorer = await inProcessScorer(values.model ?? config.recommender.modelFile);
const settings = {
  maxCoupons: config.recommender.maxCoupons,
  threshold: config.recommender.threshold,
  couponValidity: config.recommender.couponValidity,
  idleTimeoutS: config.recommender.idleTimeoutS,
};

async function* fromFile(file: string): AsyncIterable<ExportedEvent> {
  const input = file.endsWith('.gz') ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line.trim()) yield JSON.parse(line);
}

/** Any decision not reproduced, or a prediction whose published bytes this replay's catalogue cannot reproduce. */
const diverged = (r: ReplayReport) => r.different + r.missing + r.extra + r.otherCatalogues.length > 0;

function print(r: ReplayReport) {
  const rate = r.ms ? Math.round((r.inputs / r.ms) * 1000) : 0;
  console.log(`replay: ${r.inputs} inputs, ${r.recordedOutputs} recorded outputs, ${r.replayedOutputs} replayed outputs in ${r.ms} ms (${rate} inputs/s)`);
  console.log(`        identical ${r.identical}, different ${r.different}, missing ${r.missing}, extra ${r.extra}`);
  if (r.firstDifference)
    console.log(
      `first difference (${r.firstDifference.kind}) at output ${r.firstDifference.messageId}:\n  recorded: ${JSON.stringify(r.firstDifference.recorded)}\n  replayed: ${JSON.stringify(r.firstDifference.replayed)}`,
    );
  // a catalogue other than the one a prediction was rendered from: the bytes published then cannot be reproduced
  if (diverged(r))
    for (const why of whyDiverged(r, { modelFile: values.model ?? (config.recommender.modelFile || DEFAULT_MODEL_FILE), dataDir: values.data }))
      console.log(`why: ${why}`);
  // identical with nothing compared says nothing: an empty file, or a range of outputs and records only
  if (r.inputs === 0) console.log('replay: warning: the selection has no inputs: nothing was compared');
  console.log(diverged(r) ? 'replay: DIVERGED' : 'replay: identical');
}

let report: ReplayReport | undefined;
/** Why there is nothing to replay (a range past the log's head). */
let nothing: string | undefined;
try {
  if (values.file && values.data) {
    report = await replay(fromFile(values.file), { ...storeFromCsv(values.data), scorer, settings });
  } else {
    report = await withScriptDatabase(config, log, async ({ db }) => {
      const store = values.data ? storeFromCsv(values.data) : { catalogue: await loadCatalogue(db), customers: await loadCustomers(db) };
      if (values.file) return replay(fromFile(values.file), { ...store, scorer, settings });
      const eventLog = new PostgresEventLog(db, { log });
      const head = await settledHead(db);
      if (fromPosition > head) {
        nothing = `--from ${fromPosition} is beyond the log's head (position ${head})`;
        return undefined;
      }
      // positions below the last archive's cut are in its files: said, and the records in force there lead the replay
      const notice = archivedNotice(await archivedMark(db), fromPosition);
      if (notice) process.stderr.write(`replay: ${notice}\n`);
      const inForce = await archivedInForce(db);
      async function* read(from: number, to: number): AsyncIterable<ExportedEvent[]> {
        const before = inForce.filter((e) => e.position >= from && e.position <= to);
        if (before.length) yield before;
        for await (const page of eventLog.pages({ fromPosition: from, toPosition: to })) yield page.map(toExported);
      }
      async function* records(pages: AsyncIterable<ExportedEvent[]>): AsyncIterable<ExportedEvent> {
        for await (const page of pages) yield* page;
      }
      // a range of the log is replayed as its export would be: with what its replay needs (partial-export.ts)
      const selection = { from: fromPosition, to: toPosition };
      const logged = isPartial(selection) ? partialExport(read, selection, settings) : records(read(fromPosition, toPosition));
      return replay(logged, { ...store, scorer, settings });
    });
  }
} catch (err) {
  // an unreadable log or store is one line, never a stack trace
  process.stderr.write(
    `replay: ${values.file ? `could not replay ${values.file}` : "could not replay the database's log"}: ${(err as Error)?.message ?? err}\n`,
  );
  process.exit(1);
}
if (!report) {
  process.stderr.write(`replay: nothing to replay: ${nothing}\n`);
  process.exit(1);
}
print(report);
process.exit(diverged(report) ? 1 : 0);
