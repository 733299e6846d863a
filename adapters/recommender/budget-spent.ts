/**
 * After a restart, the discount budget's spending so far (issue 34): the log's predictions, summed per UTC day of
 * their event time, so a budget spent before the restart stays spent. Replicas do not say who offered what: each
 * counts its share (DISCOUNT_BUDGET_SHARE) of what all of them offered. Read through the port, or by the log's own.
 */
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { DiscountBudget } from '../../actors/recommender/discount-budget.ts';

/** Adds the logged predictions' discounts per day to `budget`, times `share`; returns the days read. */
export async function spentFromLog(log: EventLog, budget: DiscountBudget, share: number): Promise<number> {
  const days = await spentPerDay(log);
  for (const d of days) budget.add(d.day, d.spent * share);
  return days.length;
}

/** The predictions' discounts summed per UTC day of their event time. */
export function spentPerDay(log: EventLog): Promise<{ day: number; spent: number }[]> {
  return log.queries?.spentPerDay?.() ?? spentPerDayOverPort(log);
}

export async function spentPerDayOverPort(log: EventLog): Promise<{ day: number; spent: number }[]> {
  const spent = new Map<number, number>();
  for await (const page of log.pages({ types: ['prediction'] }))
    for (const e of page) {
      const d = e.data as { ts?: unknown; coupon?: { discount?: unknown } } | null;
      const day = Math.floor(Number(d?.ts) / 86400);
      const discount = d?.coupon?.discount;
      // the SQL's sum skips a prediction without a discount; one without a time falls in no day
      if (!Number.isFinite(day)) continue;
      spent.set(day, (spent.get(day) ?? 0) + (discount === undefined || discount === null ? 0 : Number(discount)));
    }
  return [...spent].map(([day, s]) => ({ day, spent: s }));
}
