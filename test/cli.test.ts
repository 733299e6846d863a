/**
 * Every script of package.json takes the usual forms: `--help` prints its usage (exit 0); misuse — an
 * unknown option, a stray or missing argument, a bad value — prints one line and the usage line on
 * stderr and exits 2, never a stack trace. The scripts come from package.json, so a new one is checked too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
/** npm script name → its file, e.g. replay → scripts/replay.ts. */
const SCRIPTS = Object.entries(pkg.scripts).flatMap(([name, command]) => {
  const file = /(?:^|\s)(scripts\/[\w-]+\.ts)\b/.exec(command)?.[1];
  return file ? [[name, file] as const] : [];
});
const home = mkdtempSync(join(tmpdir(), 'storeflow-cli-'));

function run(file: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((ok) => {
    // nothing may start: a home of its own, and no services to reach
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? home,
        STOREFLOW_HOME: home,
        DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
        MQTT_URL: 'mqtt://127.0.0.1:9',
      },
    });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, out, err });
    });
  });
}

/** At most `n` at a time (the machine has two cores). */
async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const STACK = /\n\s+at .+:\d+:\d+/;

function misused(what: string, r: { code: number | null; out: string; err: string }, message?: RegExp) {
  assert.is(r.code, 2, `${what}: exit 2 (got ${r.code})\n${r.err}${r.out}`);
  assert.match(r.err, /^usage: /m, `${what}: a usage line on stderr\n${r.err}`);
  assert.not.match(r.err + r.out, STACK, `${what}: no stack trace`);
  if (message) assert.match(r.err, message, what);
}

test.after(() => rmSync(home, { recursive: true, force: true }));

test('every npm script: --help prints its usage and exits 0; an unknown option exits 2 with a usage line', async () => {
  assert.ok(SCRIPTS.length >= 20, `the scripts of package.json (${SCRIPTS.length})`);
  const results = await pool(SCRIPTS, 3, async ([name, file]) => ({ name, help: await run(file, ['--help']), bad: await run(file, ['--no-such-option']) }));
  for (const { name, help, bad } of results) {
    assert.is(help.code, 0, `${name} --help: exit 0\n${help.err}`);
    assert.match(help.out, /^usage: /m, `${name} --help: usage on stdout`);
    misused(`${name} --no-such-option`, bad);
  }
});

test('misuse of each form: stray or missing arguments, bad values, two ways of saying one thing', async () => {
  const cases: [what: string, file: string, args: string[], message?: RegExp][] = [
    ['replay, a file that is not there (the usual positional form)', 'scripts/replay.ts', ['export.ndjson'], /no such file: export\.ndjson/],
    ['replay, two files', 'scripts/replay.ts', ['a.ndjson', 'b.ndjson'], /too many arguments/],
    ['replay, FILE and --file', 'scripts/replay.ts', ['test/fixtures/replay/quiet-day.ndjson.gz', '--file', 'x'], /given twice/],
    ['replay, --from not a position', 'scripts/replay.ts', ['--from', 'yesterday'], /--from takes an integer/],
    ['replay, an option without its value', 'scripts/replay.ts', ['--data'], /--data/],
    ['export, --to not a position', 'scripts/export.ts', ['--to', '1.5'], /--to takes an integer/],
    ['export, two files', 'scripts/export.ts', ['a', 'b'], /too many arguments/],
    ['load, no folder', 'scripts/load.ts', [], /argument is missing/],
    ['load, two folders', 'scripts/load.ts', ['a', 'b'], /too many arguments/],
    ['start, two role lists', 'scripts/start.ts', ['recommender', 'detector'], /too many arguments/],
    ['machines, an unknown machine', 'scripts/machines.ts', ['--print', 'toaster'], /unknown machine "toaster"/],
    ['schemas, a stray argument', 'scripts/schemas.ts', ['now'], /unexpected argument "now"/],
    ['seed, a stray argument', 'scripts/seed.ts', ['data'], /unexpected argument "data"/],
    ['bench:gateway, a bad count', 'scripts/bench-gateway.ts', ['--events', 'many'], /--events takes an integer/],
  ];
  const results = await pool(cases, 3, async ([, file, args]) => run(file, args));
  for (const [i, [what, , , message]] of cases.entries()) misused(what, results[i], message);
});

test.run();
