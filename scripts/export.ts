/**
 * `npm run export`: the event log (or a range, or one customer's stream) as NDJSON, the format
 * `npm run replay` reads.
 *   npm run export -- [--from POSITION] [--to POSITION] [--customer ID] [--out FILE]
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../adapters/load-config.ts';
import { createLogger } from '../adapters/logger.ts';
import { withScriptDatabase } from '../adapters/store-data.ts';
import { sql } from '../adapters/database.ts';

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
  let next = from;
  for (;;) {
    const rows = await db.query(sql`
      SELECT position, stream_id, version, type, data, metadata, message_id, recorded_at FROM events
      WHERE position >= ${next} AND position <= ${to} ${values.customer ? sql`AND stream_id = ${`customer-${values.customer}`}` : sql``}
      ORDER BY position LIMIT 10000`);
    if (rows.length === 0) break;
    let chunk = '';
    for (const r of rows) chunk += JSON.stringify({ ...r, recorded_at: new Date(r.recorded_at).toISOString() }) + '\n';
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    n += rows.length;
    next = Number(rows[rows.length - 1].position) + 1;
  }
  return n;
});
if (out !== process.stdout) await new Promise((r) => (out as any).end(r));
process.stderr.write(`exported ${count} events\n`);
