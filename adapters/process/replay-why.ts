/**
 * Why a replay could not reproduce its log, in words: which of the sources the log names (model, catalogue, customer
 * table, settings) this replay does not have, and how to supply the recorded one — a model file or a store folder
 * found by its hash among the known ones (the committed model and its history, the test fixtures), else how to get it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkModel, DEFAULT_MODEL_FILE, modelVersion } from '../../actors/recommender/coupon-scorer.ts';
import { customerTableVersion } from '../../actors/data/customer-table.ts';
import { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import { parseStoreCsv, CSV_FILES, PRODUCTS_ALIAS } from '../../actors/data/store-csv.ts';
import { asStored } from '../../actors/data/as-stored.ts';
import type { ReplayDeps, ReplayReport } from '../engine/replay.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where recorded models and stores are looked for, besides the committed model. */
const FIXTURES = join(ROOT, 'test', 'fixtures');

/** A store folder (CSVs in the original's format) as a replay's catalogue and customers, as the cache DB would give them. */
export function storeFromCsv(dir: string): Pick<ReplayDeps, 'catalogue' | 'customers'> {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);
  const t = asStored(
    parseStoreCsv({
      [CSV_FILES.customers]: read(CSV_FILES.customers),
      [CSV_FILES.coupons]: read(CSV_FILES.coupons),
      [CSV_FILES.couponProducts]: read(CSV_FILES.couponProducts),
      [CSV_FILES.products]: read(CSV_FILES.products) ?? read(PRODUCTS_ALIAS),
    }),
  );
  return { catalogue: new CouponCatalogue(t.coupons, t.products, t.couponProducts), customers: new Map(t.customers.map((c) => [c.customer_id, c])) };
}

/** What this replay runs with, to name it. */
export interface ReplaySetup {
  /** The model file it scores with. */
  modelFile: string;
  /** `--data DIR`, when the store comes from CSVs. */
  dataDir?: string;
}

const short = (v: string | undefined) => (v ? (v.startsWith('sha256:') ? `${v.slice(0, 23)}…` : v) : 'unnamed');
const shown = (path: string) => relative(process.cwd(), path) || path;

/** The lines that say why the replay differs (empty when it reproduced its log). */
export function whyDiverged(r: ReplayReport, setup: ReplaySetup): string[] {
  const s = r.sources;
  const lines: string[] = [];
  if (s.remote)
    lines.push('the scorer differs: the log was decided by a remote scorer (COUPON_SCORER_URL), which a replay cannot ask again; it scores in-process');
  for (const logged of s.model.logged.filter((m) => m !== s.replay.model)) {
    const found = modelFiles().find((f) => f.version === logged);
    const how = found
      ? `pass --model ${shown(found.path)}`
      : (committedModel(logged) ??
        'none of the known model files holds it (the committed one, its history, the fixtures): pass --model FILE with the model the log was recorded with');
    lines.push(
      `the model differs: the log was decided with model ${short(logged)}, this replay scores with ${short(s.replay.model)} (${shown(setup.modelFile)}) — ${how}`,
    );
  }
  if (s.model.unnamed && !s.remote)
    lines.push(
      `the model is not named: the log was recorded before logs named their model; this replay scores with ${shown(setup.modelFile)} — if the log was decided with another, pass --model FILE (known: ${modelFiles()
        .map((f) => `${shown(f.path)} ${short(f.version)}`)
        .join(', ')})`,
    );
  const catalogues = s.catalogue.logged.filter((c) => c !== s.replay.catalogue);
  const tables = s.customerTable.logged.filter((c) => c !== s.replay.customerTable);
  if (catalogues.length || tables.length) {
    const store = storeFolders().find((f) => catalogues.every((c) => c === f.catalogue) && tables.every((t) => t === f.customerTable));
    const how = store ? `pass --data ${shown(store.path)}` : 'load the store the log was recorded with (npm run load -- DIR) or pass --data DIR with its CSVs';
    const from = setup.dataDir ? shown(setup.dataDir) : 'the cache DB';
    for (const c of catalogues)
      lines.push(`the catalogue differs: the log rendered its coupons from catalogue ${c}, this replay's (${from}) is ${s.replay.catalogue} — ${how}`);
    for (const t of tables)
      lines.push(
        `the store data differs: the log's decisions read customer table ${short(t)}, this replay's (${from}) is ${short(s.replay.customerTable)} — ${how}`,
      );
  }
  if (s.settingsUnnamed)
    lines.push(
      'the settings are not named: some decisions come before any recommender_started in the log (an export that lacks the records in force), so they were replayed with this configuration — export again with `npm run export`, whose partial exports carry them',
    );
  if (lines.length === 0 && !s.model.unnamed && !s.catalogue.unnamed && !s.customerTable.unnamed)
    lines.push(
      'the model, catalogue, customer table and settings are those the log names: the difference is in the code (a machine decides otherwise than when the log was recorded)',
    );
  return lines;
}

let models: { path: string; version: string }[] | undefined;
/** The known model files and their content hashes: the committed model, MODEL_FILE, and any model among the test fixtures. */
function modelFiles(): { path: string; version: string }[] {
  if (models) return models;
  const paths = [DEFAULT_MODEL_FILE, ...(process.env.MODEL_FILE ? [process.env.MODEL_FILE] : []), ...filesUnder(FIXTURES, (f) => f.endsWith('.json'))];
  models = [];
  for (const path of new Set(paths))
    try {
      models.push({ path, version: modelVersion(checkModel(JSON.parse(readFileSync(path, 'utf8')), path)) });
    } catch {
      // not a model file
    }
  return models;
}

/** A version of the committed model in git history with this hash, and how to take it out. */
function committedModel(version: string): string | undefined {
  const path = relative(ROOT, DEFAULT_MODEL_FILE);
  const git = (...args: string[]) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const commits = git('log', '--format=%h', '--', path);
  if (commits.status !== 0) return undefined;
  for (const commit of commits.stdout.split('\n').filter(Boolean)) {
    const shownFile = git('show', `${commit}:${path}`);
    try {
      if (shownFile.status === 0 && modelVersion(checkModel(JSON.parse(shownFile.stdout))) === version)
        return `it is the committed model of commit ${commit}: git show ${commit}:${path} > model.json, then pass --model model.json`;
    } catch {
      // not a model at that commit
    }
  }
  return undefined;
}

/** The store folders among the test fixtures, with their catalogue and customer table versions. */
function storeFolders(): { path: string; catalogue: string; customerTable: string }[] {
  const folders: { path: string; catalogue: string; customerTable: string }[] = [];
  for (const file of filesUnder(FIXTURES, (f) => f.endsWith(CSV_FILES.customers))) {
    const path = join(file, '..');
    try {
      const store = storeFromCsv(path);
      folders.push({ path, catalogue: store.catalogue.version, customerTable: customerTableVersion(store.customers.values()) });
    } catch {
      // not a store (a hostile fixture)
    }
  }
  return folders;
}

function filesUnder(dir: string, wanted: (file: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((f) => join(dir, f))
    .filter((f) => wanted(f) && statSync(f).isFile() && statSync(f).size < 16 << 20);
}
