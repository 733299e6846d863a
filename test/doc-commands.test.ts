/**
 * The documentation's commands work as written: README.md and docs/*.md.
 *
 * The rule, in one place:
 * - A block fenced ```sh runnable is a command a reader can run on a started storeflow, and this test runs it. A plain
 *   ```sh block is not run: it starts storeflow itself (`npm start`), runs for minutes (benchmarks, the soak), or needs
 *   what a test here does not have (a token storeflow was started with, Kafka, another machine).
 * - The runnable blocks run in order (README.md, then docs/ by name), each as one `sh -e` script in the repository's
 *   folder, against one storeflow started for this test: every role, the generated store (AUTO_SEED, seed 42), its own
 *   embedded MQTT broker, the test's PostgreSQL in a schema of its own; the simulator and the pump not started.
 * - The default ports in a block (8000, 8080, 8081, 1883) are replaced by the ports that storeflow bound, as a reader
 *   replaces them by the ones its start-up log prints.
 * - The scripts see that storeflow's database (DATABASE_URL, DATABASE_SCHEMA); STOREFLOW_HOME and TMPDIR are a
 *   temporary folder, removed at the end. curl fails on an HTTP error status (a .curlrc there says `fail-with-body`),
 *   so a block cannot pass on a 4xx or 5xx answer it does not show.
 * - DOC_COMMANDS_SHOW=1 prints what each block printed (to write its `# →` lines).
 * - A block must exit 0 within two minutes, and its output must show each of its `# → TEXT` lines, in order (white
 *   space aside; `...` stands for anything).
 * And every relative link of those documents names a file that exists, and its `#anchor` a heading there.
 */
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { startTestApp, type TestApp } from './helpers.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';

const ROOT = join(import.meta.dirname, '..');
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const BLOCK_MS = 120_000;

interface Block {
  file: string;
  line: number;
  info: string;
  text: string;
}

function fencedBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found: Block[] = [];
  let open: { line: number; info: string; body: string[] } | undefined;
  lines.forEach((l, i) => {
    if (!open) {
      const m = /^```(.*)$/.exec(l);
      if (m) open = { line: i + 1, info: m[1].trim(), body: [] };
    } else if (/^```\s*$/.test(l)) {
      found.push({ file, line: open.line, info: open.info, text: open.body.join('\n') });
      open = undefined;
    } else open.body.push(l);
  });
  return found;
}

const runnable = (file: string) => fencedBlocks(file).filter((b) => b.info === 'sh runnable');

/** The `# → TEXT` lines of a block: what it must print, in order. */
const shown = (text: string) => [...text.matchAll(/^# → (.*)$/gm)].map((m) => m[1]);

/** The first expected line the output does not show (in order, white space aside, `...` for anything), if any. */
function missing(output: string, expected: string[]): string | undefined {
  const squeeze = (s: string) => s.replace(/\s+/g, '');
  let rest = squeeze(output);
  for (const e of expected) {
    const pattern = new RegExp(
      squeeze(e)
        .split('...')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s\\S]*?'),
    );
    const m = pattern.exec(rest);
    if (!m) return e;
    rest = rest.slice(m.index + m[0].length);
  }
  return undefined;
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('sh', ['-e', '-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[doc-commands] still running after ${BLOCK_MS / 1000} s: stopped`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, BLOCK_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

test('the output check: in order, white space aside, `...` for anything', () => {
  const output = '{"predictions":[],"reason":"entry recorded"}{"predictions":[{"coupon":{"id":668,"type":"buy_all"}}]}';
  assert.is(missing(output, ['{"predictions": [], "reason": "entry recorded"}', '{"predictions": [{"coupon": {"id": 668, ...}}]}']), undefined);
  assert.is(missing(output, ['{"id": 669, ...']), '{"id": 669, ...');
  assert.is(missing(output, ['"type":"buy_all"', '"reason"']), '"reason"', 'in order');
});

const blocksRun = suite<{ app?: TestApp; home: string; ports: Record<string, number>; env: NodeJS.ProcessEnv }>('runnable blocks', {
  home: '',
  ports: {},
  env: {},
});

blocksRun.before(async (context) => {
  context.home = mkdtempSync(join(tmpdir(), 'storeflow-doc-'));
  writeFileSync(join(context.home, '.curlrc'), 'fail-with-body\n');
  const app = await startTestApp({
    ROLES: 'recommender,detector,simulator,pump,gateway',
    AUTO_SEED: 'true',
    MQTT_URL: '',
    MQTT_PORT: '0',
    MQTT_TOPIC_PREFIX: '',
    STOREFLOW_HOME: context.home,
  });
  context.app = app;
  const gateway = app.roles.get('gateway') as GatewayHandle;
  const broker = app.infrastructure.embeddedBroker;
  if (!broker) throw new Error('storeflow runs no embedded broker');
  context.ports = { '8000': Number(new URL(app.url).port), '8080': gateway.streamPort, '8081': gateway.apiPort, '1883': broker.port };
  context.env = {
    ...process.env,
    DATABASE_URL: app.infrastructure.databaseUrl,
    DATABASE_SCHEMA: app.config.databaseSchema,
    STOREFLOW_HOME: context.home,
    TMPDIR: context.home,
    CURL_HOME: context.home,
    LOG_LEVEL: 'warn',
  };
});

blocksRun.after(async (context) => {
  await context.app?.close();
  if (context.home) rmSync(context.home, { recursive: true, force: true });
});

for (const file of DOCUMENTS) {
  const blocks = runnable(file);
  if (blocks.length === 0) continue;
  blocksRun(`${file}: its ${blocks.length} runnable block(s) run as written`, async ({ ports, env }) => {
    for (const block of blocks) {
      const text = block.text.replace(/\b(8000|8080|8081|1883)\b/g, (p) => String(ports[p]));
      const { code, stdout, stderr } = await runScript(text, env);
      const where = `${block.file}:${block.line}`;
      if (process.env.DOC_COMMANDS_SHOW) console.log(`--- ${where}\n${stdout}${stderr ? `--- stderr\n${stderr}` : ''}`);
      assert.is(code, 0, `${where} exits 0\n${text}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      const absent = missing(stdout, shown(text));
      assert.is(absent, undefined, `${where} prints "${absent}"\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
    }
  });
}

test('the rule is used: README.md and docs/ hold runnable blocks, and every sh block is marked one way or the other', () => {
  const all = DOCUMENTS.flatMap(fencedBlocks);
  assert.ok(runnable('README.md').length > 0, 'README.md has runnable blocks');
  assert.ok(
    all.some((b) => b.file.startsWith('docs/') && b.info === 'sh runnable'),
    'docs/ has runnable blocks',
  );
  const other = all.filter((b) => /^(sh|bash|shell)\b/.test(b.info) && b.info !== 'sh' && b.info !== 'sh runnable');
  assert.equal(
    other.map((b) => `${b.file}:${b.line} ${b.info}`),
    [],
    'command blocks are ```sh runnable or ```sh',
  );
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** A document's text without its fenced blocks (a `#` line there is no heading, a `](…)` no link). */
const prose = (file: string) => readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');

function anchors(file: string): Set<string> {
  const text = prose(file);
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => anchor(m[1])));
}

test('every relative link of README.md and docs/ names a file that exists, and its #anchor a heading there', () => {
  const broken: string[] = [];
  for (const file of DOCUMENTS) {
    const targets = [...prose(join(ROOT, file)).matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)].map((m) => m[1] ?? m[2]);
    for (const target of targets) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
      const [path, hash] = target.split('#');
      const absolute = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
      const name = relative(ROOT, absolute);
      if (!existsSync(absolute)) {
        broken.push(`${file}: ${target} (no file ${name})`);
        continue;
      }
      if (hash && name.endsWith('.md') && !anchors(absolute).has(hash)) broken.push(`${file}: ${target} (no heading #${hash} in ${name})`);
    }
  }
  assert.equal(broken, [], 'broken links');
});

test.run();
blocksRun.run();
