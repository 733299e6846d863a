/**
 * CSV directories through the loader (a private schema): the generated store's files with hostile cells,
 * missing or cut files, odd headers and column counts; a few runs of `npm run load` itself (exit 0 or 1,
 * never a stack trace).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Prng } from '../../actors/kernel/prng.ts';
import { generateStore } from '../../actors/data/store-generator.ts';
import { CSV_FILES, CSV_HEADERS, StoreDataError } from '../../actors/data/store-csv.ts';
import { formatStoreCsv } from '../../actors/data/store-csv-writer.ts';
import type { Database } from '../../adapters/edges/database.ts';
import { loadStoreTables, readStoreDirectory } from '../../adapters/edges/cache-loader.ts';
import { hostileCell } from './inputs-csv.ts';
import { show, type FuzzPath, type PathContext } from './run.ts';

const COLUMN_KINDS: Record<string, 'int' | 'real' | 'text' | 'other'> = {
  mean_buy_price: 'real',
  mean_discount_received: 'real',
  product_mean_price: 'real',
  buy_price: 'real',
  name: 'text',
  category: 'text',
  sizes: 'text',
  vendor: 'text',
  description: 'text',
  gender: 'other',
  department: 'other',
  coupon_type: 'other',
  start_date: 'other',
  end_date: 'other',
};

/** What `npm run load` is run with: the child's environment, the database and the private schema's name, the repository. */
export interface LoadScript {
  env: Record<string, string>;
  databaseUrl: string;
  schema: string;
  cwd: string;
}

export function csvPath(c: PathContext, db: Database, dir: string, script: LoadScript): FuzzPath {
  const store = generateStore({ seed: 7, customers: 30, products: 60, days: 30, historyDays: 10 });
  const base = Object.fromEntries(Object.entries(formatStoreCsv(store)).map(([f, t]) => [f, Buffer.from(t)]));
  const headers: Record<string, string[]> = {
    [CSV_FILES.customers]: CSV_HEADERS.customers.split(','),
    [CSV_FILES.coupons]: CSV_HEADERS.coupons.split(','),
    [CSV_FILES.couponProducts]: CSV_HEADERS.couponProducts.split(','),
    [CSV_FILES.products]: CSV_HEADERS.products.split(','),
  };
  // a few runs of `npm run load` itself: exit 0 or 1, never a stack trace
  const scriptRuns = new Set(
    Array.from({ length: Math.max(1, Math.round(c.count / 500)) }, (_, k) => Math.floor((k * c.count) / Math.max(1, Math.round(c.count / 500)))),
  );
  const mutate = (r: Prng): { files: Record<string, Buffer | undefined>; what: string[] } => {
    const files: Record<string, Buffer | undefined> = { ...base };
    const what: string[] = [];
    for (let n = r.int(1, 3); n > 0; n--) {
      const file = r.pick(Object.keys(base));
      const text = files[file];
      if (!text) continue;
      const lines = text.toString('latin1').split('\n');
      switch (r.int(0, 9)) {
        case 0:
        case 1:
        case 2:
        case 3: {
          const row = r.int(1, Math.max(1, lines.length - 2));
          const fields = lines[row]?.split(',') ?? [];
          if (!fields.length) break;
          const col = r.int(0, fields.length - 1);
          const cell = hostileCell(r, COLUMN_KINDS[headers[file][col]] ?? 'int');
          fields[col] = cell.toString('latin1');
          lines[row] = fields.join(',');
          what.push(`${file} line ${row + 1} column ${col + 1} = ${show(cell, 40)}`);
          break;
        }
        case 4:
          lines.splice(1);
          lines.push('');
          what.push(`${file}: header only`);
          break;
        case 5:
          files[file] = undefined;
          what.push(`${file}: missing`);
          continue;
        case 6: {
          const row = r.int(1, Math.max(1, lines.length - 2));
          lines.splice(row, 0, lines[row]);
          what.push(`${file}: line ${row + 1} twice`);
          break;
        }
        case 7:
          lines[0] = r.pick(['', `\ufeff${lines[0]}`, lines[0].toUpperCase(), `${lines[0]},extra`, lines[0].split(',').reverse().join(',')]);
          what.push(`${file}: header ${show(Buffer.from(lines[0], 'latin1'), 40)}`);
          break;
        case 8:
          what.push(`${file}: cut`);
          files[file] = text.subarray(0, r.int(0, text.length));
          continue;
        default: {
          const row = r.int(1, Math.max(1, lines.length - 2));
          lines[row] = r.chance(0.5) ? `${lines[row]},x` : lines[row].split(',').slice(1).join(',');
          what.push(`${file}: line ${row + 1} column count`);
          break;
        }
      }
      files[file] = Buffer.from(lines.join(r.chance(0.1) ? '\r\n' : '\n'), 'latin1');
    }
    return { files, what };
  };
  return {
    name: 'csv npm run load',
    run: (stats, rng) =>
      c.each(stats, c.count, 1, async (i) => {
        const r = rng.fork(i);
        const { files, what } = mutate(r);
        for (const name of Object.values(CSV_FILES)) {
          const p = join(dir, name);
          const text = files[name];
          if (text) writeFileSync(p, text);
          else rmSync(p, { force: true });
        }
        if (scriptRuns.has(i)) {
          const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/load.ts', dir], {
            env: { ...script.env, DATABASE_URL: script.databaseUrl, DATABASE_SCHEMA: script.schema },
            encoding: 'utf8',
            timeout: 60_000,
            cwd: script.cwd,
          });
          const stack = /\n\s+at /.test(run.stderr);
          if (run.status === null) return ['hang', () => `npm run load (${what.join('; ')}): no exit within 60 s`];
          if (stack || (run.status !== 0 && run.status !== 1)) {
            stats.crashes++;
            stats.examples.push(`npm run load (${what.join('; ')}): exit ${run.status}${stack ? ' with a stack trace' : ''}: ${run.stderr.slice(0, 400)}`);
            return undefined;
          }
          return [run.status === 0 ? 'ok' : 'refused', () => ''];
        }
        const started = Date.now();
        try {
          const tables = readStoreDirectory(dir);
          await Promise.race([
            loadStoreTables(db.db, tables),
            sleep(c.timeoutMs).then(() => {
              throw new Error('hang');
            }),
          ]);
          return ['ok', () => ''];
        } catch (err) {
          if (err instanceof StoreDataError) return ['refused', () => ''];
          if ((err as Error).message === 'hang') return ['hang', () => `${what.join('; ')}: load took over ${c.timeoutMs} ms`];
          return ['5xx', () => `${what.join('; ')}: the loader failed after ${Date.now() - started} ms: ${(err as Error).message.split('\n')[0]}`];
        }
      }),
  };
}
