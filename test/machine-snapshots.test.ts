/**
 * Every machine's context is data: its persisted snapshot survives JSON (what a snapshot of a long log keeps) and the
 * actor restored from it goes on exactly as the one that never stopped — the same emitted events, the same snapshots.
 * The generators of the shoppers and the pump are state in context (actors/kernel/prng.ts), so they go on too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, initialTransition, SimulatedClock, transition, type AnyStateMachine } from 'xstate';
import { sessionMachine, type SessionEvent, type SessionPort } from '../machines/session.ts';
import { focusDetectorMachine, type DetectorEvent } from '../machines/focus-detector.ts';
import { customerMachine } from '../machines/customer.ts';
import { pumpMachine, type BatchResult, type Batch } from '../machines/pump.ts';
import { fromPromise } from 'xstate';
import type { CustomerInfo } from '../actors/data/store-data.ts';
import { createPrng } from '../actors/kernel/prng.ts';
import { DEPARTMENTS } from '../schemas/departments.ts';

/** A persisted snapshot as JSON would bring it back. */
const throughJson = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** `first` events to one actor, its persisted snapshot through JSON into a second; `then` events to both: what each emitted and ended as. */
function restoredMidRun<E extends { type: string }>(machine: AnyStateMachine, input: unknown, first: E[], then: E[]) {
  const run = (snapshot?: unknown) => {
    const actor = createActor(machine, { input, ...(snapshot ? { snapshot: snapshot as never } : {}) });
    const emitted: unknown[] = [];
    actor.on('*', (e) => void emitted.push(e));
    actor.start();
    return { actor, emitted };
  };
  const a = run();
  for (const e of first) a.actor.send(e);
  const persisted = a.actor.getPersistedSnapshot();
  const b = run(throughJson(persisted));
  assert.equal(throughJson(b.actor.getPersistedSnapshot()), throughJson(persisted), 'restored as persisted');
  a.emitted.length = 0;
  for (const e of then) {
    a.actor.send(e);
    b.actor.send(e);
  }
  assert.ok(a.emitted.length > 0, 'the run goes on emitting after the snapshot');
  assert.equal(b.emitted, a.emitted);
  assert.equal(throughJson(b.actor.getPersistedSnapshot()), throughJson(a.actor.getPersistedSnapshot()));
}

const CUSTOMER: CustomerInfo = {
  customer_id: 7,
  gender: 'F',
  age: 40,
  mean_buy_price: 10,
  total_coupons_used: 5,
  mean_discount_received: 10,
  unique_products_bought: 50,
  unique_products_bought_with_coupons: 5,
  total_items_bought: 60,
};

test('session: restored between two focuses, it offers what the one that never stopped offers', () => {
  // a port that offers the first of coupons 1–5 not offered yet, within the step
  const port: SessionPort = {
    customer: () => CUSTOMER,
    decide: ({ offered }) => {
      const next = [1, 2, 3, 4, 5].find((c) => !offered.includes(c));
      return next ? { couponId: next, score: 0.5 } : { reason: 'all_offered' };
    },
  };
  const focus = (ts: number, dep: 'Men' | 'Women', inputId: string): SessionEvent => ({ type: 'focus', ts, dep, inputId });
  restoredMidRun<SessionEvent>(
    sessionMachine,
    { customerId: '7', idleTimeoutS: 7200, customer: CUSTOMER, scorerAtOnce: true, port },
    [{ type: 'entry', ts: 100, inputId: 'e' }, focus(110, 'Men', 'f1'), focus(120, 'Women', 'f2')],
    [focus(130, 'Men', 'f3'), focus(140, 'Women', 'f4'), { type: 'exit', ts: 150, inputId: 'x' }],
  );
});

test('focus detector: restored mid-dwell, it announces the focus and the browsing the other does', () => {
  const move = (ts: number, x: number, y: number, inputId: string) => ({ ts, x, y, inputId });
  restoredMidRun<DetectorEvent>(
    focusDetectorMachine,
    { customerId: '7', idleTimeoutS: 60 },
    [
      { type: 'entry', ts: 1 },
      { type: 'zone', dep: 'Men', move: move(10, 900, 800, 'a') },
    ],
    [
      { type: 'lingered', move: move(12, 900, 800, 'c') },
      { type: 'zone', dep: undefined, move: move(13, 300, 200, 'd') },
      { type: 'lingered', move: move(18, 300, 200, 'i') },
      { type: 'exit', ts: 20 },
    ],
  );
});

test('customer (a simulated shopper): restored mid-visit, its generator in context, it walks the rest of the visit the same way', () => {
  // the pure transitions, the host's part (its timeline) played here: each leg ends with the delayed event it scheduled
  type Action = { type: string; params?: { event?: { type: string }; delay?: number } };
  type Step = [ReturnType<typeof initialTransition<typeof customerMachine>>[0], Action[]];
  const emittedOf = (actions: Action[]) => actions.filter((a) => a.type === 'xstate.emit').map((a) => a.params?.event);
  const delayed = (actions: Action[]) => actions.find((a) => a.type === 'xstate.raise' && a.params?.delay !== undefined)?.params?.event;
  const next = ([snapshot]: Step, event: { type: string }): Step => transition(customerMachine, snapshot, event as never) as unknown as Step;
  const rest = (start: Step) => {
    let step = start;
    const emitted: unknown[] = [];
    for (let event = delayed(step[1]); event; event = delayed(step[1])) {
      step = next(step, event);
      emitted.push(...emittedOf(step[1]));
    }
    assert.is(step[0].status, 'done');
    return { emitted, output: step[0].output };
  };
  // a visit of three stops or more (the first such of the seed's visits)
  const visit = (n: number) => ({ profile: { customerId: '1', gender: 'F' as const, age: 30 }, rng: createPrng('snapshots').fork(`visit/${n}`) });
  let n = 0;
  while (initialTransition(customerMachine, visit(n))[0].context.stops.length < 3) n++;
  let step = initialTransition(customerMachine, visit(n)) as unknown as Step;
  for (let leg = 0; leg < 3; leg++) step = next(step, delayed(step[1]) as { type: string });
  const persisted = throughJson(customerMachine.getPersistedSnapshot(step[0])) as unknown as { context: { rng: object } };
  assert.equal(Object.keys(persisted.context.rng), ['key', 's']);
  const restored = customerMachine.resolveState(persisted as never);
  const went = rest(step);
  assert.ok(went.emitted.length >= 3, 'the visit goes on after the snapshot');
  assert.equal(rest([restored, step[1]]), went);
});

test('pump: restored after a run, its generator in context, it draws the batches the one that never stopped draws', async () => {
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  const pump = (snapshot?: unknown, now = 0) => {
    const clock = new SimulatedClock();
    clock.set(now);
    const batches: number[][] = [];
    const publishBatch = fromPromise<BatchResult, { batch: Batch }>(async ({ input }) => {
      batches.push([...input.batch.ids, ...input.batch.deps]);
      return { sent: input.batch.ids.length, failed: 0, startedAt: clock.now(), elapsedMs: 0 };
    });
    const input = {
      rng: createPrng('pump'),
      minCustomerId: 1,
      maxCustomerId: 1000,
      departments: DEPARTMENTS,
      settings: { intervalMs: 1000, eventsPerTick: 4, rate: 0 },
    };
    const actor = createActor(pumpMachine.provide({ actors: { publishBatch } }), { clock, input, ...(snapshot ? { snapshot: snapshot as never } : {}) });
    actor.start();
    const run = async (ms: number) => {
      actor.send({ type: 'START', by: 'test' });
      for (let t = 0; t < ms; t += 100) {
        clock.increment(100);
        await flush();
      }
      actor.send({ type: 'STOP', by: 'test' });
      await flush();
    };
    return { actor, batches, run, clock };
  };
  const a = pump();
  await a.run(2500);
  const persisted = throughJson(a.actor.getPersistedSnapshot());
  const b = pump(persisted, a.clock.now());
  a.batches.length = 0;
  await a.run(3500);
  await b.run(3500);
  assert.is(a.batches.length, 4);
  assert.equal(b.batches, a.batches);
  assert.equal(throughJson(b.actor.getPersistedSnapshot()), throughJson(a.actor.getPersistedSnapshot()));
});

test.run();
