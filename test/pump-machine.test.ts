/** The pump machine on a simulated clock with a recording publisher: ticks, batches, rate, stop, reproducibility. */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { pumpMachine, type BatchResult, type Batch, type PumpSettings } from '../machines/pump.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import { DEPARTMENTS } from '../schemas/departments.ts';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function pump(settings: Partial<PumpSettings> = {}, opts: { seed?: string; publishMs?: number; fail?: boolean } = {}) {
  const clock = new SimulatedClock();
  const batches: { at: number; picks: { id: number; dep: string }[] }[] = [];
  const publishBatch = fromPromise<BatchResult, { batch: Batch }>(async ({ input }) => {
    const startedAt = clock.now();
    const { ids, deps, departments } = input.batch;
    batches.push({ at: startedAt, picks: [...ids].map((id, i) => ({ id, dep: departments[deps[i]] })) });
    if (opts.fail) throw new Error('broker down');
    return { sent: ids.length, failed: 0, startedAt, elapsedMs: opts.publishMs ?? 0 };
  });
  const actor = createActor(pumpMachine.provide({ actors: { publishBatch } }), {
    clock,
    input: {
      rng: createPrng(opts.seed ?? 'test'),
      minCustomerId: 1,
      maxCustomerId: 1000,
      departments: DEPARTMENTS,
      settings: { intervalMs: 1000, eventsPerTick: 1, rate: 0, ...settings },
    },
  });
  const emitted: string[] = [];
  actor.on('*', (e) => void emitted.push(e.type === 'publishFailed' ? `failed:${e.error}` : e.type));
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  const advance = async (ms: number, step = 1) => {
    for (let t = 0; t < ms; t += step) {
      clock.increment(step);
      await flush();
    }
  };
  return { actor, clock, batches, emitted, errors, advance };
}

test('stopped until START; then one batch at once and one every interval; STOP ends the ticks', async () => {
  const p = pump({ intervalMs: 1000, eventsPerTick: 3 });
  await p.advance(3000, 100);
  assert.is(p.batches.length, 0);
  assert.is(p.actor.getSnapshot().value, 'stopped');
  p.actor.send({ type: 'START', by: 'test' });
  await flush();
  assert.is(p.batches.length, 1);
  await p.advance(3000, 100);
  assert.equal(
    p.batches.map((b) => b.at - p.batches[0].at),
    [0, 1000, 2000, 3000],
  );
  assert.ok(p.batches.every((b) => b.picks.length === 3));
  p.actor.send({ type: 'STOP', by: 'test' });
  await p.advance(3000, 100);
  assert.is(p.batches.length, 4);
  assert.equal(p.emitted, ['started', 'stopped']);
  // START while running and STOP while stopped change nothing
  p.actor.send({ type: 'STOP', by: 'again' });
  p.actor.send({ type: 'START', by: 'test' });
  p.actor.send({ type: 'START', by: 'twice' });
  await flush();
  assert.equal(p.emitted, ['started', 'stopped', 'started']);
  assert.equal(p.errors, []);
});

test('picks: ids uniform in MIN..MAX, the five departments, reproducible from the seed', async () => {
  const draw = async (seed: string) => {
    const p = pump({ eventsPerTick: 5000 }, { seed });
    p.actor.send({ type: 'START', by: 'test' });
    await flush();
    return p.batches[0].picks;
  };
  const a = await draw('s1');
  assert.equal(await draw('s1'), a);
  assert.not.equal(await draw('s2'), a);
  assert.ok(a.every((x) => Number.isInteger(x.id) && x.id >= 1 && x.id <= 1000));
  const deps = new Map<string, number>();
  for (const x of a) deps.set(x.dep, (deps.get(x.dep) ?? 0) + 1);
  assert.equal([...deps.keys()].sort(), [...DEPARTMENTS].sort());
  for (const n of deps.values()) assert.ok(n > 800 && n < 1200, `department share ${n}/5000`);
  const lowHalf = a.filter((x) => x.id <= 500).length;
  assert.ok(lowHalf > 2300 && lowHalf < 2700, `ids uniform: ${lowHalf}/5000 in the lower half`);
});

test('a target rate that is not a whole number per tick is met on average (fractions carried)', async () => {
  const p = pump({ intervalMs: 100, rate: 25 });
  p.actor.send({ type: 'START', by: 'test' });
  await p.advance(2000 - 1, 10);
  assert.is(p.batches.length, 20);
  const counts = p.batches.map((b) => b.picks.length);
  assert.is(
    counts.reduce((s, n) => s + n, 0),
    50,
  );
  assert.ok(counts.every((n) => n === 2 || n === 3));
});

test('a batch that takes longer than the interval starts the next one at once; settings apply live', async () => {
  const p = pump({ intervalMs: 100, eventsPerTick: 1 }, { publishMs: 250 });
  p.actor.send({ type: 'START', by: 'test' });
  await p.advance(30, 10);
  // the publisher says each batch took 250 ms: no wait at all before the next one
  assert.ok(p.batches.length >= 3, `${p.batches.length} batches in 30 ms`);
  assert.ok(
    p.batches.every((b, i) => i === 0 || b.at - p.batches[i - 1].at < 100),
    JSON.stringify(p.batches.map((b) => b.at)),
  );
  p.actor.send({ type: 'SETTINGS', settings: { eventsPerTick: 7 } });
  await p.advance(20, 10);
  assert.is(must(p.batches.at(-1), 'p.batches.at(-1)').picks.length, 7);
});

test('publication failures are reported and the pump keeps ticking', async () => {
  const p = pump({ intervalMs: 100 }, { fail: true });
  p.actor.send({ type: 'START', by: 'test' });
  await p.advance(250, 10);
  assert.is(p.batches.length, 3);
  assert.equal(p.emitted, ['started', 'failed:broker down', 'failed:broker down', 'failed:broker down']);
  assert.is(p.actor.getSnapshot().status, 'active');
  assert.equal(p.errors, []);
});

test.run();
