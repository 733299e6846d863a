/**
 * `npm run export`: the event log (or a range, or one customer's stream) as NDJSON, the format
 * `npm run replay` reads. A range from a later position or one customer's stream also carries what its replay needs
 * (adapters/process/partial-export.ts).
 *   npm run export -- [--from POSITION] [--to POSITION] [--customer ID] [--out FILE]
 */
import { createWriteStream } from 'node:fs';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { settledHead } from '../adapters/edges/postgres-log-settled.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported, type ExportedEvent } from '../actors/kernel/event-log.ts';
import { isPartial, isSelectedInput, partialExport } from '../adapters/process/partial-export.ts';
import { archivedInForce, archivedMark } from '../adapters/edges/postgres-log-archived.ts';
import { archivedNotice } from '../actors/kernel/archived.ts';
import { cli } from './cli.ts';

const { values, positionals, fail, int } = cli({
  usage: 'npm run export -- [FILE] [--from POSITION] [--to POSITION] [--customer ID]',
  summary:
    "Writes the event log (or a range of it, or one customer's stream) as NDJSON, one entry per line: what `npm run replay` reads. A range from a later position or one customer's stream also carries what its replay needs: the settings, model and store data records in force, the visits open at --from (as context) and the idle ends that closed visits.",
  positionals: { help: 'FILE  where to write (default: stdout); the same as --out FILE', max: 1 },
  options: {
    from: { type: 'string', arg: 'POSITION', help: 'first log position (default 1)' },
    to: { type: 'string', arg: 'POSITION', help: 'last log position (default: the end)' },
    customer: { type: 'string', arg: 'ID', help: "only this customer's stream (customer-ID)" },
    out: { type: 'string', arg: 'FILE', help: 'where to write (default: stdout)' },
  },
});
if (positionals[0] && values.out) fail('the file is given twice (FILE and --out)');
const outFile = positionals[0] ?? values.out;
const from = int('from', 1, { min: 1 });
const to = int('to', Number.MAX_SAFE_INTEGER, { min: 1 });
if (from > to) fail(`--from ${from} is after --to ${to}: the range is empty`);
const config = loadConfigOrExit();
// logs go to stderr so stdout stays pure NDJSON
const log = createLogger({
  level: config.logLevel === 'info' ? 'warn' : config.logLevel,
  stdout: false,
  stream: process.stderr,
});
const out: NodeJS.WritableStream = outFile ? createWriteStream(outFile) : process.stdout;

const selection = { from, to, ...(values.customer !== undefined ? { customer: values.customer } : {}) };
const { count, inputs, beyond } = await withScriptDatabase(config, log, async ({ db }) => {
  const eventLog = new PostgresEventLog(db, { log });
  // read no further than the log is final: an event in a transaction still open below it would be missed for good
  const settled = await settledHead(db);
  if (from > settled) return { count: 0, inputs: 0, beyond: settled };
  // positions below the last archive's cut are in its files: said, and the records in force there lead the export
  const notice = archivedNotice(await archivedMark(db), from);
  if (notice) process.stderr.write(`export: ${notice}\n`);
  const inForce = await archivedInForce(db);
  async function* read(fromPosition: number, toPosition: number): AsyncIterable<ExportedEvent[]> {
    const before = inForce.filter((e) => e.position >= fromPosition && e.position <= toPosition);
    if (before.length) yield before;
    for await (const page of eventLog.pages({ fromPosition, toPosition: Math.min(toPosition, settled) })) yield page.map(toExported);
  }
  const settings = {
    maxCoupons: config.recommender.maxCoupons,
    threshold: config.recommender.threshold,
    couponValidity: config.recommender.couponValidity,
    idleTimeoutS: config.recommender.idleTimeoutS,
  };
  let n = 0;
  let inputs = 0;
  let chunk = '';
  const flush = async () => {
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    chunk = '';
  };
  if (isPartial(selection)) {
    for await (const e of partialExport(read, selection, settings)) {
      chunk += `${JSON.stringify(e)}\n`;
      n++;
      if (isSelectedInput(e)) inputs++;
      if (chunk.length > 1 << 16) await flush();
    }
  } else
    for await (const page of read(from, to)) {
      for (const e of page) {
        chunk += `${JSON.stringify(e)}\n`;
        if (isSelectedInput(e)) inputs++;
      }
      await flush();
      n += page.length;
    }
  await flush();
  return { count: n, inputs, beyond: undefined };
});
if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
if (beyond !== undefined) process.stderr.write(`export: nothing to export: --from ${from} is beyond the log's head (position ${beyond})\n`);
else {
  process.stderr.write(`exported ${count} events\n`);
  // an export a replay would call identical while comparing nothing
  if (inputs === 0) process.stderr.write('export: warning: the selection has no inputs: its replay compares nothing\n');
}
