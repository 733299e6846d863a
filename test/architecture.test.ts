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

test.run();
