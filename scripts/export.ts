/**
 * `npm run export`: the event log (or a range, or one customer's stream) as NDJSON, the format
 * `npm run replay` reads.
 *   npm run export -- [--from POSITION] [--to POSITION] [--customer ID] [--out FILE]
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { toExported } from '../actors/kernel/event-log.ts';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, customer: { type: 'string' }, out: { type: 'string' } } });
const config = loadConfigOrExit();
// logs go to stderr so stdout stays pure NDJSON
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, stdout: false, stream: { write: (l: string) => process.stderr.write(l) } as any });
const out: NodeJS.WritableStream = values.out ? createWriteStream(values.out) : process.stdout;

const from = Number(values.from ?? 1);
const to = values.to === undefined ? Number.MAX_SAFE_INTEGER : Number(values.to);
if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) { process.stderr.write('--from and --to take log positions (integers)\n'); process.exit(2); }

const count = await withScriptDatabase(config, log, async ({ db }) => {
  let n = 0;
  const eventLog = new PostgresEventLog(db, { log });
  for await (const page of eventLog.pages({ fromPosition: from, toPosition: to, ...(values.customer ? { streamId: `customer-${values.customer}` } : {}) })) {
    let chunk = '';
    for (const e of page) chunk += JSON.stringify(toExported(e)) + '\n';
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    n += page.length;
  }
  return n;
});
if (out !== process.stdout) await new Promise((r) => (out as any).end(r));
process.stderr.write(`exported ${count} events\n`);
