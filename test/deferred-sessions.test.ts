/**
 * Sessions a restart makes on first need (docs/snapshots.md): a visit restored from a snapshot whose focuses after it
 * are all decided in the log is not made at the start; its next focus makes it first and is decided as from the whole
 * visit, and without one it still ends on its idle timeout, as a session made at once does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { must } from '../actors/kernel/must.ts';
import { generateStore } from '../actors/data/store-generator.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import type { EventLog } from '../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { fromFlat } from '../schemas/events.ts';
import { RecommenderProcessor } from '../adapters/recommender/processor.ts';
import { recoverSessions } from '../adapters/recommender/recovery.ts';
import { SESSION_MACHINE } from '../adapters/recommender/session-snapshot.ts';
import { loggedInputId, type Output, type Registration } from '../adapters/process/processor-contract.ts';
import { appendedTo, Engine } from '../adapters/engine/engine.ts';
import { SnapshotCadence } from '../adapters/engine/snapshot-cadence.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';
import type { Department } from '../schemas/departments.ts';

const store = generateStore({ seed: 5, customers: 20, products: 400, days: 120 });
const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
const customers = new Map(store.customers.map((c) => [c.customer_id, c]));
const scorer = await inProcessScorer('');
const TS = Date.parse(`${store.coupons[0].start_date}T12:00:00Z`) / 1000;
const IDLE_S = 7200;
const SETTINGS = { maxCoupons: 10, threshold: 0, couponValidity: 'ignore', idleTimeoutS: IDLE_S } as const;
const DEPS: Department[] = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
const [C, D, E, F] = store.customers.slice(0, 4).map((c) => String(c.customer_id));

/** A recommender process on `log`: sessions snapshotted every 4 inputs; the customers it saw end idle into `ends`. */
function process(log: EventLog) {
  const ends: [string, number][] = [];
  const cadence = log.snapshots ? new SnapshotCadence({ store: log.snapshots, machine: SESSION_MACHINE, every: 4 }) : undefined;
  const processor = new RecommenderProcessor({
    catalogue: () => catalogue,
    customer: (id) => customers.get(id) ?? null,
    scorer: () => scorer,
    settings: () => SETTINGS,
    topic: 'p',
    format: 'flat',
    snapshots: cadence,
    shared: { log, localFocus: false },
    onIdleEnd: (id, ts) => ends.push([id, ts]),
  });
  const engine = new Engine({ outputs: appendedTo(log), handOffLocally: false, log: silentLogger });
  const registration: Registration = { processor, name: 'recommender', onLogged: (outs, input) => cadence?.logged(loggedInputId(input.logged), outs.length) };
  engine.register(registration);
  let n = 0;
  return {
    processor,
    cadence,
    ends,
    /** A restart's recovery, run through the engine. */
    async recover() {
      const recovery = await recoverSessions(log, processor, { idleTimeoutS: IDLE_S, localFocus: false });
      await engine.recover(registration, recovery);
      return recovery;
    },
    async input(type: 'entry' | 'focus', data: Record<string, unknown>): Promise<Output[]> {
      const [logged] = await log.append([
        { streamId: `customer-${data.id}`, type, data, messageId: `${type}-${data.id}-${data.ts}-${n++}`, metadata: { source: 'mqtt' } },
      ]);
      return Engine.settled(engine.run({ logged, event: must(fromFlat(type, data), 'the logged event') }));
    },
  };
}

const offered = (outs: Output[]) => outs.filter((o) => o.type === 'prediction').map((o) => (o.data as { coupon: { id: number } }).coupon.id);

/** C walks 30 focuses (snapshotted at the 27th), D enters at C's last focus; the coupons C was offered. */
async function visits(log: EventLog): Promise<number[]> {
  const a = process(log);
  await a.input('entry', { id: C, ts: TS });
  const before: number[] = [];
  for (let i = 1; i <= 30; i++) before.push(...offered(await a.input('focus', { id: C, ts: TS + 60 * i, dep: DEPS[i % DEPS.length] })));
  await a.input('entry', { id: D, ts: TS + 60 * 30 });
  await must(a.cadence, 'the cadence').flush();
  a.processor.stop();
  return before;
}

test('a session deferred at the start is made by its next focus, which is decided as from the whole visit', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const before = await visits(log);
  const b = process(log);
  const recovery = await b.recover();
  // C from its snapshot, deferred (its three focuses after it decided); D made at once from its entry
  assert.equal([recovery.sessions, recovery.restored, recovery.deferred, recovery.inputs.length], [2, 1, 1, 1]);
  assert.equal([b.processor.sessions.has(C), b.processor.sessions.has(D)], [false, true]);

  const next = { id: C, ts: TS + 60 * 31, dep: DEPS[1] };
  const decided = await b.input('focus', next);
  assert.ok(b.processor.sessions.has(C), 'made by its focus');
  // the same focus on a log of the same events without snapshots: the session made from the whole visit
  const fromEvents = new InMemoryEventLog(() => Date.now());
  await fromEvents.append(
    (await log.read())
      .filter((e) => !(e.streamId === `customer-${C}` && e.version > 61))
      .map((e) => ({ streamId: e.streamId, type: e.type, data: e.data, metadata: e.metadata, messageId: e.messageId })),
  );
  const again = process(fromEvents);
  await again.recover();
  const decidedAgain = await again.input('focus', next);
  assert.equal(
    decided.map((o) => [o.type, o.data]),
    decidedAgain.map((o) => [o.type, o.data]),
  );
  assert.is(offered(decided).length, 1, 'a coupon offered');
  assert.ok(!offered(decided).some((c) => before.includes(c)), 'nothing offered before the restart is offered again');
  b.processor.stop();
  again.processor.stop();
});

test('a session deferred at the start still ends on its idle timeout, as one made at once does', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  await visits(log);
  const b = process(log);
  await b.recover();
  assert.equal([b.processor.sessions.has(C), b.processor.sessions.has(D)], [false, true]);
  // two other customers move event time past C's and D's last event plus the idle timeout
  const late = TS + 60 * 30 + IDLE_S + 61;
  await b.input('entry', { id: E, ts: late });
  await b.input('entry', { id: F, ts: late });
  assert.equal(b.ends.sort(), [
    [C, late],
    [D, late],
  ]);
  assert.equal([b.processor.sessions.has(C), b.processor.sessions.has(D)], [false, false]);
  b.processor.stop();
});

test.run();
