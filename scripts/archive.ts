/**
 * `npm run archive`: the log's closed history recorded before DATE moved to a compressed NDJSON file that
 * `npm run replay` reads, then removed from the table (adapters/edges/postgres-log-archive.ts, docs/archive.md).
 *   npm run archive -- --before DATE [--out DIR]
 */
import { join } from 'node:path';
import { loadConfigOrExit } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { withScriptDatabase } from '../adapters/edges/store-data.ts';
import { archive } from '../adapters/edges/postgres-log-archive.ts';
import { cli } from './cli.ts';

const { values, fail } = cli({
  usage: 'npm run archive -- --before DATE [--out DIR]',
  summary:
    "Writes the event log's closed history recorded before DATE to a gzip-compressed NDJSON file (the records in force first) that `npm run replay` reads, then removes it from the log. The events of visits still open at the cut stay in the log (and go to the file as context) until a later archive.",
  options: {
    before: { type: 'string', arg: 'DATE', help: 'archive what was recorded before this time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T06:00:00Z)' },
    out: { type: 'string', arg: 'DIR', help: 'where the file goes (default STOREFLOW_HOME/archive)' },
  },
});
const beforeText = values.before ?? fail('--before DATE is required');
const beforeMs = Date.parse(beforeText);
if (!Number.isFinite(beforeMs)) fail(`--before ${beforeText} is not a date (ISO 8601, e.g. 2026-12-01T06:00:00Z)`);
if (beforeMs > Date.now()) fail(`--before ${beforeText} is in the future`);
const config = loadConfigOrExit();
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, stdout: false, stream: process.stderr });
const dir = values.out ?? join(config.home, 'archive');
try {
  const r = await withScriptDatabase(config, log, ({ db }) => archive(db, { beforeMs, dir, idleTimeoutS: config.recommender.idleTimeoutS }));
  for (const h of r.held.slice(0, 10))
    process.stderr.write(`archive: kept ${h.streamId} from position ${h.from}: its visit was still open at the cut (position ${r.before})\n`);
  if (r.held.length > 10) process.stderr.write(`archive: kept ${r.held.length - 10} more open visits\n`);
  if (!r.file && r.held.length) {
    process.stderr.write(`archive: nothing archived: every event before position ${r.before} belongs to a visit still open; nothing removed\n`);
    process.exit(1);
  }
  if (!r.file) {
    process.stderr.write(
      `archive: nothing to archive: nothing was recorded before ${new Date(beforeMs).toISOString()} (the log begins at position ${r.from})\n`,
    );
    process.exit(0);
  }
  console.log(
    `archived ${r.events} events (positions ${r.from} to ${r.before - 1}) to ${r.file} in ${(r.ms / 1000).toFixed(1)} s` +
      (r.kept ? `; kept ${r.kept} events of ${r.held.length} visits still open (in the file as context)` : ''),
  );
} catch (err) {
  process.stderr.write(`archive: ${(err as Error)?.message ?? err}; nothing removed\n`);
  process.exit(1);
}
