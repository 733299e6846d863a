/**
 * A recommender session is a cache of its customer's stream: two processors ("replicas"), each appending through
 * its own writer to one log, decide for the same customers. What one decided counts for the other; a decision
 * appended against a stream another writer moved on is refused and made again from the log. Each replica is an
 * engine (adapters/engine/engine.ts) over its writer: the test appends an input and runs it through the engine, which
 * has the processor decide, appends the outputs with their expected versions and reconciles what the log refused; to
 * interleave the replicas, the test holds a replica's appends back (its decisions made, not yet logged).
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { generateStore } from '../actors/data/store-generator.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { toExported, type EventLog, type ExportedEvent } from '../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { fromFlat } from '../schemas/events.ts';
import { RecommenderProcessor } from '../adapters/recommender/processor.ts';
import { recoverSessions } from '../adapters/recommender/recovery.ts';
import type { Input, Output } from '../adapters/process/processor-contract.ts';
import { appendedTo, Engine, type OutputLog } from '../adapters/engine/engine.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';
import { replay } from '../adapters/engine/replay.ts';

const store = generateStore({ seed: 5, customers: 20, products: 400, days: 120 });
const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
const customers = new Map(store.customers.map((c) => [c.customer_id, c]));
// the committed model: one customer, one department, the same best coupon, so two replicas deciding blind repeat it
const scorer = await inProcessScorer('');
const TS = Date.parse(`${store.coupons[0].start_date}T12:00:00Z`) / 1000;

const SETTINGS = { maxCoupons: 10, threshold: 0, couponValidity: 'ignore', idleTimeoutS: 7200 } as const;

function replica(log: EventLog) {
  const rebuilt: string[] = [];
  const processor = new RecommenderProcessor({
    catalogue: () => catalogue,
    customer: (id) => customers.get(id) ?? null,
    scorer: () => scorer,
    settings: () => SETTINGS,
    topic: 'p',
    format: 'flat',
    shared: { log, localFocus: false, onRebuilt: (why) => rebuilt.push(why) },
  });
  let n = 0;
  const refused: string[] = [];
  /** What the processor decided, as the engine handed it to the log (before the log took it). */
  const decided: Output[][] = [];
  let held: { until: Promise<void>; release: () => void } | undefined;
  const appended = appendedTo(log);
  // the event log as the engine's output log, noting what it was handed and what it refused, held back when asked
  const outputs: OutputLog = {
    async append(outs, cause) {
      decided.push(outs);
      if (held) await held.until;
      const logged = await appended.append(outs, cause);
      if (logged.some((e) => e.skipped)) refused.push(logged.some((e) => e.skipped === 'conflict') ? 'conflict' : 'duplicate');
      return logged;
    },
  };
  const engine = new Engine({ outputs, handOffLocally: false, log: silentLogger });
  const registration = { processor, name: 'recommender' };
  engine.register(registration);
  return {
    rebuilt,
    refused,
    decided,
    stop: () => processor.stop(),
    /** An input appended through this replica's writer. */
    async input(type: 'entry' | 'focus' | 'exit', data: Record<string, unknown>): Promise<Input> {
      const [logged] = await log.append([
        { streamId: `customer-${data.id}`, type, data, messageId: `${type}-${data.id}-${data.ts}-${n++}`, metadata: { source: 'mqtt' } },
      ]);
      return { logged, event: must(fromFlat(type, data), 'the logged event') };
    },
    /** A logged input through the engine: decided, its outputs appended, refused ones reconciled. Resolves with what was logged. */
    run: (input: Input) => Engine.settled(engine.run(input)),
    /** This replica's appends wait (its decisions are made, not logged) until `release`. */
    hold() {
      let release!: () => void;
      const until = new Promise<void>((ok) => (release = ok));
      held = { until, release };
    },
    release() {
      held?.release();
      held = undefined;
    },
    /** A restart: the sessions' open visits read from the log (recovery), run again through the engine. */
    recover: async () => engine.recover(registration, await recoverSessions(log, processor, { idleTimeoutS: SETTINGS.idleTimeoutS, localFocus: false })),
  };
}

/** One process replaying the log the replicas wrote (`npm run replay`'s path): what differs from what they decided. */
async function replayed(log: EventLog) {
  const started: ExportedEvent = {
    position: 0,
    stream_id: 'recommender',
    version: 1,
    type: 'recommender_started',
    data: { settings: SETTINGS },
    metadata: {},
    message_id: null,
    recorded_at: '',
  };
  const r = await replay([started, ...(await log.read()).map(toExported)], { catalogue, customers, scorer, settings: SETTINGS });
  return { identical: r.identical, different: r.different, missing: r.missing, extra: r.extra };
}

/** Until each replica has decided (its decision handed to its log, held there). */
async function bothDecided(...replicas: { decided: Output[][] }[]) {
  const deadline = Date.now() + 2000;
  while (replicas.some((r) => r.decided.length === 0)) {
    if (Date.now() > deadline) throw new Error('a replica did not decide within 2 s');
    await new Promise((ok) => setTimeout(ok, 5));
  }
}

async function coupons(log: EventLog, customer: string) {
  return (await log.readStream(`customer-${customer}`))
    .filter((e) => e.type === 'prediction')
    .map((e) => [e.metadata.cause, (e.data as { coupon: { id: number } }).coupon.id]);
}

test('a customer first seen by this replica mid-visit: its session comes from the log, once, for inputs that arrive back to back', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  const entry = await b.input('entry', { id: '1', ts: TS });
  assert.equal(await b.run(entry), []);
  const f1 = await b.input('focus', { id: '1', ts: TS + 1, dep: 'Men' });
  await b.run(f1);
  // two focuses reach the other replica before it has decided either
  const f2 = await a.input('focus', { id: '1', ts: TS + 2, dep: 'Men' });
  const f3 = await a.input('focus', { id: '1', ts: TS + 3, dep: 'Men' });
  const timeout = new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the second input waited for itself')), 2000));
  await Promise.race([Promise.all([a.run(f2), a.run(f3)]), timeout]);
  const offered = await coupons(log, '1');
  assert.equal(
    offered.map(([cause]) => cause),
    [f1.logged.messageId, f2.logged.messageId, f3.logged.messageId],
  );
  assert.is(new Set(offered.map(([, coupon]) => coupon)).size, 3, `three different coupons: ${JSON.stringify(offered)}`);
  assert.equal(a.rebuilt, ['unfollowed']);
  assert.equal([a.refused, b.refused, b.rebuilt], [[], [], []]);
  a.stop();
  b.stop();
});

test('two replicas deciding for one customer at once: one decision is refused, its session rebuilt from the log, and it offers another coupon', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  const entry = await a.input('entry', { id: '2', ts: TS });
  await a.run(entry);
  const f1 = await a.input('focus', { id: '2', ts: TS + 1, dep: 'Women' });
  const f2 = await b.input('focus', { id: '2', ts: TS + 2, dep: 'Women' });
  // both decide before either decision is logged: blind, they pick the same coupon
  a.hold();
  b.hold();
  const [ra, rb] = [a.run(f1), b.run(f2)];
  await bothDecided(a, b);
  const coupon = (o: Output) => (o.data as { coupon: { id: number } }).coupon.id;
  assert.equal(coupon(a.decided[0][0]), coupon(b.decided[0][0]));
  a.release();
  await ra;
  b.release();
  await rb;
  const offered = await coupons(log, '2');
  assert.equal(
    offered.map(([cause]) => cause),
    [f1.logged.messageId, f2.logged.messageId],
  );
  assert.is.not(offered[0][1], offered[1][1], 'the refused decision was made again knowing the other');
  // a's decision was refused for b's focus in its stream, b's for a's decision
  assert.equal([a.refused, b.refused], [['conflict'], ['conflict']]);
  assert.equal([a.rebuilt, b.rebuilt], [['conflict'], ['unfollowed', 'conflict']]);
  // the log holds one decision per focus
  assert.equal(
    (await log.readStream('customer-2')).map((e) => e.type),
    ['entry', 'focus', 'focus', 'prediction', 'prediction'],
  );
  assert.equal(await replayed(log), { identical: 2, different: 0, missing: 0, extra: 0 });
  a.stop();
  b.stop();
});

test('a decision another replica logged already is not logged or published again', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  await a.run(await a.input('entry', { id: '3', ts: TS }));
  const f1 = await a.input('focus', { id: '3', ts: TS + 1, dep: 'Boys' });
  await a.run(f1);
  // the same logged focus handled by the other replica (a redelivery after a crash, say)
  assert.equal(await b.run(f1), []);
  assert.equal(b.refused, ['duplicate']);
  assert.equal(
    (await log.readStream('customer-3')).map((e) => e.type),
    ['entry', 'focus', 'prediction'],
  );
  a.stop();
  b.stop();
});

test('a focus a crashed replica logged but never decided, with a later focus decided by another: the restarted one counts that offer', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const crashed = replica(log.anotherWriter());
  const b = replica(log.anotherWriter());
  await b.run(await b.input('entry', { id: '4', ts: TS }));
  // logged, then the process died before deciding
  const f1 = await crashed.input('focus', { id: '4', ts: TS + 1, dep: 'Girls' });
  crashed.stop();
  const f2 = await b.input('focus', { id: '4', ts: TS + 2, dep: 'Girls' });
  await b.run(f2);
  // the restart: its sessions from the log, its undecided focus decided now, through the same path as live
  const restarted = replica(log.anotherWriter());
  await restarted.recover();
  const offered = await coupons(log, '4');
  assert.equal(
    offered.map(([cause]) => cause),
    [f2.logged.messageId, f1.logged.messageId],
  );
  assert.is.not(offered[0][1], offered[1][1], `two different coupons: ${JSON.stringify(offered)}`);
  assert.equal(restarted.refused, ['conflict']);
  // the log holds the later focus's decision first: replay decides in that order too
  assert.equal(await replayed(log), { identical: 2, different: 0, missing: 0, extra: 0 });
  restarted.stop();
  b.stop();
});

test('a focus a killed replica logged and never decided, read again by the one that takes its customers with the next focus right behind: logged as a replay decides', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const killed = replica(log.anotherWriter());
  const b = replica(log.anotherWriter());
  await killed.run(await killed.input('entry', { id: '5', ts: TS }));
  // logged, then the process was killed before deciding
  const f1 = await killed.input('focus', { id: '5', ts: TS + 1, dep: 'Men' });
  killed.stop();
  // the survivor reads it again (the partition's offset was not committed) and the customer's next focus behind it;
  // each decision goes to the log as the engine sends it, the first before the second
  const running1 = b.run(f1);
  const f2 = await b.input('focus', { id: '5', ts: TS + 2, dep: 'Men' });
  await Promise.all([running1, b.run(f2)]);
  const offered = await coupons(log, '5');
  assert.equal(
    offered.map(([cause]) => cause),
    [f1.logged.messageId, f2.logged.messageId],
  );
  assert.is.not(offered[0][1], offered[1][1], `two different coupons: ${JSON.stringify(offered)}`);
  // the focus another writer logged is no conflict of its own decision
  assert.equal([b.refused, b.rebuilt], [[], ['unfollowed']]);
  assert.equal(await replayed(log), { identical: 2, different: 0, missing: 0, extra: 0 });
  b.stop();
});

test.run();
