/**
 * The customer table's content hash: the log names the store data its decisions read (each customer's row is a
 * scoring feature), so a replay can tell whether it reads the same.
 */
import { createHash } from 'node:crypto';
import type { CustomerInfo } from './store-data.ts';

/**
 * `sha256:` and the hex digest of every row in customer id order, columns in the table's order. `real` columns are
 * taken at single precision, as PostgreSQL keeps them: the rows read from the cache DB and those parsed from the CSV
 * it was loaded from hash alike.
 */
export function customerTableVersion(customers: Iterable<CustomerInfo>): string {
  const hash = createHash('sha256');
  for (const c of [...customers].sort((a, b) => a.customer_id - b.customer_id))
    hash.update(
      `${c.customer_id},${c.gender},${Number(c.age)},${Math.fround(Number(c.mean_buy_price))},${Number(c.total_coupons_used)},` +
        `${Math.fround(Number(c.mean_discount_received))},${Number(c.unique_products_bought)},${Number(c.unique_products_bought_with_coupons)},` +
        `${Number(c.total_items_bought)}\n`,
    );
  return `sha256:${hash.digest('hex')}`;
}
