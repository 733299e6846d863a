/**
 * The shape issue 15 asks the code to keep, read from the source tree rather than remembered: no import
 * cycle among source files (type-only imports count: a cycle of types still ties the files together),
 * the inside of the hexagon (actors/) knows no machine and no adapter, the statecharts (machines/) know
 * no adapter, no source file over 350 lines, and at most 15 loose files at the top of adapters/ (a role
 * or a kind of driver is a folder). Imports are read with TypeScript's own pre-processor, so comments
 * and strings that look like imports are not counted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['actors', 'adapters', 'machines', 'schemas', 'scripts'];
const MAX_LINES = 350;
const MAX_LOOSE_ADAPTERS = 15;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? (n === 'node_modules' ? [] : walk(p)) : [p];
  });
}

/** Every source file, relative to the repository: the .ts of the source folders and the page's modules. */
const files = [
  ...SOURCE_DIRS.flatMap((d) => walk(join(ROOT, d)).filter((f) => f.endsWith('.ts'))),
  ...walk(join(ROOT, 'web')).filter((f) => f.endsWith('.js')),
].map((f) => relative(ROOT, f));
const known = new Set(files);
const text: Record<string, string> = Object.fromEntries(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));

/** A file's imports of other source files (static, type-only, re-exports and dynamic import()). */
const imports: Record<string, string[]> = Object.fromEntries(
  files.map((f) => [
    f,
    [
      ...new Set(
        ts
          .preProcessFile(text[f], true, true)
          .importedFiles.map((i) => i.fileName)
          .filter((s) => s.startsWith('.'))
          .map((s) => relative(ROOT, resolve(ROOT, dirname(f), s)))
          .filter((t) => known.has(t)),
      ),
    ],
  ]),
);

const lineCount = (s: string) => s.split('\n').length - (s.endsWith('\n') ? 1 : 0);
const top = (f: string) => f.split('/')[0];

test('the source tree is read', () => {
  for (const d of SOURCE_DIRS)
    assert.ok(
      files.some((f) => top(f) === d),
      `no source file found in ${d}/`,
    );
  assert.ok(
    Object.values(imports).some((targets) => targets.length > 0),
    'no import between source files resolved',
  );
});

test('no import cycle among source files (type-only imports included)', () => {
  // Tarjan's strongly connected components: every component of more than one file (or a file importing itself) is a cycle
  const index: Record<string, number> = {};
  const low: Record<string, number> = {};
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (f: string) => {
    index[f] = next;
    low[f] = next++;
    stack.push(f);
    onStack.add(f);
    for (const t of imports[f]) {
      if (!(t in index)) {
        visit(t);
        low[f] = Math.min(low[f], low[t]);
      } else if (onStack.has(t)) low[f] = Math.min(low[f], index[t]);
    }
    if (low[f] !== index[f]) return;
    const component: string[] = [];
    let t: string;
    do {
      t = stack.pop() as string;
      onStack.delete(t);
      component.push(t);
    } while (t !== f);
    if (component.length > 1 || imports[f].includes(f)) cycles.push(component.sort());
  };
  for (const f of files) if (!(f in index)) visit(f);
  assert.equal(cycles, [], `import cycles, each the files that import one another:\n${cycles.map((c) => `  ${c.join(' ⇄ ')}`).join('\n')}`);
});

/** Imports from `from/` into any of `into`, as "file → imported file". */
const crossing = (from: string, into: string[]) =>
  files.filter((f) => top(f) === from).flatMap((f) => imports[f].filter((t) => into.includes(top(t))).map((t) => `${f} → ${t}`));

test('actors/ imports nothing from machines/ or adapters/', () => {
  const found = crossing('actors', ['machines', 'adapters']);
  assert.equal(found, [], `the inside knows a machine or an adapter:\n  ${found.join('\n  ')}`);
});

test('machines/ imports nothing from adapters/', () => {
  const found = crossing('machines', ['adapters']);
  assert.equal(found, [], `a statechart knows an adapter:\n  ${found.join('\n  ')}`);
});

test(`no source .ts file over ${MAX_LINES} lines`, () => {
  const over = files
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ f, n: lineCount(text[f]) }))
    .filter(({ n }) => n > MAX_LINES)
    .sort((a, b) => b.n - a.n)
    .map(({ f, n }) => `${f} (${n})`);
  assert.equal(over, [], `source files over ${MAX_LINES} lines (${over.length}):\n  ${over.join('\n  ')}`);
});

test(`at most ${MAX_LOOSE_ADAPTERS} loose files at the top of adapters/`, () => {
  const loose = readdirSync(join(ROOT, 'adapters')).filter((n) => !statSync(join(ROOT, 'adapters', n)).isDirectory());
  assert.ok(loose.length <= MAX_LOOSE_ADAPTERS, `${loose.length} loose files at the top of adapters/: ${loose.join(', ')}`);
});

/**
 * One engine (issue 28): adapters/engine/ runs every mode. The rules, as checked here:
 * - a role's processor (adapters/<role>/processor.ts) is imported by the engine (adapters/engine/), by its own role's
 *   folder — where only index.ts constructs it, and registers it with the engine (`pipeline.register`, the live mode's
 *   door to the engine); its routes and recovery import its type only — and by a test of that one role; nothing else,
 *   and no test imports two roles' processors (routing between them is the engine's);
 * - replay, the partial export's plan, bench:replay and bench:quality go through the engine's replay mode, the live
 *   pipeline and its recovery through the engine, and none of them imports a processor;
 * - no source file outside adapters/engine/ hands an input to a processor itself (`….handle(` on a processor);
 * - a test that runs more than one processor's step — an engine, a role's recovery — constructs the engine and hands it
 *   the inputs: it calls no `.handle(` and no engine's `.emit(` itself (a unit test of one processor may, importing
 *   neither); a recovery hands its decisions to recall and its followed versions to the engine (`Recovery`), not to the
 *   processor;
 * - no module of adapters/ outside adapters/engine/ lists input types (an array literal opening with two of them; a
 *   machine's `emits`, the outputs it announces, is no such list).
 */
const PROCESSORS: Record<string, string> = { recommender: 'adapters/recommender/processor.ts', detector: 'adapters/detector/processor.ts' };
const ENGINE = 'adapters/engine/';
const TESTS = walk(join(ROOT, 'test'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => relative(ROOT, f));
const testImports: Record<string, string[]> = Object.fromEntries(
  TESTS.map((f) => [
    f,
    ts
      .preProcessFile(readFileSync(join(ROOT, f), 'utf8'), true, true)
      .importedFiles.map((i) => i.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(ROOT, resolve(ROOT, dirname(f), s))),
  ]),
);
const processorsOf = (targets: string[]) => Object.values(PROCESSORS).filter((p) => targets.includes(p));

test("only the engine, the role's own wiring and a test of that one role import a role's processor", () => {
  const found: string[] = [];
  for (const [role, p] of Object.entries(PROCESSORS))
    for (const f of files) {
      if (!imports[f].includes(p) || f.startsWith(ENGINE)) continue;
      const own = f.startsWith(`adapters/${role}/`);
      const typeOnly = /import type \{[^}]*\} from '\.\/processor\.ts'/.test(text[f]);
      if (!own) found.push(`${f} imports ${p}`);
      else if (f.endsWith('/index.ts') ? !/\.register\(/.test(text[f]) : !typeOnly)
        found.push(`${f}: only the role's index.ts constructs its processor, and registers it with the engine`);
    }
  for (const f of TESTS) if (processorsOf(testImports[f]).length > 1) found.push(`${f} imports two roles' processors (routing between them is the engine's)`);
  assert.equal(found, [], found.join('\n'));
});

test('replay, the export plan, bench:replay, bench:quality, the live pipeline and its recovery construct the engine, and import no processor', () => {
  const modes: Record<string, string> = {
    'scripts/replay.ts': 'adapters/engine/replay.ts',
    'scripts/bench-replay.ts': 'adapters/engine/replay.ts',
    'adapters/simulator/quality-world.ts': 'adapters/engine/replay.ts',
    'adapters/process/partial-export.ts': 'adapters/engine/replay.ts',
    'adapters/process/pipeline.ts': 'adapters/engine/engine.ts',
    'adapters/recommender/recovery.ts': 'adapters/engine/inputs.ts',
    'test/replay.test.ts': 'adapters/engine/replay.ts',
    'test/partial-export-plan.test.ts': 'adapters/engine/replay.ts',
    'test/shared-sessions.test.ts': 'adapters/engine/engine.ts',
  };
  const all = { ...imports, ...testImports };
  const wrong = Object.entries(modes).filter(([f, engine]) => !all[f]?.includes(engine));
  assert.equal(wrong, [], 'modes that do not go through the engine');
  const routing = [
    'scripts/replay.ts',
    'scripts/bench-replay.ts',
    'scripts/bench-quality.ts',
    'adapters/simulator/quality-world.ts',
    'adapters/process/partial-export.ts',
    'adapters/process/pipeline.ts',
    'test/replay.test.ts',
    'test/partial-export-plan.test.ts',
    'test/partial-export.test.ts',
    'test/recommender-budget.test.ts',
    'test/replay-provenance.test.ts',
  ].filter((f) => processorsOf(all[f] ?? []).length > 0);
  assert.equal(routing, [], 'modes that import a processor (and so could route inputs themselves)');
  const handing = files.filter((f) => !f.startsWith(ENGINE) && /\b\w*[pP]rocessor\??\.handle\(/.test(text[f]));
  assert.equal(handing, [], 'source files that hand inputs to a processor themselves');
});

test('tests that run an engine or a recovery construct the engine and hand it the inputs; recovery hands the replica mode its part through the engine', () => {
  const ENGINE_FILE = 'adapters/engine/engine.ts';
  const RECOVERIES = ['adapters/recommender/recovery.ts', 'adapters/detector/recovery.ts'];
  const found: string[] = [];
  for (const f of TESTS) {
    const source = readFileSync(join(ROOT, f), 'utf8');
    // the engine or a recovery imported, or the tests' own engine (test/helpers.ts)
    if (!testImports[f].some((t) => t === ENGINE_FILE || RECOVERIES.includes(t)) && !/\b(engineOver|recoverThroughEngine)\(/.test(source)) continue;
    if (/\.handle\(/.test(source)) found.push(`${f} hands an input to a processor itself (.handle)`);
    if (/\bengine\??\.emit\(/.test(source)) found.push(`${f} hands outputs to the engine itself (engine.emit)`);
  }
  // the replica mode's part of a recovery (recall, followed) goes through the engine, never to a processor
  for (const f of RECOVERIES) if (/\bprocessor\.(recall|followed)\(/.test(text[f])) found.push(`${f} calls the processor's replica mode itself`);
  assert.equal(found, [], found.join('\n'));
});

test('no module outside the engine lists input types', () => {
  const kind = `'(?:entry|exit|focus|move|browsing)'`;
  const list = new RegExp(`\\[\\s*${kind}\\s*,\\s*${kind}`);
  // a machine's `emits` (the outputs it announces: a focus, a browsing) is not a list of inputs
  const found = files.filter(
    (f) => f.startsWith('adapters/') && !f.startsWith(ENGINE) && text[f].split('\n').some((line) => list.test(line) && !/\bemits:/.test(line)),
  );
  assert.equal(found, [], `modules that list input types (adapters/engine/inputs.ts is the one list):\n  ${found.join('\n  ')}`);
});

test.run();
