/**
 * What replicas sharing one log must agree on, read from the log itself: every input sent logged exactly once, every
 * focus decided exactly once, no coupon offered twice in a visit, and one process replaying the log (`npm run replay`
 * on the same schema) deciding what they decided. The MQTT and the Kafka replicas tests share it.
 */
import * as assert from 'uvu/assert';
import { must } from '../actors/kernel/must.ts';
import { spawnSync } from 'node:child_process';
import type { SQLQuery } from '@databases/pg';
import { sql } from '../adapters/edges/database.ts';
import { DATABASE_URL } from './helpers.ts';

export interface Decision {
  type: 'prediction' | 'no_prediction';
  cause: string;
  data: { customer_id: string; ts: number; coupon?: { id: number } };
}

/** `sent`: `id:ts` of each entry and focus published; `source`: the inputs' transport in the log. Returns the decisions. */
export async function assertReplicasAgree(
  db: { query(q: SQLQuery): Promise<unknown[]> },
  schema: string,
  sent: { entry: string[]; focus: string[] },
  o: { source: 'mqtt' | 'kafka'; customers: number },
): Promise<Decision[]> {
  const inputs = (await db.query(
    sql`SELECT type, data FROM events WHERE type IN ('entry', 'focus') AND metadata->>'source' = ${o.source} ORDER BY position`,
  )) as { type: string; data: { id: string; ts: number } }[];
  const logged = (type: string) =>
    inputs
      .filter((r) => r.type === type)
      .map((r) => `${r.data.id}:${r.data.ts}`)
      .sort();
  assert.equal(logged('entry'), [...sent.entry].sort(), 'every entry logged exactly once');
  assert.equal(logged('focus'), [...sent.focus].sort(), 'every focus logged exactly once');
  const decisions = (await db.query(
    sql`SELECT type, metadata->>'cause' AS cause, data FROM events WHERE type IN ('prediction', 'no_prediction') ORDER BY position`,
  )) as Decision[];
  assert.is(decisions.length, sent.focus.length, 'one decision per focus');
  assert.is(new Set(decisions.map((d) => d.cause)).size, sent.focus.length, 'every focus decided, none twice');
  const offers = new Map<string, number[]>();
  for (const d of decisions.filter((x) => x.type === 'prediction'))
    offers.set(d.data.customer_id, [...(offers.get(d.data.customer_id) ?? []), must(d.data.coupon, 'd.data.coupon').id]);
  assert.equal(
    [...offers].filter(([, coupons]) => new Set(coupons).size !== coupons.length),
    [],
    'no coupon offered twice in a visit',
  );
  assert.ok(offers.size > o.customers / 2, 'most customers got coupons');
  // the union of what the replicas decided is what one process replaying the log decides
  const replayed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/replay.ts'], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  assert.is(replayed.status, 0, replayed.stdout + replayed.stderr);
  assert.match(replayed.stdout, new RegExp(`identical ${sent.focus.length}, different 0, missing 0, extra 0`));
  return decisions;
}
