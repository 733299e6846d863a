/**
 * Writing the cache tables as CSV byte for byte like the original (Python float repr, LF line ends,
 * header row): `npm run seed` and the replay fixtures compare files by their bytes, so every number's
 * text is decided here. The layout (file names, columns) is store-csv.ts's.
 */
import { CSV_FILES, CSV_HEADERS, type StoreTables } from './store-csv.ts';

/** Python's repr of a float, as the original's pandas files show it: `12.0`, `0.0`, `5.3100000000000005`. */
export function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** Python's round(x, 2) for the positive values we write. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function field(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The four files' contents, keyed by file name. */
export function formatStoreCsv(t: StoreTables): Record<string, string> {
  const lines = (header: string, rows: string[]) => `${header}\n${rows.join('\n')}${rows.length ? '\n' : ''}`;
  return {
    [CSV_FILES.customers]: lines(
      CSV_HEADERS.customers,
      t.customers.map(
        (c) =>
          `${c.customer_id},${c.gender},${c.age},${pyFloat(c.mean_buy_price)},${c.total_coupons_used},${pyFloat(c.mean_discount_received)},${c.unique_products_bought},${c.unique_products_bought_with_coupons},${c.total_items_bought}`,
      ),
    ),
    [CSV_FILES.coupons]: lines(
      CSV_HEADERS.coupons,
      t.coupons.map(
        (c) =>
          `${c.coupon_id},${c.coupon_type},${c.department},${c.discount},${c.how_many_products_required},${c.start_date},${c.end_date},${pyFloat(c.product_mean_price)},${c.products_available}`,
      ),
    ),
    [CSV_FILES.couponProducts]: lines(
      CSV_HEADERS.couponProducts,
      t.couponProducts.map((l) => `${l.coupon_id},${l.product_id}`),
    ),
    [CSV_FILES.products]: lines(
      CSV_HEADERS.products,
      t.products.map((p) =>
        [
          String(p.product_id),
          field(p.name),
          field(p.category),
          field(p.sizes),
          field(p.vendor),
          field(p.description),
          pyFloat(p.buy_price),
          p.department,
        ].join(','),
      ),
    ),
  };
}
