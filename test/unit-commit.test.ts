/**
 * One commit per focus (DESIGN.md: nothing leaves the process before it is durable): two replicas' pipelines, each
 * appending through its own writer to one log, take a customer's inputs. Where a replica's session follows the
 * customer's stream, the input and its decision are one unit in one append; a unit the log refuses (the other replica
 * got ahead on the stream) is not written at all, the session is made again from the log, and the input is decided
 * again: the log reads as a replay of it decides.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateStore } from '../actors/data/store-generator.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { toExported, type EventLog, type ExportedEvent } from '../actors/kernel/event-log.ts';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { RecommenderProcessor } from '../adapters/recommender/processor.ts';
import { Pipeline } from '../adapters/process/pipeline.ts';
import { createMetrics } from '../adapters/process/metrics.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { loggingTransport } from '../adapters/edges/logging-transport.ts';
import { inProcessScorer } from '../adapters/edges/scorers.ts';
import { replay } from '../adapters/engine/replay.ts';
import { configFrom } from '../schemas/env.ts';

const store = generateStore({ seed: 5, customers: 20, products: 400, days: 120 });
const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
const customers = new Map(store.customers.map((c) => [c.customer_id, c]));
const scorer = await inProcessScorer('');
const TS = Date.parse(`${store.coupons[0].start_date}T12:00:00Z`) / 1000;
const SETTINGS = { maxCoupons: 10, threshold: 0, couponValidity: 'ignore', idleTimeoutS: 7200 } as const;

/** A replica's pipeline over its own writer, its recommender noting why it made sessions again from the log. */
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
  const pipeline = new Pipeline({
    config: configFrom({ TESTING_NO_MQTT: 'true' }),
    log: silentLogger,
    metrics: createMetrics(),
    eventLog: log,
    transport: loggingTransport(silentLogger),
  });
  pipeline.register({ processor, name: 'recommender' });
  /** An input as the transport hands it; resolves once what it caused is logged. */
  const take = async (kind: 'entry' | 'focus', data: Record<string, unknown>) => {
    const r = await pipeline.ingest(kind, JSON.stringify(data), { source: 'mqtt' });
    if (r.status === 'accepted') await r.outputs;
    return r.status;
  };
  return { take, rebuilt };
}

/** The log replayed by one process (`npm run replay`'s path): what differs from what the replicas decided. */
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

test('a unit the log refuses is written not at all; the session is made again from the log and decides again', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  const customer = String(store.customers[0].customer_id);
  const commits: string[][] = [];
  log.subscribe((events) => commits.push(events.map((e) => `${e.version} ${e.type}`)));
  assert.is(await a.take('entry', { id: customer, ts: TS }), 'accepted');
  assert.is(await a.take('focus', { id: customer, ts: TS + 10, dep: 'Men' }), 'accepted');
  // the other replica takes the next focus: it has not followed the customer, so it logs the focus first, makes the
  // session from the stream and decides (writes made through another writer are not heard here)
  assert.is(await b.take('focus', { id: customer, ts: TS + 20, dep: 'Men' }), 'accepted');
  // the first replica's session is behind the stream now: its unit is refused whole, and the focus goes again
  assert.is(await a.take('focus', { id: customer, ts: TS + 30, dep: 'Men' }), 'accepted');
  assert.equal(commits, [['1 entry'], ['2 focus', '3 prediction'], ['6 focus'], ['7 prediction']]);
  assert.equal([a.rebuilt, b.rebuilt], [['unfollowed'], ['unfollowed']]);
  const stream = await log.readStream(`customer-${customer}`);
  assert.equal(
    stream.map((e) => [e.version, e.type, e.metadata.source]),
    [
      [1, 'entry', 'mqtt'],
      [2, 'focus', 'mqtt'],
      [3, 'prediction', 'output'],
      [4, 'focus', 'mqtt'],
      [5, 'prediction', 'output'],
      [6, 'focus', 'mqtt'],
      [7, 'prediction', 'output'],
    ],
  );
  // what one replica offered counts for the other: three coupons, none twice
  const offered = stream.filter((e) => e.type === 'prediction').map((e) => (e.data as { coupon: { id: number } }).coupon.id);
  assert.is(new Set(offered).size, 3);
  assert.equal(await replayed(log), { identical: 3, different: 0, missing: 0, extra: 0 });
});

test('a unit whose input another replica logged already is refused whole: a duplicate, nothing written, the session made again for the next input', async () => {
  const log = new InMemoryEventLog();
  const a = replica(log);
  const b = replica(log.anotherWriter());
  const customer = String(store.customers[1].customer_id);
  assert.is(await a.take('entry', { id: customer, ts: TS }), 'accepted');
  assert.is(await a.take('focus', { id: customer, ts: TS + 10, dep: 'Men' }), 'accepted');
  assert.is(await b.take('focus', { id: customer, ts: TS + 20, dep: 'Men' }), 'accepted');
  // the broker delivers one focus to both (a redelivery to another member): the replica that follows the stream logs
  // it with its decision; the other's unit holds an input the log has, so none of it is written
  const again = { id: customer, ts: TS + 30, dep: 'Men' };
  assert.is(await b.take('focus', again), 'accepted');
  const commits: string[][] = [];
  log.subscribe((events) => commits.push(events.map((e) => `${e.version} ${e.type}`)));
  assert.is(await a.take('focus', again), 'duplicate');
  assert.equal(commits, []);
  // its session was forgotten: the next focus makes it again from the stream, and it counts every offer there
  assert.is(await a.take('focus', { id: customer, ts: TS + 40, dep: 'Men' }), 'accepted');
  assert.equal(commits, [['8 focus'], ['9 prediction']]);
  assert.equal([a.rebuilt, b.rebuilt], [['unfollowed'], ['unfollowed']]);
  const stream = await log.readStream(`customer-${customer}`);
  const offered = stream.filter((e) => e.type === 'prediction').map((e) => (e.data as { coupon: { id: number } }).coupon.id);
  assert.equal([stream.length, offered.length, new Set(offered).size], [9, 4, 4]);
  assert.equal(await replayed(log), { identical: 4, different: 0, missing: 0, extra: 0 });
});

test.run();
