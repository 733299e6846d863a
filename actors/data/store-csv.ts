/**
 * The cache tables as CSV files in the original's format (REFERENCE.md §3): the four files' names and
 * columns, and reading them back with every value checked, so a bad file is refused with its file, line
 * and column before anything is loaded. Writing them is store-csv-writer.ts; splitting text into
 * records, csv-records.ts.
 */
import { isUtf8 } from 'node:buffer';
import { canonicalDepartment } from '../../schemas/departments.ts';
import { COUPON_TYPES, type CouponInfo, type CouponType, type CustomerInfo, type ProductInfo } from './store-data.ts';
import { INT, REAL, INT4, UNPAIRED_SURROGATE, fitsReal, charLength, shown, invalidUtf8At, validDate } from './csv-values.ts';
import { parseCsv } from './csv-records.ts';

export { invalidUtf8At };

export interface CouponProduct {
  coupon_id: number;
  product_id: number;
}

/** The four cache tables. */
export interface StoreTables {
  customers: CustomerInfo[];
  products: ProductInfo[];
  coupons: CouponInfo[];
  couponProducts: CouponProduct[];
}

export const CSV_FILES = {
  customers: 'customer_info.csv',
  coupons: 'coupon_info.csv',
  couponProducts: 'coupon_product.csv',
  products: 'product_info.csv',
} as const;
/** The original also shipped the products as products.csv. */
export const PRODUCTS_ALIAS = 'products.csv';

type Kind = 'int' | 'real' | 'text' | 'gender' | 'department' | 'coupon_type' | 'date';
interface Column {
  name: string;
  kind: Kind;
  max?: number;
}

const COLUMNS = {
  customers: [
    { name: 'customer_id', kind: 'int' },
    { name: 'gender', kind: 'gender' },
    { name: 'age', kind: 'int' },
    { name: 'mean_buy_price', kind: 'real' },
    { name: 'total_coupons_used', kind: 'int' },
    { name: 'mean_discount_received', kind: 'real' },
    { name: 'unique_products_bought', kind: 'int' },
    { name: 'unique_products_bought_with_coupons', kind: 'int' },
    { name: 'total_items_bought', kind: 'int' },
  ],
  coupons: [
    { name: 'coupon_id', kind: 'int' },
    { name: 'coupon_type', kind: 'coupon_type' },
    { name: 'department', kind: 'department' },
    { name: 'discount', kind: 'int' },
    { name: 'how_many_products_required', kind: 'int' },
    { name: 'start_date', kind: 'date' },
    { name: 'end_date', kind: 'date' },
    { name: 'product_mean_price', kind: 'real' },
    { name: 'products_available', kind: 'int' },
  ],
  couponProducts: [
    { name: 'coupon_id', kind: 'int' },
    { name: 'product_id', kind: 'int' },
  ],
  products: [
    { name: 'product_id', kind: 'int' },
    { name: 'name', kind: 'text', max: 256 },
    { name: 'category', kind: 'text', max: 50 },
    { name: 'sizes', kind: 'text', max: 50 },
    { name: 'vendor', kind: 'text', max: 50 },
    { name: 'description', kind: 'text', max: 256 },
    { name: 'buy_price', kind: 'real' },
    { name: 'department', kind: 'department' },
  ],
} satisfies Record<keyof StoreTables, Column[]>;

export const CSV_HEADERS: Record<keyof StoreTables, string> = {
  customers: COLUMNS.customers.map((c) => c.name).join(','),
  coupons: COLUMNS.coupons.map((c) => c.name).join(','),
  couponProducts: COLUMNS.couponProducts.map((c) => c.name).join(','),
  products: COLUMNS.products.map((c) => c.name).join(','),
};

export interface CsvProblem {
  file: string;
  line: number;
  column?: number;
  columnName?: string;
  message: string;
}

export function describeProblem(p: CsvProblem): string {
  const where = p.column === undefined ? `line ${p.line}` : `line ${p.line}, column ${p.column}${p.columnName ? ` (${p.columnName})` : ''}`;
  return `${p.file} ${where}: ${p.message}`;
}

/** A directory (or set of files) that cannot be loaded; nothing was changed. */
export class StoreDataError extends Error {
  constructor(readonly problems: CsvProblem[]) {
    const shown = problems.slice(0, 10).map(describeProblem);
    const more = problems.length > 10 ? `\n  … and ${problems.length - 10} more` : '';
    super(`refused to load the store data (${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing changed):\n  ${shown.join('\n  ')}${more}`);
    this.name = 'StoreDataError';
  }
}

/** Rows that failed a check; their ids (first column) are remembered so references to them are not reported twice. */
type Rejected = Set<number>;

function parseTable(file: string, text: string, columns: Column[], problems: CsvProblem[], rejected: Rejected = new Set()): Record<string, string | number>[] {
  const records = parseCsv(text);
  const header = columns.map((c) => c.name).join(',');
  if (records.length === 0) {
    problems.push({ file, line: 1, message: `empty file; expected the header "${header}"` });
    return [];
  }
  const got = records[0].fields.map((f) => f.trim());
  for (let i = 0; i < Math.max(got.length, columns.length); i++) {
    if (got[i] !== columns[i]?.name) {
      problems.push({
        file,
        line: 1,
        column: i + 1,
        columnName: columns[i]?.name,
        message: `wrong header: expected "${header}", got "${records[0].fields.join(',')}"`,
      });
      return [];
    }
  }
  const rows: Record<string, string | number>[] = [];
  for (let r = 1; r < records.length; r++) {
    const { line, fields } = records[r];
    if (fields.length === 1 && fields[0].trim() === '') continue; // blank line
    if (fields.length !== columns.length) {
      problems.push({ file, line, column: Math.min(fields.length, columns.length) + 1, message: `expected ${columns.length} columns, got ${fields.length}` });
      continue;
    }
    const row: Record<string, string | number> = {};
    let ok = true;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c];
      const raw = fields[c];
      const v = col.kind === 'text' ? raw : raw.trim();
      const bad = (what: string, got = shown(raw)) => {
        problems.push({ file, line, column: c + 1, columnName: col.name, message: `expected ${what}, got ${got}` });
        ok = false;
      };
      switch (col.kind) {
        case 'int': {
          const n = Number(v);
          if (!INT.test(v)) bad('an integer');
          else if (!(n >= INT4.min && n <= INT4.max)) bad(`an integer from ${INT4.min} to ${INT4.max}`);
          else row[col.name] = n;
          break;
        }
        case 'real': {
          const n = Number(v);
          if (!REAL.test(v)) bad('a number');
          else if (!fitsReal(n)) bad('a number real can hold (magnitude at most 3.4e38, not so small it rounds to 0)');
          else row[col.name] = n;
          break;
        }
        case 'text':
          // what PostgreSQL refuses in a varchar: NUL, unpaired surrogates (not UTF-8), more characters than the column
          if (v.includes('\0')) bad('text without NUL characters');
          else if (UNPAIRED_SURROGATE.test(v)) bad('text without unpaired surrogates');
          else if (v.length > (col.max ?? Infinity) && charLength(v) > (col.max ?? Infinity))
            bad(`text of at most ${col.max} characters`, `${charLength(v)} characters`);
          else row[col.name] = v;
          break;
        case 'gender':
          if (v !== 'F' && v !== 'M') bad('F or M');
          else row[col.name] = v;
          break;
        case 'department': {
          const d = canonicalDepartment(v);
          if (!d) bad('a department (Men, Sport, Boys, Girls, Women)');
          else row[col.name] = d;
          break;
        }
        case 'coupon_type':
          if (!(COUPON_TYPES as readonly string[]).includes(v)) bad(`a coupon type (${COUPON_TYPES.join(', ')})`);
          else row[col.name] = v as CouponType;
          break;
        case 'date':
          if (!validDate(v)) bad('a date YYYY-MM-DD');
          else row[col.name] = v;
          break;
      }
    }
    if (ok) {
      row.__line = line;
      rows.push(row);
    } else if (INT.test(fields[0].trim())) rejected.add(Number(fields[0]));
  }
  return rows;
}

function uniqueKeys(file: string, rows: Record<string, string | number>[], key: string, column: number, problems: CsvProblem[]): Set<number> {
  const seen = new Set<number>();
  for (const r of rows) {
    if (seen.has(r[key] as number)) problems.push({ file, line: r.__line as number, column, columnName: key, message: `duplicate ${key} ${r[key]}` });
    seen.add(r[key] as number);
  }
  return seen;
}

function strip<T>(rows: Record<string, string | number>[]): T[] {
  for (const r of rows) delete r.__line;
  return rows as unknown as T[];
}

/** A file's bytes as text, or the line and column of its first byte that is not UTF-8. */
function decode(file: string, bytes: Uint8Array, problems: CsvProblem[]): string | undefined {
  const at = isUtf8(bytes) ? -1 : invalidUtf8At(bytes);
  if (at < 0) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let line = 1,
    column = 1,
    quoted = false;
  for (let i = 0; i < at; i++) {
    const c = bytes[i];
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x0a) {
      line++;
      if (!quoted) column = 1;
    } else if (c === 0x2c && !quoted) column++;
  }
  problems.push({ file, line, column, message: `invalid UTF-8 (byte 0x${bytes[at].toString(16).padStart(2, '0')})` });
  return undefined;
}

/**
 * Parses and checks the four files (contents keyed by file name, as text or as bytes that must be
 * UTF-8; the products may be named products.csv). Throws StoreDataError listing every problem;
 * returns the tables otherwise.
 */
export function parseStoreCsv(files: Record<string, string | Uint8Array | undefined>): StoreTables {
  const problems: CsvProblem[] = [];
  const productsFile = files[CSV_FILES.products] !== undefined ? CSV_FILES.products : files[PRODUCTS_ALIAS] !== undefined ? PRODUCTS_ALIAS : undefined;
  const text = (key: keyof StoreTables): [string, string] | undefined => {
    const name = key === 'products' ? (productsFile ?? CSV_FILES.products) : CSV_FILES[key];
    const t = files[name];
    if (t === undefined) {
      problems.push({ file: key === 'products' ? `${CSV_FILES.products} (or ${PRODUCTS_ALIAS})` : name, line: 0, message: 'file missing' });
      return undefined;
    }
    const decoded = typeof t === 'string' ? t : decode(name, t, problems);
    return decoded === undefined ? undefined : [name, decoded];
  };
  const table = (key: keyof StoreTables) => {
    const t = text(key);
    const rejected: Rejected = new Set();
    return t
      ? { file: t[0], rows: parseTable(t[0], t[1], COLUMNS[key], problems, rejected), rejected, missing: false }
      : { file: CSV_FILES[key], rows: [], rejected, missing: true };
  };
  const customers = table('customers');
  const products = table('products');
  const coupons = table('coupons');
  const links = table('couponProducts');
  uniqueKeys(customers.file, customers.rows, 'customer_id', 1, problems);
  const productIds = uniqueKeys(products.file, products.rows, 'product_id', 1, problems);
  const couponIds = uniqueKeys(coupons.file, coupons.rows, 'coupon_id', 1, problems);
  for (const c of coupons.rows) {
    if ((c.start_date as string) > (c.end_date as string))
      problems.push({
        file: coupons.file,
        line: c.__line as number,
        column: 7,
        columnName: 'end_date',
        message: `end_date ${c.end_date} is before start_date ${c.start_date}`,
      });
  }
  const pairs = new Set<string>();
  for (const l of links.rows) {
    const line = l.__line as number;
    if (!couponIds.has(l.coupon_id as number) && !coupons.missing && !coupons.rejected.has(l.coupon_id as number))
      problems.push({ file: links.file, line, column: 1, columnName: 'coupon_id', message: `coupon ${l.coupon_id} is not in ${CSV_FILES.coupons}` });
    if (!productIds.has(l.product_id as number) && !products.missing && !products.rejected.has(l.product_id as number))
      problems.push({ file: links.file, line, column: 2, columnName: 'product_id', message: `product ${l.product_id} is not in ${products.file}` });
    const k = `${l.coupon_id},${l.product_id}`;
    if (pairs.has(k)) problems.push({ file: links.file, line, column: 1, message: `duplicate pair ${k}` });
    pairs.add(k);
  }
  // a header alone would empty coupon_product: every coupon would lose its products
  if (!links.missing && links.rows.length === 0 && coupons.rows.length > 0 && !problems.some((p) => p.file === links.file))
    problems.push({
      file: links.file,
      line: 2,
      message: `no rows, while ${coupons.file} has ${coupons.rows.length} coupons (loading it would leave every coupon without products)`,
    });
  if (problems.length) throw new StoreDataError(problems);
  return {
    customers: strip<CustomerInfo>(customers.rows),
    products: strip<ProductInfo>(products.rows),
    coupons: strip<CouponInfo>(coupons.rows),
    couponProducts: strip<CouponProduct>(links.rows),
  };
}
