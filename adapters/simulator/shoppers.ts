/**
 * Who shops in the simulated store: the customers of CUSTOMERS_LIST_FILE when the file exists, else
 * customer_info, else 1..1000 with deterministic profiles. Apart from the role's wiring because the
 * three sources and their fallbacks are a rule of their own (seed 001).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseCsv } from '../../actors/data/csv-records.ts';
import type { ShopperProfile } from '../../actors/simulator/shopper.ts';
import { defaultCustomers } from './simulation.ts';

/** Customers from CUSTOMERS_LIST_FILE (when the file exists), else customer_info, else 1..1000 with deterministic profiles. */
export async function loadShoppers(
  file: string,
  query: () => Promise<{ customer_id: number; gender: string; age: number }[]>,
  seed: number,
): Promise<{ customers: ShopperProfile[]; source: 'file' | 'database' | 'default' }> {
  if (file && existsSync(file)) {
    const rows = parseCsv(readFileSync(file, 'utf8'));
    const header = rows.shift()?.fields.map((h) => h.trim().toLowerCase()) ?? [];
    const [ci, gi, ai] = ['customer_id', 'gender', 'age'].map((c) => header.indexOf(c));
    if (ci < 0) throw new Error(`CUSTOMERS_LIST_FILE ${file}: no customer_id column in the header`);
    const customers = rows
      .filter((r) => r.fields[ci]?.trim())
      .map((r) => ({
        customerId: r.fields[ci].trim(),
        gender: (gi >= 0 && r.fields[gi]?.trim().toUpperCase() === 'M' ? 'M' : 'F') as 'F' | 'M',
        age: ai >= 0 && Number.isFinite(Number(r.fields[ai])) ? Number(r.fields[ai]) : 40,
      }));
    if (customers.length) return { customers, source: 'file' };
  }
  const rows = await query().catch(() => []);
  if (rows.length)
    return {
      customers: rows.map((r) => ({ customerId: String(r.customer_id), gender: r.gender?.toUpperCase() === 'M' ? 'M' : 'F', age: Number(r.age) || 40 })),
      source: 'database',
    };
  return { customers: defaultCustomers(seed), source: 'default' };
}
