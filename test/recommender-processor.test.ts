/**
 * The recommender's processor on its two paths: a customer in memory and the in-process model decide a focus
 * within the call (no invoked actor, no promise); a customer read from the database (a promise) is read once per
 * session, and a scorer that answers with promises is awaited in `scoring` — with the same decisions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecommenderProcessor } from '../adapters/recommender/processor.ts';
import { CouponCatalogue } from '../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES } from '../actors/data/store-csv.ts';
import { loadCouponModel } from '../actors/recommender/coupon-scorer.ts';
import type { CouponScorer, CustomerInfo } from '../actors/data/store-data.ts';
import type { LoggedEvent } from '../actors/kernel/event-log.ts';
import type { StoreEvent } from '../schemas/events.ts';
import type { Output } from '../adapters/process/processor-contract.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'replay', 'store');
const store = parseStoreCsv(Object.fromEntries(Object.values(CSV_FILES).map((f) => [f, readFileSync(join(DIR, f), 'utf8')])));
const catalogue = new CouponCatalogue(store.coupons, store.products, store.couponProducts);
const customers = new Map(store.customers.map((c) => [c.customer_id, c]));
const model = loadCouponModel();
const settings = { maxCoupons: 5, threshold: 0, couponValidity: 'ignore' as const, idleTimeoutS: 7200 };
const [first, second] = store.customers;

/** One visit each for two customers: entry, a focus in every department, exit. */
function visits(): StoreEvent[] {
  const out: StoreEvent[] = [];
  for (const c of [first, second]) {
    const id = String(c.customer_id);
    out.push({ kind: 'entry', id, ts: 1_700_000_000 });
    for (const [i, dep] of (['Men', 'Women', 'Boys', 'Men'] as const).entries()) out.push({ kind: 'focus', id, ts: 1_700_000_010 + i, dep });
    out.push({ kind: 'exit', id, ts: 1_700_000_100 });
  }
  return out;
}

async function run(o: {
  customer(id: number): CustomerInfo | null | Promise<CustomerInfo | null>;
  scorer: CouponScorer;
  onContextFailed?(customerId: string, error: string): void;
}) {
  const p = new RecommenderProcessor({
    catalogue: () => catalogue,
    customer: o.customer,
    scorer: () => o.scorer,
    settings: () => settings,
    topic: 'p',
    format: 'flat',
    onContextFailed: o.onContextFailed,
  });
  const decided: string[] = [];
  const atOnce: boolean[] = [];
  for (const [n, event] of visits().entries()) {
    const logged = { position: n + 1, version: n + 1, messageId: `in${n + 1}` } as LoggedEvent;
    const result = p.handle({ logged, event });
    if (event.kind === 'focus') atOnce.push(Array.isArray(result));
    for (const out of (await result) as Output[])
      decided.push(`${out.messageId} ${out.type} ${(out.data as { coupon?: { id: number } }).coupon?.id ?? (out.data as { reason?: unknown }).reason}`);
  }
  p.stop();
  return { decided, atOnce };
}

test('in memory and in-process: every focus decided within handle(); read and awaited: the same decisions, one read per session', async () => {
  const inMemory = await run({ customer: (id) => customers.get(id) ?? null, scorer: model });
  assert.equal(inMemory.atOnce, [true, true, true, true, true, true, true, true]);
  assert.is(inMemory.decided.length, 8);
  assert.ok(
    inMemory.decided.every((d) => / prediction \d+$/.test(d)),
    inMemory.decided.join('\n'),
  );
  assert.is(new Set(inMemory.decided.slice(0, 4).map((d) => d.split(' ')[2])).size, 4, 'no coupon twice in a visit');

  const reads: number[] = [];
  const read = await run({
    customer: (id) => {
      reads.push(id);
      return new Promise((ok) => setTimeout(() => ok(customers.get(id) ?? null), 5));
    },
    // the same model behind promises: not `synchronous`, so focuses are scored in the scoring state
    scorer: { score: (c, coupons) => Promise.resolve(model.score(c, coupons)) },
  });
  assert.equal(reads, [first.customer_id, second.customer_id]);
  assert.equal(read.atOnce, [false, false, false, false, false, false, false, false]);
  assert.equal(read.decided, inMemory.decided);
});

test('a customer missing from customer_info, known at once: every focus declined within handle()', async () => {
  const { decided, atOnce } = await run({ customer: () => null, scorer: model });
  assert.equal(atOnce, [true, true, true, true, true, true, true, true]);
  assert.equal(decided, [
    ...[2, 3, 4, 5].map((n) => `in${n}:no_prediction no_prediction unknown_customer`),
    ...[8, 9, 10, 11].map((n) => `in${n}:no_prediction no_prediction unknown_customer`),
  ]);
});

test('a customer lookup that throws: the session reports the failure and declines, nothing thrown out of handle()', async () => {
  const failures: string[] = [];
  const { decided } = await run({
    customer: () => {
      throw new Error('customer_info unreachable');
    },
    scorer: model,
    onContextFailed: (id, error) => failures.push(`${id}: ${error}`),
  });
  assert.equal(failures, [`${first.customer_id}: customer_info unreachable`, `${second.customer_id}: customer_info unreachable`]);
  assert.equal(decided, [
    ...[2, 3, 4, 5].map((n) => `in${n}:no_prediction no_prediction unknown_customer`),
    ...[8, 9, 10, 11].map((n) => `in${n}:no_prediction no_prediction unknown_customer`),
  ]);
});

test.run();
