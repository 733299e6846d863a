/**
 * A recommender session is a cache of its customer's stream: two processors ("replicas"), each appending through
 * its own writer to one log, decide for the same customers. What one decided counts for the other; a decision
 * appended against a stream another writer moved on is refused and made again from the log. Each replica is an
 * engine (adapters/engine/engine.ts) over its writer: the test appends an input, lets the processor decide, and hands
 * the outputs to the engine, which appends them with their expected versions and reconciles what the log refused —
 * two steps the test holds apart to interleave the replicas.
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
import type { Input, Output, Recovery } from '../adapters/process/processor-contract.ts';
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
  const appended = appendedTo(log);
  // the event log as the engine's output log, noting what it refused
  const outputs: OutputLog = {
    async append(outs, cause) {
      const logged = await appended.append(outs, cause);
      if (logged.some((e) => e.skipped)) refused.push(logged.some((e) => e.skipped === 'conflict') ? 'conflict' : 'duplicate');
      return logged;
    },
  };
  const engine = new Engine({ outputs, handOffLocally: false, log: silentLogger });
  const registration = { processor, name: 'recommender' };
  engine.register(registration);
  return {
    processor,
    rebuilt,
    refused,
    /** An input appended through this replica's writer. */
    async input(type: 'entry' | 'focus' | 'exit', data: Record<string, unknown>): Promise<Input> {
      const [logged] = await log.append([
        { streamId: `customer-${data.id}`, type, data, messageId: `${type}-${data.id}-${data.ts}-${n++}`, metadata: { source: 'mqtt' } },
      ]);
      return { logged, event: must(fromFlat(type, data), 'the logged event') };
    },
    /** The outputs through the engine: appended, refused ones reconciled. Resolves with what was logged. */
    emit: (input: Input, outputs: Output[]) => engine.emit(registration, outputs, input),
    /** What a restart left undone, through the engine (recovery). */
    recover: (recovery: Recovery) => engine.recover(registration, recovery),
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
  assert.equal(await b.processor.handle(entry), []);
  const f1 = await b.input('focus', { id: '1', ts: TS + 1, dep: 'Men' });
  await b.emit(f1, await b.processor.handle(f1));
  // two focuses reach the other replica before it has decided either
  const f2 = await a.input('focus', { id: '1', ts: TS + 2, dep: 'Men' });
  const f3 = await a.input('focus', { id: '1', ts: TS + 3, dep: 'Men' });
  const timeout = new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the second input waited for itself')), 2000));
  const [o2, o3] = await Promise.race([Promise.all([a.processor.handle(f2), a.processor.handle(f3)]), timeout]);
  await a.emit(f2, o2);
  await a.emit(f3, o3);
  const offered = await coupons(log, '1');
  assert.equal(
    offered.map(([cause]) => cause),
    [f1.logged.messageId, f2.logged.messageId, f3.logged.messageId],
  );
  assert.is(new Set(offered.map(([, coupon]) => coupon)).size, 3, `three different coupons: ${JSON.stringify(offered)}`);
  assert.equal(a.rebuilt, ['unfollowed']);
  assert.equal([a.refused, b.refused, b.rebuilt], [[], [], []]);
  a.processor.stop();
  b.processor.stop();
});

test('two replicas deciding for one customer at once: one decision is refused, its session rebuilt from the log, and it offers another coupon', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  const entry = await a.input('entry', { id: '2', ts: TS });
  a.processor.handle(entry);
  const f1 = await a.input('focus', { id: '2', ts: TS + 1, dep: 'Women' });
  const f2 = await b.input('focus', { id: '2', ts: TS + 2, dep: 'Women' });
  // both decide before either decision is logged: blind, they pick the same coupon
  const [oa, ob] = await Promise.all([a.processor.handle(f1), b.processor.handle(f2)]);
  assert.equal((oa[0].data as { coupon: { id: number } }).coupon.id, (ob[0].data as { coupon: { id: number } }).coupon.id);
  await a.emit(f1, oa);
  await b.emit(f2, ob);
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
  a.processor.stop();
  b.processor.stop();
});

test('a decision another replica logged already is not logged or published again', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  a.processor.handle(await a.input('entry', { id: '3', ts: TS }));
  const f1 = await a.input('focus', { id: '3', ts: TS + 1, dep: 'Boys' });
  const decided = await a.processor.handle(f1);
  await a.emit(f1, decided);
  // the same logged focus handled by the other replica (a redelivery after a crash, say)
  assert.equal(await b.emit(f1, await b.processor.handle(f1)), []);
  assert.equal(b.refused, ['duplicate']);
  assert.equal(
    (await log.readStream('customer-3')).map((e) => e.type),
    ['entry', 'focus', 'prediction'],
  );
  a.processor.stop();
  b.processor.stop();
});

test('a focus a crashed replica logged but never decided, with a later focus decided by another: the restarted one counts that offer', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const crashed = replica(log.anotherWriter());
  const b = replica(log.anotherWriter());
  b.processor.handle(await b.input('entry', { id: '4', ts: TS }));
  // logged, then the process died before deciding
  const f1 = await crashed.input('focus', { id: '4', ts: TS + 1, dep: 'Girls' });
  crashed.processor.stop();
  const f2 = await b.input('focus', { id: '4', ts: TS + 2, dep: 'Girls' });
  await b.emit(f2, await b.processor.handle(f2));
  // the restart: its sessions from the log, its undecided focus decided now, through the same path as live
  const restarted = replica(log.anotherWriter());
  const recovery = await recoverSessions(log, restarted.processor, { idleTimeoutS: 7200, localFocus: false });
  await restarted.recover(recovery);
  const offered = await coupons(log, '4');
  assert.equal(
    offered.map(([cause]) => cause),
    [f2.logged.messageId, f1.logged.messageId],
  );
  assert.is.not(offered[0][1], offered[1][1], `two different coupons: ${JSON.stringify(offered)}`);
  assert.equal(restarted.refused, ['conflict']);
  // the log holds the later focus's decision first: replay decides in that order too
  assert.equal(await replayed(log), { identical: 2, different: 0, missing: 0, extra: 0 });
  restarted.processor.stop();
  b.processor.stop();
});

test('a focus a killed replica logged and never decided, read again by the one that takes its customers with the next focus right behind: logged as a replay decides', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const killed = replica(log.anotherWriter());
  const b = replica(log.anotherWriter());
  killed.processor.handle(await killed.input('entry', { id: '5', ts: TS }));
  // logged, then the process was killed before deciding
  const f1 = await killed.input('focus', { id: '5', ts: TS + 1, dep: 'Men' });
  killed.processor.stop();
  // the survivor reads it again (the partition's offset was not committed) and the customer's next focus behind it;
  // each decision goes to the log as the engine sends it, the first before the second
  const deciding1 = b.processor.handle(f1);
  const f2 = await b.input('focus', { id: '5', ts: TS + 2, dep: 'Men' });
  const deciding2 = b.processor.handle(f2);
  const logging1 = b.emit(f1, await deciding1);
  const logging2 = b.emit(f2, await deciding2);
  await Promise.all([logging1, logging2]);
  const offered = await coupons(log, '5');
  assert.equal(
    offered.map(([cause]) => cause),
    [f1.logged.messageId, f2.logged.messageId],
  );
  assert.is.not(offered[0][1], offered[1][1], `two different coupons: ${JSON.stringify(offered)}`);
  // the focus another writer logged is no conflict of its own decision
  assert.equal([b.refused, b.rebuilt], [[], ['unfollowed']]);
  assert.equal(await replayed(log), { identical: 2, different: 0, missing: 0, extra: 0 });
  b.processor.stop();
});

test.run();
