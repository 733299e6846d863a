/**
 * The session machine on its own: its own actors given a port in the session's input, as the recommender does, and
 * collaborators swapped with machine.provide() (test doubles), as XState's own tests do.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, enqueueActions, fromPromise, initialTransition, transition, waitFor as waitForState } from 'xstate';
import { sessionMachine, type FocusInput, type ScoreResult, type SessionEmitted, type SessionPort } from '../machines/session.ts';
import type { CustomerInfo } from '../actors/data/store-data.ts';
import { fromValueOrPromise } from '../actors/kernel/value-or-promise.ts';

/** What the machine hands its scoreCoupons actor. */
type ScoreInput = { customer: CustomerInfo; focus: FocusInput; offered: number[] };

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

/** A session whose context load is released by hand and whose scorer offers coupons 1, 2, 3 in turn. */
function harness(opts: { known?: boolean } = {}) {
  let release!: () => void;
  const loaded = new Promise<void>((ok) => (release = ok));
  const scored: { dep: string; offered: number[] }[] = [];
  const machine = sessionMachine.provide({
    actors: {
      loadCustomer: fromPromise(async () => {
        await loaded;
        return opts.known === false ? null : CUSTOMER;
      }),
      scoreCoupons: fromPromise<ScoreResult, ScoreInput>(async ({ input }) => {
        scored.push({ dep: input.focus.dep, offered: [...input.offered] });
        const next = [1, 2, 3].find((c) => !input.offered.includes(c));
        return next ? { couponId: next, score: 0.5 } : { reason: 'all_offered' };
      }),
    },
  });
  const actor = createActor(machine, { input: { customerId: '7', idleTimeoutS: 7200 } });
  const emitted: SessionEmitted[] = [];
  actor.on('*', (e) => emitted.push(e as SessionEmitted));
  actor.start();
  return { actor, release, emitted, scored };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

test('entry loads the context; a focus meanwhile waits and is scored after', async () => {
  const h = harness();
  h.actor.send({ type: 'entry', ts: 100, inputId: 'e1' });
  h.actor.send({ type: 'focus', ts: 110, dep: 'Men', inputId: 'f1' });
  assert.is(h.actor.getSnapshot().value, 'loadingContext');
  assert.is(h.emitted.length, 0);
  h.release();
  await waitForState(h.actor, (s) => s.value === 'ready' && s.context.offered.length === 1);
  assert.equal(h.emitted, [{ type: 'decision', customerId: '7', focus: { inputId: 'f1', ts: 110, dep: 'Men' }, result: { couponId: 1, score: 0.5 } }]);
});

test('a repeat focus never repeats a coupon; exhausted → all_offered', async () => {
  const h = harness();
  h.release();
  for (let i = 0; i < 4; i++) h.actor.send({ type: 'focus', ts: 100 + i, dep: 'Boys', inputId: `f${i}` });
  await waitForState(h.actor, (s) => s.value === 'ready' && s.context.pending.length === 0 && h.emitted.length === 4);
  assert.equal(
    h.emitted.map((e) => (e.type === 'decision' ? e.result : null)),
    [{ couponId: 1, score: 0.5 }, { couponId: 2, score: 0.5 }, { couponId: 3, score: 0.5 }, { reason: 'all_offered' }],
  );
  assert.equal(
    h.scored.map((s) => s.offered),
    [[], [1], [1, 2], [1, 2, 3]],
  );
});

test('exit ends the session after pending focuses are decided', async () => {
  const h = harness();
  h.actor.send({ type: 'focus', ts: 100, dep: 'Girls', inputId: 'f1' });
  h.actor.send({ type: 'exit', ts: 101, inputId: 'x1' });
  h.release();
  await waitForState(h.actor, (s) => s.status === 'done');
  assert.is(h.emitted.length, 1);
  assert.equal(h.actor.getSnapshot().output, { customerId: '7', offered: [1], reason: 'exit' });
  assert.equal(
    h.actor.getSnapshot().context.path.map((p) => p.state),
    ['loadingContext', 'ready', 'scoring', 'ready', 'ended'],
  );
});

test('unknown customer: one warning, every focus declined with the reason', async () => {
  const h = harness({ known: false });
  h.actor.send({ type: 'focus', ts: 100, dep: 'Men', inputId: 'f1' });
  h.release();
  await settle();
  h.actor.send({ type: 'focus', ts: 101, dep: 'Men', inputId: 'f2' });
  await settle();
  assert.equal(
    h.emitted.map((e) => e.type),
    ['unknownCustomer', 'decision', 'decision'],
  );
  assert.equal(
    h.emitted.filter((e) => e.type === 'decision').map((e) => e.result),
    [{ reason: 'unknown_customer' }, { reason: 'unknown_customer' }],
  );
  assert.equal(h.scored, []);
});

test('idle timeout in event time ends a forgotten session; a recent one survives', async () => {
  const h = harness();
  h.actor.send({ type: 'entry', ts: 1000, inputId: 'e1' });
  h.release();
  await settle();
  h.actor.send({ type: 'tick', ts: 1000 + 7199 });
  assert.is(h.actor.getSnapshot().status, 'active');
  h.actor.send({ type: 'tick', ts: 1000 + 7200 });
  assert.is(h.actor.getSnapshot().status, 'done');
  assert.equal(h.actor.getSnapshot().output, { customerId: '7', offered: [], reason: 'idle' });
});

test('a failing context load does not crash the session', async () => {
  const machine = sessionMachine.provide({
    actors: {
      loadCustomer: fromPromise<CustomerInfo | null, { customerId: string }>(async () => {
        throw new Error('db down');
      }),
    },
  });
  const actor = createActor(machine, { input: { customerId: '9', idleTimeoutS: 10 } });
  const emitted: SessionEmitted[] = [];
  actor.on('*', (e) => emitted.push(e as SessionEmitted));
  actor.start();
  actor.send({ type: 'focus', ts: 1, dep: 'Men', inputId: 'f' });
  await settle();
  assert.equal(
    emitted.map((e) => e.type),
    ['contextFailed', 'decision'],
  );
  assert.equal((emitted[1] as Extract<SessionEmitted, { type: 'decision' }>).result, { reason: 'unknown_customer' });
});

test('fromValueOrPromise: a value decides within the send, a promise once settled, a throw or rejection is scorer_failed', async () => {
  const results: (() => ScoreResult | Promise<ScoreResult>)[] = [
    () => ({ couponId: 1, score: 0.9 }),
    () => {
      throw new Error('model broken');
    },
    () => Promise.resolve({ couponId: 2, score: 0.8 }),
    () => Promise.reject(new Error('scorer down')),
    () => ({ couponId: 3, score: 0.7 }),
  ];
  let call = 0;
  const machine = sessionMachine.provide({
    actors: {
      loadCustomer: fromPromise<CustomerInfo | null, { customerId: string }>(async () => CUSTOMER),
      scoreCoupons: fromValueOrPromise<ScoreResult, ScoreInput>(() => results[call++]()),
    },
  });
  const actor = createActor(machine, { input: { customerId: '7', idleTimeoutS: 7200 } });
  const decisions: unknown[] = [];
  actor.on('decision', (e) => decisions.push(e.result));
  actor.start();
  await waitForState(actor, (s) => s.value === 'ready');
  actor.send({ type: 'focus', ts: 1, dep: 'Men', inputId: 'f1' });
  assert.equal(decisions, [{ couponId: 1, score: 0.9 }], 'decided before send returned');
  assert.is(actor.getSnapshot().value, 'ready');
  actor.send({ type: 'focus', ts: 2, dep: 'Men', inputId: 'f2' });
  assert.equal(decisions.at(-1), { reason: 'scorer_failed' });
  actor.send({ type: 'focus', ts: 3, dep: 'Men', inputId: 'f3' });
  actor.send({ type: 'focus', ts: 4, dep: 'Men', inputId: 'f4' });
  actor.send({ type: 'focus', ts: 5, dep: 'Men', inputId: 'f5' });
  assert.is(actor.getSnapshot().value, 'scoring', 'a pending promise keeps the session scoring; later focuses wait');
  await waitForState(actor, (s) => s.value === 'ready' && s.context.pending.length === 0);
  assert.equal(decisions, [
    { couponId: 1, score: 0.9 },
    { reason: 'scorer_failed' },
    { couponId: 2, score: 0.8 },
    { reason: 'scorer_failed' },
    { couponId: 3, score: 0.7 },
  ]);
  assert.equal(actor.getSnapshot().context.offered, [1, 2, 3]);
});

test('as a pure function (initialTransition / transition): a focus before the context waits; an exit meanwhile is remembered; nothing is emitted yet', () => {
  const [s0, start] = initialTransition(sessionMachine, { customerId: '7', idleTimeoutS: 7200 });
  assert.is(s0.value, 'loadingContext');
  assert.ok(
    start.some((a) => a.type === 'xstate.spawnChild'),
    'the context load is invoked',
  );
  const [s1, a1] = transition(sessionMachine, s0, { type: 'focus', ts: 110, dep: 'Men', inputId: 'f1' });
  assert.is(s1.value, 'loadingContext');
  assert.equal(s1.context.pending, [{ inputId: 'f1', ts: 110, dep: 'Men' }]);
  assert.equal(
    a1.map((a) => a.type).filter((t) => t === 'emitDecision' || t === 'warnUnknownCustomer'),
    [],
    'no decision yet',
  );
  const [s2] = transition(sessionMachine, s1, { type: 'exit', ts: 120, inputId: 'x1' });
  assert.equal([s2.value, s2.context.exitRequested, s2.context.lastTs], ['loadingContext', true, 120]);
});

test('a customer at hand opens ready (no load); a scorer that answers at once decides within the focus, never entering scoring', () => {
  const scored: number[][] = [];
  const machine = sessionMachine.provide({
    actors: {
      loadCustomer: fromPromise<CustomerInfo | null, { customerId: string }>(async () => {
        throw new Error('not to be loaded: the row came with the input');
      }),
    },
    guards: { scoresAtOnce: () => true },
    actions: {
      decideAtOnce: enqueueActions(({ context, enqueue }) => {
        scored.push([...context.offered]);
        const next = [1, 2].find((c) => !context.offered.includes(c));
        const result: ScoreResult = next ? { couponId: next, score: 0.5 } : { reason: 'all_offered' };
        enqueue({ type: 'finishScoring', params: result });
        enqueue({ type: 'emitDecision', params: result });
      }),
    },
  });
  const actor = createActor(machine, { input: { customerId: '7', idleTimeoutS: 7200, customer: CUSTOMER } });
  const emitted: SessionEmitted[] = [];
  const values: unknown[] = [];
  actor.on('*', (e) => emitted.push(e as SessionEmitted));
  actor.subscribe((s) => values.push(s.value));
  actor.start();
  assert.is(actor.getSnapshot().value, 'ready');
  actor.send({ type: 'entry', ts: 100, inputId: 'e1' });
  for (const [i, ts] of [110, 120, 130].entries()) actor.send({ type: 'focus', ts, dep: 'Men', inputId: `f${i + 1}` });
  assert.equal(emitted, [
    { type: 'decision', customerId: '7', focus: { inputId: 'f1', ts: 110, dep: 'Men' }, result: { couponId: 1, score: 0.5 } },
    { type: 'decision', customerId: '7', focus: { inputId: 'f2', ts: 120, dep: 'Men' }, result: { couponId: 2, score: 0.5 } },
    { type: 'decision', customerId: '7', focus: { inputId: 'f3', ts: 130, dep: 'Men' }, result: { reason: 'all_offered' } },
  ]);
  assert.equal(scored, [[], [1], [1, 2]], 'each decision saw the coupons offered before it');
  assert.ok(!values.includes('scoring') && !values.includes('loadingContext'), `states seen: ${JSON.stringify(values)}`);
  actor.send({ type: 'exit', ts: 140, inputId: 'x1' });
  assert.equal(
    actor.getSnapshot().context.path.map((p) => p.state),
    ['ready', 'scoring', 'ready', 'scoring', 'ready', 'scoring', 'ready', 'ended'],
  );
  assert.equal(actor.getSnapshot().output, { customerId: '7', offered: [1, 2], reason: 'exit' });
});

test('a customer known at once to be missing (null): one warning, and a focus is declined, with no load', () => {
  const actor = createActor(sessionMachine, { input: { customerId: '9', idleTimeoutS: 7200, customer: null } });
  const emitted: SessionEmitted[] = [];
  actor.on('*', (e) => emitted.push(e as SessionEmitted));
  actor.start();
  actor.send({ type: 'focus', ts: 5, dep: 'Boys', inputId: 'f1' });
  assert.equal(emitted, [
    { type: 'unknownCustomer', customerId: '9' },
    { type: 'decision', customerId: '9', focus: { inputId: 'f1', ts: 5, dep: 'Boys' }, result: { reason: 'unknown_customer' } },
  ]);
  assert.is(actor.getSnapshot().value, 'ready');
});

test('no provide(): the port in the input reads the customer (a promise) and decides; at once with scorerAtOnce, and for a recalled focus', async () => {
  const asked: string[] = [];
  const run = async (scorerAtOnce: boolean) => {
    asked.length = 0;
    const port: SessionPort = {
      customer: async (id) => {
        asked.push(`customer ${id}`);
        return CUSTOMER;
      },
      // a remote scorer answers later; a recalled decision (f2) is in hand
      decide: ({ focus, offered }) => {
        asked.push(`decide ${focus.inputId} [${offered}]`);
        const result = { couponId: offered.length + 1, score: 0.5 };
        return scorerAtOnce || focus.inputId === 'f2' ? result : Promise.resolve(result);
      },
    };
    const actor = createActor(sessionMachine, { input: { customerId: '7', idleTimeoutS: 7200, scorerAtOnce, port } });
    const emitted: SessionEmitted[] = [];
    actor.on('*', (e) => emitted.push(e as SessionEmitted));
    actor.start();
    await waitForState(actor, (s) => s.value === 'ready');
    actor.send({ type: 'focus', ts: 110, dep: 'Men', inputId: 'f1' });
    const atOnce = emitted.length;
    await waitForState(actor, (s) => s.value === 'ready' && s.context.offered.length === 1);
    actor.send({ type: 'focus', ts: 120, dep: 'Men', inputId: 'f2', recalled: true });
    const recalledAtOnce = emitted.length - 1;
    return { atOnce, recalledAtOnce, asked: [...asked], results: emitted.map((e) => (e.type === 'decision' ? [e.focus.inputId, e.result] : e.type)) };
  };
  const expected = {
    recalledAtOnce: 1,
    asked: ['customer 7', 'decide f1 []', 'decide f2 [1]'],
    results: [
      ['f1', { couponId: 1, score: 0.5 }],
      ['f2', { couponId: 2, score: 0.5 }],
    ],
  };
  assert.equal(await run(true), { atOnce: 1, ...expected });
  assert.equal(await run(false), { atOnce: 0, ...expected }, 'f1 waits in scoring for the remote scorer');
});

test.run();
