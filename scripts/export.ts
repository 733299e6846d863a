/**
 * `npm run export`: the event log (or a range, or one customer's stream) as NDJSON, the format
 * `npm run replay` reads.
 *   npm run export -- [--from POSITION] [--to POSITION] [--customer ID] [--out FILE]
 */
import { createWriteStream } from 'node:fs';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported } from '../actors/kernel/event-log.ts';
import { cli } from './cli.ts';

const { values, positionals, fail, int } = cli({
  usage: 'npm run export -- [FILE] [--from POSITION] [--to POSITION] [--customer ID]',
  summary: "Writes the event log (or a range of it, or one customer's stream) as NDJSON, one entry per line: what `npm run replay` reads.",
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
const config = loadConfigOrExit();
// logs go to stderr so stdout stays pure NDJSON
const log = createLogger({
  level: config.logLevel === 'info' ? 'warn' : config.logLevel,
  stdout: false,
  stream: process.stderr,
});
const out: NodeJS.WritableStream = outFile ? createWriteStream(outFile) : process.stdout;

const count = await withScriptDatabase(config, log, async ({ db }) => {
  let n = 0;
  const eventLog = new PostgresEventLog(db, { log });
  for await (const page of eventLog.pages({ fromPosition: from, toPosition: to, ...(values.customer ? { streamId: `customer-${values.customer}` } : {}) })) {
    let chunk = '';
    for (const e of page) chunk += `${JSON.stringify(toExported(e))}\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    n += page.length;
  }
  return n;
});
if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
process.stderr.write(`exported ${count} events\n`);
