/**
 * `npm run replay`: runs a log's inputs through fresh machines on a simulated clock (no broker, no
 * real time) and compares the outputs with the recorded ones. Exits 1 on any divergence.
 *   npm run replay -- --file LOG.ndjson[.gz] [--data CSV_DIR]  a file written by `npm run export`
 *   npm run replay -- [--from POSITION] [--to POSITION]       the database's log
 * The store (coupons, customers) comes from --data (CSVs in the original format) or the cache DB.
 */
import { createReadStream, readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported } from '../actors/kernel/event-log.ts';
import { loadCatalogue, loadCustomers } from '../adapters/edges/cache-store.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';
import { replay, type ExportedEvent, type ReplayReport, type ReplayDeps } from '../adapters/process/replay.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES, PRODUCTS_ALIAS } from '../actors/data/store-csv.ts';

const { values } = parseArgs({ options: { file: { type: 'string' }, data: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, model: { type: 'string' } } });
const config = loadConfigOrExit();
const log = createLogger({ level: 'warn' });
const scorer = await inProcessScorer(values.model ?? config.recommender.modelFile);
const settings = { maxCoupons: config.recommender.maxCoupons, threshold: config.recommender.threshold, couponValidity: config.recommender.couponValidity, idleTimeoutS: config.recommender.idleTimeoutS };

export function storeFromCsv(dir: string): Pick<ReplayDeps, 'catalogue' | 'customers'> {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);
  const t = parseStoreCsv({ [CSV_FILES.customers]: read(CSV_FILES.customers), [CSV_FILES.coupons]: read(CSV_FILES.coupons), [CSV_FILES.couponProducts]: read(CSV_FILES.couponProducts), [CSV_FILES.products]: read(CSV_FILES.products) ?? read(PRODUCTS_ALIAS) });
  return { catalogue: new CouponCatalogue(t.coupons, t.products, t.couponProducts), customers: new Map(t.customers.map((c) => [c.customer_id, c])) };
}

async function* fromFile(file: string): AsyncIterable<ExportedEvent> {
  const input = file.endsWith('.gz') ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) if (line.trim()) yield JSON.parse(line);
}

function print(r: ReplayReport) {
  const rate = r.ms ? Math.round((r.inputs / r.ms) * 1000) : 0;
  console.log(`replay: ${r.inputs} inputs, ${r.recordedOutputs} recorded outputs, ${r.replayedOutputs} replayed outputs in ${r.ms} ms (${rate} inputs/s)`);
  console.log(`        identical ${r.identical}, different ${r.different}, missing ${r.missing}, extra ${r.extra}`);
  if (r.firstDifference) console.log(`first difference (${r.firstDifference.kind}) at output ${r.firstDifference.messageId}:\n  recorded: ${JSON.stringify(r.firstDifference.recorded)}\n  replayed: ${JSON.stringify(r.firstDifference.replayed)}`);
  console.log(r.different + r.missing + r.extra === 0 ? 'replay: identical' : 'replay: DIVERGED');
}

let report: ReplayReport;
if (values.file && values.data) {
  report = await replay(fromFile(values.file), { ...storeFromCsv(values.data), scorer, settings });
} else {
  report = await withScriptDatabase(config, log, async ({ db }) => {
    const store = values.data ? storeFromCsv(values.data) : { catalogue: await loadCatalogue(db), customers: await loadCustomers(db) };
    if (values.file) return replay(fromFile(values.file), { ...store, scorer, settings });
    const from = Number(values.from ?? 1), to = values.to === undefined ? Number.MAX_SAFE_INTEGER : Number(values.to);
    const eventLog = new PostgresEventLog(db, { log });
    async function* fromDb(): AsyncIterable<ExportedEvent> {
      for await (const page of eventLog.pages({ fromPosition: from, toPosition: to })) yield* page.map(toExported);
    }
    return replay(fromDb(), { ...store, scorer, settings });
  });
}
print(report);
process.exit(report.different + report.missing + report.extra === 0 ? 0 : 1);
