/**
 * Snapshots of sessions (docs/snapshots.md): taken every so many inputs, once the decisions they hold are logged; a
 * replica that meets a customer it has not followed rebuilds the session from the newest snapshot before the input and
 * reads only what follows, and decides as a rebuild from the whole visit does.
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
import { SESSION_MACHINE } from '../adapters/recommender/session-snapshot.ts';
import { loggedInputId, type Output } from '../adapters/process/processor-contract.ts';
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
const SETTINGS = { maxCoupons: 10, threshold: 0, couponValidity: 'ignore', idleTimeoutS: 7200 } as const;
const DEPS: Department[] = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];
const CUSTOMER = String(store.customers[0].customer_id);

/** A replica: its own writer, its own engine; `snapshots`: it takes them every 4 inputs. Its rebuilds' reads are noted. */
function replica(log: EventLog, snapshots: boolean) {
  const reads: number[] = [];
  const cadence = snapshots && log.snapshots ? new SnapshotCadence({ store: log.snapshots, machine: SESSION_MACHINE, every: 4 }) : undefined;
  const processor = new RecommenderProcessor({
    catalogue: () => catalogue,
    customer: (id) => customers.get(id) ?? null,
    scorer: () => scorer,
    settings: () => SETTINGS,
    topic: 'p',
    format: 'flat',
    snapshots: cadence,
    shared: {
      log: {
        readStream: (streamId, after) => {
          reads.push(after ?? 0);
          return log.readStream(streamId, after);
        },
      },
      localFocus: false,
    },
  });
  const engine = new Engine({ outputs: appendedTo(log), handOffLocally: false, log: silentLogger });
  engine.register({ processor, name: 'recommender', onLogged: (outs, input) => cadence?.logged(loggedInputId(input.logged), outs.length) });
  let n = 0;
  return {
    reads,
    cadence,
    async input(type: 'entry' | 'focus', data: Record<string, unknown>): Promise<Output[]> {
      const [logged] = await log.append([
        { streamId: `customer-${data.id}`, type, data, messageId: `${type}-${data.id}-${data.ts}-${n++}`, metadata: { source: 'mqtt' } },
      ]);
      return Engine.settled(engine.run({ logged, event: must(fromFlat(type, data), 'the logged event') }));
    },
  };
}

const offered = (outs: Output[]) => outs.filter((o) => o.type === 'prediction').map((o) => (o.data as { coupon: { id: number } }).coupon.id);

test("a replica rebuilds a long visit's session from its newest snapshot, reads only what follows, and decides as from the whole visit", async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const a = replica(log, true);
  await a.input('entry', { id: CUSTOMER, ts: TS });
  const before: number[] = [];
  for (let i = 1; i <= 30; i++) before.push(...offered(await a.input('focus', { id: CUSTOMER, ts: TS + 60 * i, dep: DEPS[i % DEPS.length] })));
  await must(a.cadence, 'the cadence').flush();
  const [kept] = await must(log.snapshots, 'the snapshots').read('session', [`customer-${CUSTOMER}`]);
  // every 4 inputs: the 28th, the 27th focus (version 54: each focus is followed by its decision), written once its
  // decision (version 55) was logged
  assert.is(kept.version, 54);
  assert.is(kept.machineVersion, SESSION_MACHINE.version);
  assert.ok(before.length > 10 && new Set(before).size === before.length, 'coupons offered, never one twice');

  // the same next focus on a replica with the snapshots, and on one reading the whole visit (another log of the same events)
  const next = { id: CUSTOMER, ts: TS + 60 * 31, dep: DEPS[1] };
  const whole = new InMemoryEventLog(() => Date.now());
  await whole.append((await log.read()).map((e) => ({ streamId: e.streamId, type: e.type, data: e.data, metadata: e.metadata, messageId: e.messageId })));
  const fromSnapshot = replica(log, true);
  const decided = await fromSnapshot.input('focus', next);
  const fromEvents = replica(whole, false);
  const decidedAgain = await fromEvents.input('focus', next);
  assert.equal([fromSnapshot.reads, fromEvents.reads], [[kept.version], [0]], 'the rebuild read the stream after the snapshot');
  assert.equal(
    decided.map((o) => [o.type, o.data]),
    decidedAgain.map((o) => [o.type, o.data]),
  );
  assert.is(offered(decided).length, 1, 'a coupon offered');
  assert.ok(!offered(decided).some((c) => before.includes(c)), 'nothing offered before is offered again');
});

test.run();
