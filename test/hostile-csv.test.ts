/**
 * The CSV loader refuses whatever PostgreSQL would refuse (issue 14, item 1): NUL characters,
 * unpaired surrogates and invalid UTF-8 in text, text longer than its varchar column (counted in
 * characters, as PostgreSQL does), reals outside float4 (overflow, and underflow to 0), integers
 * outside int4; and an empty coupon_product.csv while coupons exist. Each refusal names file,
 * line and column, changes nothing, and `npm run load` exits 1 without a stack trace.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { connectDatabase, migrate, type Database } from '../adapters/edges/database.ts';
import { loadStoreDirectory } from '../adapters/edges/cache-loader.ts';
import { describeProblem, parseStoreCsv, StoreDataError } from '../actors/data/store-csv.ts';
import { captureLogger, DATABASE_URL, dropSchema, storeTables, uniqueName } from './helpers.ts';

const valid = join(import.meta.dirname, 'fixtures', 'store-csv', 'valid');
const tmp = mkdtempSync(join(tmpdir(), 'storeflow-hostile-csv-'));
const schema = uniqueName('hcsv');
const { log } = captureLogger('warn');
let database: Database;

test.before(async () => {
  database = await connectDatabase(DATABASE_URL, schema, log, 2);
  await migrate(database.db, log);
  await loadStoreDirectory(database.db, valid);
});
test.after(async () => {
  await database.close();
  await dropSchema(schema);
  rmSync(tmp, { recursive: true, force: true });
});

const snapshot = () => storeTables(database.db);

/** The valid directory with one file's line replaced (1-based; 0 = keep only the header). */
function variant(name: string, file: string, edit: (lines: string[]) => string[] | Buffer): string {
  const dir = join(tmp, name);
  cpSync(valid, dir, { recursive: true });
  const lines = readFileSync(join(dir, file), 'utf8').split('\n');
  const out = edit(lines);
  writeFileSync(join(dir, file), Buffer.isBuffer(out) ? out : out.join('\n'));
  return dir;
}
const setField = (line: string, column: number, value: string) =>
  line
    .split(',')
    .map((f, i) => (i === column - 1 ? value : f))
    .join(',');

const CASES: [string, string, (lines: string[]) => string[] | Buffer, string][] = [
  [
    'nul',
    'product_info.csv',
    (l) => {
      l[1] = setField(l[1], 2, 'TINGLE\0EDEN');
      return l;
    },
    'product_info.csv line 2, column 2 (name): expected text without NUL characters, got "TINGLE\\u0000EDEN"',
  ],
  [
    'real-overflow',
    'product_info.csv',
    (l) => {
      l[2] = setField(l[2], 7, '1e39');
      return l;
    },
    'product_info.csv line 3, column 7 (buy_price): expected a number real can hold (magnitude at most 3.4e38, not so small it rounds to 0), got "1e39"',
  ],
  [
    'real-underflow',
    'customer_info.csv',
    (l) => {
      l[1] = setField(l[1], 4, '1e-50');
      return l;
    },
    'customer_info.csv line 2, column 4 (mean_buy_price): expected a number real can hold (magnitude at most 3.4e38, not so small it rounds to 0), got "1e-50"',
  ],
  [
    'int-range',
    'customer_info.csv',
    (l) => {
      l[2] = setField(l[2], 3, '2147483648');
      return l;
    },
    'customer_info.csv line 3, column 3 (age): expected an integer from -2147483648 to 2147483647, got "2147483648"',
  ],
  [
    'too-long',
    'product_info.csv',
    (l) => {
      l[1] = setField(l[1], 3, 'é'.repeat(51));
      return l;
    },
    'product_info.csv line 2, column 3 (category): expected text of at most 50 characters, got 51 characters',
  ],
  [
    'not-utf8',
    'product_info.csv',
    (l) => {
      const b = Buffer.from(l.join('\n'));
      const at = b.indexOf('Bottle');
      b[at] = 0xff;
      return b;
    },
    'product_info.csv line 3, column 2: invalid UTF-8 (byte 0xff)',
  ],
  [
    'empty-links',
    'coupon_product.csv',
    (l) => [l[0], ''],
    'coupon_product.csv line 2: no rows, while coupon_info.csv has 3 coupons (loading it would leave every coupon without products)',
  ],
];

const dirs = CASES.map(([name, file, edit]) => variant(name, file, edit));

test('values PostgreSQL would refuse are refused first, naming file, line and column; nothing changes', async () => {
  const before = await snapshot();
  const got: string[][] = [];
  for (const dir of dirs) {
    let err: unknown;
    try {
      await loadStoreDirectory(database.db, dir);
    } catch (e) {
      err = e;
    }
    assert.instance(err, StoreDataError, dir);
    got.push((err as StoreDataError).problems.map(describeProblem));
  }
  assert.equal(
    got,
    CASES.map(([, , , expected]) => [expected]),
  );
  assert.equal(await snapshot(), before);
});

test('values at the edges PostgreSQL accepts are accepted, and stored', async () => {
  const dir = variant('edges', 'product_info.csv', (l) => {
    l[1] = setField(setField(l[1], 2, '👕'.repeat(256)), 7, '3.4e38');
    l[2] = setField(l[2], 7, '1e-40'); // a float4 denormal: stored, not refused
    return l;
  });
  writeFileSync(join(dir, 'customer_info.csv'), readFileSync(join(dir, 'customer_info.csv'), 'utf8').replace(/\n2,F,38,/, '\n-2147483648,F,38,'));
  await loadStoreDirectory(database.db, dir);
  const rows = await database.db.query(
    sql`SELECT product_id, char_length(name) AS n, buy_price FROM product_info WHERE product_id IN (1, 2) ORDER BY product_id`,
  );
  assert.equal(rows, [
    { product_id: 1, n: 256, buy_price: 3.4e38 },
    { product_id: 2, n: 35, buy_price: 1e-40 },
  ]);
  const [c] = await database.db.query(sql`SELECT count(*)::int AS n FROM customer_info WHERE customer_id = -2147483648`);
  assert.is(c.n, 1);
  await loadStoreDirectory(database.db, valid);
});

test('unpaired surrogates in text are refused', () => {
  const files: Record<string, string> = {};
  for (const f of ['customer_info.csv', 'coupon_info.csv', 'coupon_product.csv', 'product_info.csv']) files[f] = readFileSync(join(valid, f), 'utf8');
  files['product_info.csv'] = files['product_info.csv'].replace('Bottle green', 'Bottle \uD800green');
  let err: unknown;
  try {
    parseStoreCsv(files);
  } catch (e) {
    err = e;
  }
  assert.instance(err, StoreDataError);
  assert.equal((err as StoreDataError).problems.map(describeProblem), [
    'product_info.csv line 3, column 2 (name): expected text without unpaired surrogates, got "MEAN - Bottle \\ud800green T-shirt for Men"',
  ]);
});

test('npm run load: a refused file exits 1 with the problem and no stack trace; an unreachable database too', () => {
  const env = { ...process.env, DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'warn' };
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', join(tmp, 'real-underflow')], { env, encoding: 'utf8' });
  assert.equal(
    { status: bad.status, stderr: bad.stderr, stdout: bad.stdout },
    {
      status: 1,
      stdout: '',
      stderr:
        'refused to load the store data (1 problem, nothing changed):\n  customer_info.csv line 2, column 4 (mean_buy_price): expected a number real can hold (magnitude at most 3.4e38, not so small it rounds to 0), got "1e-50"\n',
    },
  );
  const down = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', valid], {
    env: { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' },
    encoding: 'utf8',
  });
  assert.is(down.status, 1);
  assert.is(down.stdout, '');
  assert.match(down.stderr, /^could not load the store data: .*ECONNREFUSED.* \(nothing changed\)\n$/);
});

test.run();
