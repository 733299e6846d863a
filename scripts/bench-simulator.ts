/**
 * `npm run bench:simulator`: how fast the customer simulator runs, against a plain loop that makes
 * the same kind of position updates without actors (same geometry and random streams, no XState,
 * no clock, no timeline), measured in the same run. Repeats, prints medians.
 *   1. virtual time: events/s of simulateDay (target ≥ 100,000/s)
 *   2. real time: concurrent shoppers one process sustains at SIM_SPEED 1 (target 10,000): the share
 *      of wall time the timeline checks take, and the shoppers that would fill one core.
 * Publication (MQTT) is not included: see the broker's own benchmarks.
 *   BENCH_REPEATS=3 BENCH_SHOPPERS=10000 BENCH_SECONDS=20 npm run bench:simulator
 */
import { cli } from './cli.ts';
import { simulateDay, CustomerSimulation, defaultCustomers, meanVisitMs } from '../adapters/simulator/simulation.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import { DELAYS, DOORS, advance, jitterInside, legVia, spotIn, wanderStep, round, type Stop } from '../actors/simulator/shopper.ts';
import { STORE_PLAN, type Point } from '../actors/data/store-plan.ts';
import type { Department } from '../schemas/departments.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { JSON_OPTION, printBenchJson } from './bench-report.ts';

// a real gc() for the heap-per-shopper figure (tsx gives no way to pass --expose-gc)
setFlagsFromString('--expose-gc');
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? runInNewContext('gc');

const { values } = cli({
  usage: 'npm run bench:simulator -- [--json]',
  summary: 'The customer simulator in virtual time (events/s) and in real time (shoppers one process sustains), against a plain loop measured in the same run.',
  options: JSON_OPTION,
  more: 'environment: BENCH_REPEATS (3), BENCH_SHOPPERS (10000), BENCH_SECONDS (20)',
});
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SHOPPERS = Number(process.env.BENCH_SHOPPERS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Baseline: `n` position updates from a plain loop over the same geometry (walk, dwell, wander). */
function plainLoop(n: number): number {
  const rng = createPrng('baseline');
  const deps = Object.keys(DOORS) as Department[];
  const out: { id: string; at: number; x: number; y: number }[] = [];
  let t = 0,
    pos: Point = { ...STORE_PLAN.entrance },
    s = 507,
    c = 0;
  while (out.length < n) {
    const dep = rng.pick(deps),
      spot = spotIn(dep, rng);
    let wps = legVia(s, DOORS[dep], [spot]);
    while (wps.length && out.length < n) {
      const a = advance(pos, wps, 90);
      pos = round(a.pos);
      wps = a.waypoints;
      t += DELAYS.walk(rng);
      out.push({ id: String(c), at: t, x: pos.x, y: pos.y });
    }
    const stop: Stop = { kind: 'department', dep, moves: 3 + rng.poisson(2) };
    for (let k = 0; k < stop.moves && out.length < n; k++) {
      pos = jitterInside(spot, STORE_PLAN.departments[dep], rng);
      t += DELAYS.dwell(rng);
      out.push({ id: String(c), at: t, x: pos.x, y: pos.y });
    }
    s = DOORS[dep];
    let dir: 1 | -1 = 1;
    for (let k = 0; k < 6 && out.length < n; k++) {
      const w = wanderStep(s, dir, rng);
      s = w.s;
      dir = w.dir;
      pos = w.pos;
      t += DELAYS.wander(rng);
      out.push({ id: String(c), at: t, x: pos.x, y: pos.y });
    }
    c++;
  }
  return out.length;
}

function virtualTime() {
  const customers = defaultCustomers(1);
  meanVisitMs(customers); // calibration outside the timing
  const rates: number[] = [],
    base: number[] = [];
  let events = 0;
  for (let i = 0; i < REPEATS; i++) {
    let t0 = performance.now();
    const r = simulateDay({ seed: i + 1, customers, from: '2010-03-01T09:00:00Z', hours: 0.5, averageInStore: 500 });
    const ms = performance.now() - t0;
    events = r.events.length;
    rates.push((events / ms) * 1000);
    t0 = performance.now();
    plainLoop(events);
    base.push((events / (performance.now() - t0)) * 1000);
  }
  const rate = median(rates),
    b = median(base);
  console.log(`virtual time: ${fmt(rate)} events/s (median of ${REPEATS}, ${fmt(events)} events each; target ≥ 100,000)`);
  console.log(`  baseline plain loop: ${fmt(b)} events/s; ratio actors/baseline = ${(rate / b).toFixed(3)}`);
  return { rate, baseline: b };
}

async function realTime() {
  const busy: number[] = [],
    perSec: number[] = [],
    inside: number[] = [],
    heap: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const start = Date.now();
    const sim = new CustomerSimulation({
      seed: i + 1,
      customers: defaultCustomers(1, Math.max(1000, SHOPPERS * 2)),
      averageInStore: SHOPPERS,
      startMs: start,
      warmStart: true,
    });
    sim.openDoors();
    // the warm crowd walks in during the first 30 s: fast-forward it, then run in real time
    sim.check(start + 31_000);
    const simBase = start + 31_000,
      realBase = performance.now();
    let spent = 0,
      events = 0,
      checks = 0,
      lastCheck = simBase;
    const measureFrom = realBase + (SECONDS * 1000) / 4;
    let measuredSpent = 0,
      measuredEvents = 0;
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const t0 = performance.now();
        lastCheck = simBase + (now - realBase);
        const r = sim.check(lastCheck, Infinity);
        const dt = performance.now() - t0;
        spent += dt;
        events += r.events.length;
        checks++;
        if (now >= measureFrom) {
          measuredSpent += dt;
          measuredEvents += r.events.length;
        }
        if (now - realBase >= SECONDS * 1000) {
          clearInterval(timer);
          done();
        }
      }, 1000);
    });
    const wall = SECONDS * 1000 - (measureFrom - realBase);
    busy.push(measuredSpent / wall);
    perSec.push((measuredEvents / wall) * 1000);
    inside.push(sim.registry.size);
    gc();
    heap.push((process.memoryUsage().heapUsed - heap0) / Math.max(1, sim.registry.size));
    // due at the last check and not taken (moves planned ahead and due since then are not behind)
    const lag = sim.timeline.backlog(lastCheck);
    if (lag.due > 0) console.log(`  run ${i + 1}: ${lag.due} events left behind`);
    sim.close();
    void spent;
    void events;
    void checks;
  }
  const b = median(busy),
    eps = median(perSec),
    n = median(inside);
  console.log(`real time: ${fmt(n)} shoppers inside (target 10,000), ${fmt(eps)} events/s, checks take ${(b * 100).toFixed(1)} % of one core`);
  console.log(`  ≈ ${fmt(n / b)} shoppers would fill one core; ~${fmt(median(heap) / 1024)} KB heap per shopper`);
  return { shoppers: n, busy: b, eventsPerS: eps };
}

const v = virtualTime();
const r = await realTime();
// ratio for real time: the actors' CPU per event against the plain loop's
const perEventActors = r.busy / Math.max(1, r.eventsPerS),
  perEventBase = 1 / v.baseline;
console.log(
  `  baseline: the plain loop would take ${((r.eventsPerS / v.baseline) * 100).toFixed(2)} % of a core for the same events; ratio actors/baseline cost = ${(perEventActors / perEventBase).toFixed(1)}×`,
);
if (values.json)
  printBenchJson({
    bench: 'simulator',
    setting: `${REPEATS} repeat(s), ${SHOPPERS.toLocaleString('en-US')} shoppers for ${SECONDS} s in real time`,
    rows: [
      {
        figure: 'simulator, virtual time',
        value: Math.round(v.rate),
        unit: 'events/s',
        baseline: { what: 'plain loop, same geometry', value: Math.round(v.baseline) },
        ratio: v.rate / v.baseline,
        target: '≥ 100,000 events/s',
        met: v.rate >= 100_000,
      },
      {
        figure: 'simulator, real time: shoppers in one process',
        value: Math.round(r.shoppers),
        unit: 'shoppers',
        note: `${(r.busy * 100).toFixed(1)} % of a core; ≈ ${Math.round(r.shoppers / Math.max(r.busy, 1e-9)).toLocaleString('en-US')} would fill one`,
        ratio: perEventActors / perEventBase,
        ratioIs: 'CPU per event, actors / plain loop',
        target: '10,000 shoppers',
        met: r.shoppers >= 10_000,
      },
    ],
  });
