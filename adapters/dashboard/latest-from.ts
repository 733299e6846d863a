/**
 * Where a filtered view starts: at the newest LATEST_FILTERED events its filter selects, found in the
 * whole log (a customer's events are few and far apart: the whole log's latest 200 may hold none).
 * A customer is their `customer-<id>` log stream, as the gateway routes it (actors/gateway/routing-key.ts).
 */
import { sql, type Queryable } from '../edges/database.ts';

/** The events view shows this many of its filter's newest events, then goes on live. */
export const LATEST_FILTERED = 200;

export async function latestFrom(db: Queryable, filter: { customer?: string; type?: string }, head: number, n = LATEST_FILTERED): Promise<number> {
  if (filter.customer === undefined && filter.type === undefined) return Math.max(1, head - n + 1);
  const where = [sql`position <= ${head}`];
  if (filter.customer !== undefined) where.push(sql`stream_id = ${`customer-${filter.customer}`}`);
  if (filter.type !== undefined) where.push(sql`type = ${filter.type}`);
  const [r] = await db.query(sql`
    SELECT min(position)::bigint AS p FROM (
      SELECT position FROM events WHERE ${sql.join(where, ' AND ')} ORDER BY position DESC LIMIT ${n}
    ) newest`);
  return r?.p == null ? head + 1 : Number(r.p);
}
