/**
 * `npm run bench`: every benchmark at a short setting, one after another (never two at once: they would measure each
 * other), and one table of what they measured: the figure, its baseline measured in the same run, the ratio, the
 * target. Each benchmark runs as `npm run bench:NAME` would (its own process, this environment: MQTT_URL and
 * DATABASE_URL apply to those that honour them) with `--json`, and hands its rows over in its last line of output
 * (scripts/bench-report.ts; bench:quality's own JSON document is read as it is). Their whole output
 * goes to STOREFLOW_HOME/bench.log (.storeflow/bench.log).
 * Exit 1 only when a benchmark crashed or hung (no figure is a pass or a fail: on a shared machine they are noise).
 *   npm run bench -- [--only recommender,replay,…] [--verbose] [--timeout S]
 * bench:replicas runs only when DATABASE_URL and MQTT_URL are set (it needs a shared broker and database).
 */
import { spawn } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { cli } from './cli.ts';
import type { BenchResult, BenchRow } from './bench-report.ts';

interface Bench {
  /** `npm run bench:<name>`. */
  name: string;
  /** Shown in the table's "setting" lines; tells two runs of one script apart. */
  label: string;
  args: string[];
  env?: Record<string, string>;
  /** When the script's JSON has no `rows`: its figures from its own document. */
  read?: (out: string) => BenchRow[];
  /** Why it is skipped in this environment, if it is. */
  skip?: string;
}

const { values, int, fail } = cli({
  usage: 'npm run bench -- [--only NAME,…] [--verbose] [--timeout S]',
  summary:
    'Every benchmark at a short setting (≈ 3–5 minutes on 2 cores), one after another, and one table: figure, baseline measured in the same run, ratio, target. Exit 1 only if a benchmark crashed or hung.',
  options: {
    only: { type: 'string', arg: 'NAME,…', help: 'only these (recommender, recommender-original, replay, score, simulator, pump, gateway, quality, replicas)' },
    verbose: { type: 'boolean', help: "show each benchmark's own output as it runs (it always goes to the log file)" },
    timeout: { type: 'string', arg: 'S', help: 'seconds one benchmark may take before it counts as hung (default 300)' },
  },
  more: 'environment: MQTT_URL, MQTT_PROTOCOL_VERSION, DATABASE_URL (as each benchmark takes them; bench:replicas runs only with both URLs)',
});
const TIMEOUT_S = int('timeout', 300, { min: 1 });
const HOME = resolve(process.env.STOREFLOW_HOME || '.storeflow');
const LOG = join(HOME, 'bench.log');

/** bench:quality's own JSON document (its --json predates the rows): incremental margin per visit of the uplift policy, and the doubly robust estimate. */
function quality(out: string): BenchRow[] {
  const q = JSON.parse(lastJsonLine(out) ?? 'null');
  if (!q?.policies?.uplift || !q?.ope?.dr) throw new Error('no JSON document');
  const p = q.policies;
  const oracle = p.oracle.incrementalMarginPerVisit,
    highest = p.highestDiscount.incrementalMarginPerVisit,
    uplift = p.uplift.incrementalMarginPerVisit;
  const dr = q.ope.dr;
  return [
    {
      figure: `quality: incremental margin per visit of the uplift policy (store seed ${q.seed}), against the oracle`,
      value: uplift,
      unit: '',
      baseline: { what: 'oracle', value: oracle },
      ratio: q.targets.upliftVsOracle,
      target: '≥ 0.8 of the oracle, and ≥ highest discount + half the gap to the oracle',
      met: q.targets.upliftVsOracle >= 0.8 && q.targets.upliftOverHalfGap >= 0,
      note: `model ${p.model.incrementalMarginPerVisit}, highest discount ${highest}, random ${p.random.incrementalMarginPerVisit}, control 0`,
    },
    {
      figure: "quality: doubly robust estimate of the uplift policy's incremental margin per visit from a logged run",
      value: dr.estimate,
      unit: '',
      baseline: { what: 'truth', value: dr.truth },
      added: Math.round((dr.estimate - dr.truth) * 1e4) / 1e4,
      target: `within 0.1 × the oracle's (${q.targets.drErrorLimit}) of the truth`,
      met: q.targets.drError <= q.targets.drErrorLimit,
      note: `95 % interval ${dr.ciLow} … ${dr.ciHigh}`,
    },
  ];
}

function lastJsonLine(out: string): string | undefined {
  return out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
}

const both = Boolean(process.env.DATABASE_URL && process.env.MQTT_URL);
const SHORT = ['--count', '10000', '--seconds', '5'];
const ALL: Bench[] = [
  { name: 'recommender', label: 'recommender', args: SHORT },
  { name: 'recommender', label: 'recommender-original', args: [...SHORT, '--workload', 'original'] },
  { name: 'replay', label: 'replay', args: ['--events', '200000'] },
  { name: 'score', label: 'score', args: [] },
  { name: 'simulator', label: 'simulator', args: [], env: { BENCH_REPEATS: '1', BENCH_SECONDS: '8' } },
  { name: 'pump', label: 'pump', args: [], env: { BENCH_EVENTS: '50000', BENCH_ROUNDS: '3' } },
  { name: 'gateway', label: 'gateway', args: ['--events', '5000', '--replay', '200000', '--runs', '3'] },
  { name: 'quality', label: 'quality', args: [], read: quality },
  {
    name: 'replicas',
    label: 'replicas',
    args: ['--count', '5000', '--seconds', '5', '--replicas', '1,2'],
    skip: both ? undefined : 'DATABASE_URL and MQTT_URL not both set',
  },
];
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((o) => !ALL.some((b) => b.label === o));
if (unknown?.length) fail(`--only: unknown benchmark ${unknown.join(', ')} (known: ${ALL.map((b) => b.label).join(', ')})`);
const chosen = ALL.filter((b) => !only || only.includes(b.label));

const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).scripts;

/** The Node.js flags `npm run bench:<name>` starts with (package.json: `node FLAGS --import tsx …`), so both ways run alike. */
function nodeFlags(name: string): string[] {
  const m = /^node\s+(.*?)\s*--import tsx\b/.exec(SCRIPTS[`bench:${name}`] ?? '');
  return m ? m[1].split(/\s+/).filter(Boolean) : [];
}

/** Runs one benchmark; resolves with its output, exit code, and whether it was stopped for taking too long. */
function run(b: Bench): Promise<{ out: string; code: number | null; hung: boolean; seconds: number }> {
  const script = join(import.meta.dirname, `bench-${b.name}.ts`);
  const args = [...nodeFlags(b.name), '--import', 'tsx', script, ...b.args, '--json'];
  appendFileSync(LOG, `\n===== npm run bench:${b.name} -- ${[...b.args, '--json'].join(' ')} ${JSON.stringify(b.env ?? {})}\n`);
  const t0 = performance.now();
  return new Promise((ok) => {
    // its own process group: a hung benchmark is stopped with what it started (load clients, PostgreSQL, replicas)
    const child = spawn(process.execPath, args, { env: { ...process.env, ...b.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let hung = false;
    const take = (d: Buffer) => {
      out += d;
      appendFileSync(LOG, d);
      if (values.verbose) process.stderr.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      hung = true;
      try {
        process.kill(-must(child.pid, 'the bench pid'), 'SIGKILL');
      } catch {}
    }, TIMEOUT_S * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ out, code, hung, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

mkdirSync(HOME, { recursive: true });
writeFileSync(LOG, `npm run bench, ${new Date().toISOString()}\n`);
const started = new Date();
const load0 = loadavg();
const t0 = performance.now();
const results: { bench: Bench; rows: BenchRow[]; setting?: string; problem?: string }[] = [];
let crashed = 0;
for (const b of chosen) {
  if (b.skip) {
    results.push({ bench: b, rows: [], problem: `skipped: ${b.skip}` });
    process.stderr.write(`bench:${b.label} skipped (${b.skip})\n`);
    continue;
  }
  process.stderr.write(`bench:${b.label} …`);
  const r = await run(b);
  process.stderr.write(` ${r.seconds.toFixed(0)} s\n`);
  if (r.hung || r.code !== 0) {
    crashed++;
    results.push({ bench: b, rows: [], problem: r.hung ? `hung: stopped after ${TIMEOUT_S} s` : `crashed: exit ${r.code}` });
    continue;
  }
  try {
    const line = lastJsonLine(r.out);
    const doc = line ? (JSON.parse(line) as Partial<BenchResult>) : undefined;
    const setting = `${[...b.args].join(' ') || 'defaults'}${
      b.env
        ? ` ${Object.entries(b.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }`;
    if (doc && Array.isArray(doc.rows)) results.push({ bench: b, rows: doc.rows, setting: doc.setting ?? setting });
    else if (b.read) results.push({ bench: b, rows: b.read(r.out), setting });
    else throw new Error('no figures in its output');
  } catch (err) {
    // it ran and exited 0, but its figures could not be read: shown, not a crash
    results.push({ bench: b, rows: [], problem: `figures not read: ${(err as Error).message}` });
  }
}
const seconds = (performance.now() - t0) / 1000;

// ---- the table
const num = (x: number) =>
  Math.abs(x) >= 1000
    ? Math.round(x).toLocaleString('en-US')
    : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 10
        ? x.toFixed(1)
        : Math.abs(x) >= 0.1 || x === 0
          ? x.toFixed(2)
          : x.toFixed(3);
const withUnit = (x: number, unit: string) =>
  unit === '' ? num(x) : unit.startsWith('/') || unit === '%' ? `${num(x)}${unit === '%' ? ' %' : unit}` : `${num(x)} ${unit}`;
const cell = (s: string) => s.replace(/\|/g, '\\|');
const lines: string[] = [];
lines.push(
  `npm run bench, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s; ${cpus().length} cores, load average ${load0[0].toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; Node ${process.versions.node}; broker ${process.env.MQTT_URL ? process.env.MQTT_URL : 'embedded'}, PostgreSQL ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'}`,
);
lines.push('');
lines.push('| figure | measured | baseline (same run) | ratio | target |');
lines.push('|---|---:|---|---:|---|');
for (const r of results) {
  if (r.problem) {
    lines.push(`| bench:${r.bench.label} | — | — | — | ${cell(r.problem)} |`);
    continue;
  }
  for (const row of r.rows) {
    const figure = row.note ? `${row.figure} (${row.note})` : row.figure;
    const baseline = row.baseline ? `${withUnit(row.baseline.value, row.unit)} ${row.baseline.what}` : '—';
    const ratio =
      row.added !== undefined
        ? `${row.added >= 0 ? '+' : ''}${num(row.added)} ${row.unit}`
        : row.ratio !== undefined
          ? `${num(row.ratio)}${row.ratioIs ? ` (${row.ratioIs})` : ''}`
          : '—';
    const target = row.target ? `${row.target} ${row.met === undefined ? '' : row.met ? '✔' : '✘'}`.trim() : '—';
    lines.push(`| ${cell(figure)} | ${withUnit(row.value, row.unit)} | ${cell(baseline)} | ${cell(ratio)} | ${cell(target)} |`);
  }
}
lines.push('');
lines.push('settings (short: `npm run bench:NAME` alone runs longer and prints more):');
for (const r of results) if (r.setting) lines.push(`- bench:${r.bench.label}: ${r.setting}`);
lines.push(`each benchmark's own output: ${LOG}`);
console.log(lines.join('\n'));
if (crashed) {
  console.log(`\n${crashed} benchmark(s) crashed or hung: see ${LOG}`);
  process.exit(1);
}
