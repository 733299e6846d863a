/**
 * `npm run bench:replay`: deterministic replay of 1 million logged events (the busy-hour fixture's
 * inputs, repeated on later hours) through fresh machines, outputs compared with the recorded ones, on
 * `npm run replay`'s path (the log read in decision order, then the processors). Target (issue 18): 200,000
 * events/s, 1,000,000 in under 5 s. Baselines in the same run: a plain loop doing the routing (department lookup,
 * per-customer counters) without actors; and the floor of the actor design, the same inputs as one XState transition
 * each (a per-customer actor with one assign, ended by the customer's exit), which bounds any replay that gives
 * every input to an actor.
 * Node runs with `npm run replay`'s young generation (--max-semi-space-size=64, package.json), the baselines too.
 *   npm run bench:replay -- [--events 1000000] [--json]
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { cli } from './cli.ts';
import { Replayer, type ExportedEvent } from '../adapters/engine/replay.ts';
import { DecisionOrder } from '../adapters/engine/decision-order.ts';
import { JSON_OPTION, printBenchJson } from './bench-report.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import { departmentAt } from '../actors/data/store-plan.ts';
import { assign, createActor, setup, type AnyActorRef } from 'xstate';

const { int, values } = cli({
  usage: 'npm run bench:replay -- [--events N] [--json]',
  summary: 'Deterministic replay of N logged events (the busy-hour fixture, repeated) through fresh machines, against a plain routing loop.',
  options: { events: { type: 'string', arg: 'N', help: 'events to replay (default 1000000)' }, ...JSON_OPTION },
});
const TARGET = int('events', 1_000_000, { min: 1 });
const DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'replay');
const t = parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(DIR, 'store', f), 'utf8')])));
const deps = {
  catalogue: new CouponCatalogue(t.coupons, t.products, t.couponProducts),
  customers: new Map(t.customers.map((c) => [c.customer_id, c])),
  scorer: loadCouponModel(),
  settings: { maxCoupons: 5, threshold: 0.2, couponValidity: 'check' as const, idleTimeoutS: 7200 },
};
const fixture: ExportedEvent[] = gunzipSync(readFileSync(join(DIR, 'busy-hour.ndjson.gz')))
  .toString()
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const system = fixture.filter((e) => e.metadata?.source === 'system');
const inputs = fixture.filter((e) => e.metadata?.source === 'mqtt');
const span = inputs[inputs.length - 1].data.ts - inputs[0].data.ts + 3600;

// 1. a million inputs: the busy hour again and again, each copy later than the last
const log: ExportedEvent[] = [...system];
for (let copy = 0; log.length < TARGET; copy++)
  for (const e of inputs) {
    if (log.length >= TARGET) break;
    log.push({ ...e, position: log.length + 1, message_id: `${e.message_id}:${copy}`, data: { ...e.data, ts: e.data.ts + copy * span } });
  }
console.log(`bench:replay — ${log.length.toLocaleString()} events (${inputs.length} busy-hour inputs × ${Math.ceil(log.length / inputs.length)})`);

// 2. record: what the machines make of them (live and replay share the hosting code; the fixture tests prove the equivalence)
const made: { id: string; type: string; data: unknown }[] = [];
const recorder = new Replayer({ ...deps, compare: false, onOutput: (o) => made.push({ id: o.messageId, type: o.type, data: o.data }) });
for (const e of log) await recorder.feed(e);
const outputs: ExportedEvent[] = made.map(({ id, type, data }, i) => ({
  position: log.length + i + 1,
  stream_id: 'x',
  version: 0,
  type,
  data,
  // the decision's cause, as live outputs carry it (the input's id: the output id without its last `:type`)
  metadata: { source: 'output', cause: id.slice(0, id.lastIndexOf(':')) },
  message_id: id,
  recorded_at: '',
}));
recorder.stop();
const recorded = [...log, ...outputs];

// 3. baseline: the routing alone, no actors
function baseline(): number {
  const t0 = performance.now();
  const where = new Map<string, string | undefined>();
  let focus = 0;
  for (const e of recorded) {
    if (e.metadata?.source === 'output') continue;
    if (e.type === 'move') {
      const dep = departmentAt(e.data);
      if (where.get(e.data.id) === dep && dep) focus++;
      where.set(e.data.id, dep);
    } else if (e.type === 'exit') where.delete(e.data.id);
  }
  if (focus < 0) console.log(focus);
  return performance.now() - t0;
}

// 3b. the floor of one transition per input: a per-customer actor that counts, ended by the exit
const counter = setup({ types: { context: {} as { n: number }, events: {} as { type: string } } }).createMachine({
  context: { n: 0 },
  initial: 'in',
  states: { in: { on: { '*': { actions: assign({ n: ({ context }) => context.n + 1 }) }, exit: 'out' } }, out: { type: 'final' } },
});
function oneTransitionEach(): number {
  const t0 = performance.now();
  const actors = new Map<string, AnyActorRef>();
  for (const e of recorded) {
    if (e.metadata?.source !== 'mqtt') continue;
    const id = String(e.data.id);
    const a = actors.get(id) ?? createActor(counter).start();
    actors.set(id, a);
    a.send({ type: e.type });
    if (e.type === 'exit') actors.delete(id);
  }
  return performance.now() - t0;
}

// 4. the replay, timed, compared output by output
async function timedReplay() {
  const r = new Replayer(deps);
  const t0 = performance.now();
  const order = new DecisionOrder();
  for (const e of recorded) for (const x of order.push(e)) if (r.feedSync(x)) await r.settle();
  for (const x of order.end()) if (r.feedSync(x)) await r.settle();
  const report = r.report(Date.now());
  const ms = performance.now() - t0;
  r.stop();
  return { ms, report };
}

const runs: { ms: number; base: number; floor: number }[] = [];
for (let i = 0; i < 3; i++) {
  const base = baseline();
  const floor = oneTransitionEach();
  const { ms, report } = await timedReplay();
  if (report.different + report.missing + report.extra) throw new Error(`replay diverged: ${JSON.stringify(report.firstDifference)}`);
  runs.push({ ms, base, floor });
  console.log(
    `run ${i + 1}: ${(ms / 1000).toFixed(2)} s = ${Math.round((log.length / ms) * 1000).toLocaleString()} events/s, ${report.identical} outputs identical; plain routing loop ${base.toFixed(0)} ms; one XState transition per input ${(floor / 1000).toFixed(2)} s`,
  );
}
const floorMs = runs.map((r) => r.floor).sort((a, b) => a - b)[1];
runs.sort((a, b) => a.ms - b.ms);
const median = runs[1];
console.log(
  `\nreplay of ${log.length.toLocaleString()} events: ${(median.ms / 1000).toFixed(2)} s (median of 3; target < 5 s), ${Math.round((log.length / median.ms) * 1000).toLocaleString()} events/s = ${(median.base / median.ms).toFixed(3)} of the plain routing loop, ${(floorMs / median.ms).toFixed(2)} of one XState transition per input (${Math.round((log.length / floorMs) * 1000).toLocaleString()} events/s)`,
);
if (values.json) {
  const rate = (log.length / median.ms) * 1000;
  printBenchJson({
    bench: 'replay',
    setting: `${log.length.toLocaleString('en-US')} events, median of 3`,
    rows: [
      {
        figure: 'replay through fresh machines, compared output by output',
        value: Math.round(rate),
        unit: 'events/s',
        baseline: { what: 'plain routing loop, no actors', value: Math.round((log.length / median.base) * 1000) },
        ratio: median.base / median.ms,
        target: '≥ 200,000 events/s',
        met: rate >= 200_000,
      },
      {
        figure: "the actor design's floor: the same inputs, one XState transition each (a per-customer actor, one assign)",
        value: Math.round((log.length / floorMs) * 1000),
        unit: 'events/s',
        baseline: { what: 'plain routing loop, no actors', value: Math.round((log.length / median.base) * 1000) },
        ratio: median.base / floorMs,
        note: `replay runs at ${(floorMs / median.ms).toFixed(2)} of it`,
      },
    ],
  });
}
