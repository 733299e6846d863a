/**
 * `npm test`: runs every test/**\/*.test.ts file in its own process with uvu. With no DATABASE_URL
 * / MQTT_URL it first starts an embedded PostgreSQL (temporary data directory) and an embedded
 * broker, shares them with the test processes, and stops them at the end. Prints uvu's summary
 * per file and one closing line "N passed, N failed".
 *   npm test                 all files
 *   npm test -- gateway      files whose path contains "gateway"
 *   npm test -- --no-services  only the files that need no PostgreSQL, broker, browser or child process
 *                            (CI runs these on the oldest supported Node)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createLogger } from '../adapters/process/logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../adapters/edges/embedded-postgres.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../adapters/edges/embedded-broker.ts';
import { cli } from './cli.ts';

const { positionals: filters, values } = cli({
  usage: 'npm test -- [NAME...] [--no-services]',
  summary: 'Runs every test/**/*.test.ts file in its own process (uvu), on an embedded PostgreSQL and MQTT broker unless DATABASE_URL / MQTT_URL are set.',
  options: {
    'no-services': { type: 'boolean', help: 'only the files that need no service (no PostgreSQL, broker, browser, Kafka or child process); starts none' },
  },
  positionals: { help: 'NAME  only the files whose path contains NAME (any number of them)', max: Infinity },
});
const withoutServices = values['no-services'] === true;
/** What in a test file's source means it needs a service: the test app and broker helpers, the browser, Kafka, a database, a child process. */
const NEEDS_SERVICES =
  /from '\.\/(helpers|kafka-helpers|browser)\.ts'|DATABASE_URL|MQTT_URL|node:child_process|embedded-postgres|postgres-event-log|edges\/database/;
const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
const root = join(import.meta.dirname, '..', 'test');
const files = walk(root)
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .filter((f) => !withoutServices || !NEEDS_SERVICES.test(readFileSync(f, 'utf8')))
  .sort();

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? (n === 'fixtures' || n === 'artifacts' ? [] : walk(p)) : [p];
  });
}

let pg: EmbeddedPostgres | undefined;
let broker: EmbeddedBroker | undefined;
let pgDir: string | undefined;
const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
const stopAll = async () => {
  await broker?.stop().catch(() => {});
  await pg?.stop().catch(() => {});
  if (pgDir) rmSync(pgDir, { recursive: true, force: true });
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

let passed = 0,
  failed = 0,
  skipped = 0;
const failures: string[] = [];
try {
  if (!env.DATABASE_URL && !withoutServices) {
    pgDir = mkdtempSync(join(tmpdir(), 'storeflow-test-pg-'));
    pg = await startEmbeddedPostgres({ dataDir: pgDir, log });
    env.DATABASE_URL = pg.url;
    env.STOREFLOW_TEST_EMBEDDED_PG = '1';
  }
  if (!env.MQTT_URL && !env.MQTT_HOST && !withoutServices) {
    broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', log });
    env.MQTT_URL = broker.url;
    env.MQTT_PROTOCOL_VERSION = '4';
    env.STOREFLOW_TEST_EMBEDDED_MQTT = '1';
  }
  console.log(
    withoutServices
      ? `storeflow tests: ${files.length} files that need no service, on Node ${process.versions.node}`
      : `storeflow tests: ${files.length} files; PostgreSQL ${pg ? 'embedded' : 'external'}, MQTT ${broker ? 'embedded (aedes)' : 'external'}, Node ${process.versions.node}`,
  );
  for (const file of files) {
    const name = relative(join(root, '..'), file);
    const started = Date.now();
    const { code, out } = await run(file);
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
    passed += ok;
    skipped += skip;
    const bad = Math.max(total - ok - skip, code === 0 ? 0 : 1);
    failed += bad;
    console.log(`${bad ? 'FAIL' : 'ok  '} ${name}  (${ok}/${total} passed${skip ? `, ${skip} skipped` : ''}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    if (bad) {
      failures.push(name);
      console.log(
        out
          .split('\n')
          .map((l) => `   | ${l}`)
          .join('\n'),
      );
    }
  }
} finally {
  await stopAll();
}
if (failures.length) console.log(`\nfailed files: ${failures.join(', ')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed || files.length === 0 ? 1 : 0);

function run(file: string): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let lingering: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d) => {
      out += d;
      // uvu has reported; a process still alive 15 s later holds a leaked handle
      if (!lingering && /Duration:/.test(out))
        lingering = setTimeout(() => {
          out += '\n[test runner] process did not exit after its tests: a handle was leaked';
          child.kill('SIGKILL');
        }, 15_000);
    });
    child.stderr.on('data', (d) => (out += d));
    // a file may ask for longer in its header ("test runner timeout: 600 s"): the Kafka replica tests start several processes
    const limitS = Number(/test runner timeout: (\d+) s/.exec(readFileSync(file, 'utf8').slice(0, 4000))?.[1] ?? 300);
    const timeout = setTimeout(() => {
      out += `\n[test runner] file timed out after ${limitS} s`;
      child.kill('SIGKILL');
    }, limitS * 1000);
    child.on('close', (code) => {
      clearTimeout(timeout);
      clearTimeout(lingering);
      ok({ code: code ?? 1, out });
    });
  });
}
