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

/** How far back a visit still counts as open at a view's start (a shopper inside longer is rare; the pump never enters). */
const VISIT_WINDOW_MS = 4 * 3600_000;
const MAX_INSIDE = 5000;

/**
 * The customers inside the store just before `position` (their last entry, move or exit within the
 * visit window was not an exit): the events view tells their focus and offers from the pump's, whose
 * customers never walk in.
 */
export async function insideAt(db: Queryable, position: number, now = Date.now()): Promise<string[]> {
  const rows = await db.query(sql`
    SELECT substring(stream_id FROM 10) AS customer FROM (
      SELECT DISTINCT ON (stream_id) stream_id, type FROM events
      WHERE position < ${position} AND recorded_at >= to_timestamp(${(now - VISIT_WINDOW_MS) / 1000})
        AND type IN ('entry', 'move', 'exit') AND stream_id LIKE 'customer-%'
      ORDER BY stream_id, position DESC
    ) last WHERE type <> 'exit' LIMIT ${MAX_INSIDE}`);
  return rows.map((r) => r.customer);
}
