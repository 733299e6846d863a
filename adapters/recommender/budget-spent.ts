/**
 * After a restart, the discount budget's spending so far (issue 34): the log's predictions, summed per UTC day of
 * their event time, so a budget spent before the restart stays spent. Replicas do not say who offered what: each
 * counts its share (DISCOUNT_BUDGET_SHARE) of what all of them offered.
 */
import { sql, type ConnectionPool } from '@databases/pg';
import type { DiscountBudget } from '../../actors/recommender/discount-budget.ts';

/** Adds the logged predictions' discounts per day to `budget`, times `share`; returns the days read. */
export async function spentFromLog(db: ConnectionPool, budget: DiscountBudget, share: number): Promise<number> {
  // one pass over the predictions (the type index); a log's days are few, its predictions many
  const rows = await db.query(sql`
    SELECT floor((data->>'ts')::numeric / 86400)::int AS day, sum((data->'coupon'->>'discount')::numeric)::float8 AS spent
    FROM events WHERE type = 'prediction' GROUP BY 1`);
  for (const r of rows) budget.add(Number(r.day), Number(r.spent) * share);
  return rows.length;
}
