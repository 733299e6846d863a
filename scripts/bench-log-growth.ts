/**
 * `npm run bench:log`'s table-growth part (docs/archive.md): the same work on an empty log and on one already holding
 * `fill` events (written by SQL generate_series, not through the app), rounds alternating, medians:
 * - appends/s: one writer, its group commit, 100 appends waiting (target: within 25 % of the empty table);
 * - a stream's tail: its last 20 events (readStream after a version); a position range: 1,000 events from a position
 *   (read) — both as latencies, the two tables' reads taking turns (target: flat, the full table's within 25 % of the
 *   empty one's);
 * - archive: the first `archived` events of the full log moved to a file and removed, three times (the next
 *   `archived` each time), the median (target: under 30 s).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './bench-report.ts';
import { sql, type Database } from '../adapters/edges/database.ts';
import { PostgresEventLog } from '../adapters/edges/postgres-event-log.ts';
import { archive } from '../adapters/edges/postgres-log-archive.ts';
import type { Logger } from '../adapters/process/logger.ts';

export interface GrowthOptions {
  /** A fresh, migrated log in its own schema, opened with `poolSize` connections. */
  log: (name: string, poolSize: number) => Promise<Database>;
  fill: number;
  archived: number;
  rounds: number;
  seconds: number;
  logger: Logger;
}

/** Each stream's visits: 20 events (entry, 18 moves, exit), one after the other. */
const VISIT = 20;
const PROBE_EVENTS = 200;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `n` events as the pump and the detector write them, by SQL in chunks: customer-(g mod STREAMS), versions 1, 2, … per
 * stream, every visit entry → moves → exit, event time 100 events a second, recorded a millisecond apart. With
 * `STREAMS` = the archived count / VISIT, the archived events are every stream's first visit, closed by its exit.
 */
async function fill(d: Database, n: number, STREAMS: number, logger: Logger) {
  const t0 = performance.now();
  const chunk = 1_000_000;
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk) - 1;
    await d.db.query(sql`
      INSERT INTO events (stream_id, version, type, data, metadata, message_id, recorded_at)
      SELECT 'customer-' || (g % ${STREAMS}), g / ${STREAMS} + 1,
             CASE (g / ${STREAMS}) % ${VISIT} WHEN 0 THEN 'entry' WHEN ${VISIT - 1} THEN 'exit' ELSE 'move' END,
             jsonb_build_object('id', (g % ${STREAMS})::text, 'ts', 1700000000 + g / 100, 'x', g % 40, 'y', g % 25),
             '{"source": "mqtt"}'::jsonb, 'fill-' || g, timestamptz '2026-01-01' + g * interval '1 millisecond'
      FROM generate_series(${from}::bigint, ${to}::bigint) g`);
    logger.warn({ rows: to + 1, s: Math.round((performance.now() - t0) / 1000) }, 'bench:log growth: filling');
  }
  await d.db.query(sql`VACUUM ANALYZE events`);
  // the fill's dirty pages written now, not by a checkpoint during the measured rounds (needs a superuser: else skipped)
  await d.db.query(sql`CHECKPOINT`).catch(() => {});
  return (performance.now() - t0) / 1000;
}

/** A stream of PROBE_EVENTS events appended through the app, whose tail the reads take. */
async function probe(d: Database, logger: Logger) {
  const log = new PostgresEventLog(d.db, { log: logger });
  await log.append(Array.from({ length: PROBE_EVENTS }, (_, i) => ({ streamId: 'probe', type: 'move', data: { id: 'probe', ts: i, x: 1, y: 1 } })));
  await log.close();
}

/** Events/s one writer appends for `seconds`, 100 appends waiting, and the WAL it wrote per event (bytes). */
async function appendRate(d: Database, seconds: number, logger: Logger, round: number): Promise<{ rate: number; wal: number }> {
  const log = new PostgresEventLog(d.db, { log: logger });
  const lsn = async () => String((await d.db.query(sql`SELECT pg_current_wal_lsn()::text AS l`))[0].l);
  const walFrom = await lsn();
  let k = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (performance.now() < until) {
        const i = k++;
        await log.append([
          {
            streamId: `customer-${i % 5000}`,
            type: 'focus',
            data: { id: String(i % 5000), ts: 1_800_000_000 + i, dep: 'Men' },
            metadata: { source: 'bench' },
            messageId: `growth-${round}-${i}`,
          },
        ]);
      }
    }),
  );
  const rate = k / ((performance.now() - t0) / 1000);
  const [{ bytes }] = await d.db.query(sql`SELECT pg_wal_lsn_diff(${await lsn()}::pg_lsn, ${walFrom}::pg_lsn)::float8 AS bytes`);
  await log.close();
  return { rate, wal: Number(bytes) / Math.max(1, k) };
}

/**
 * Median latency (ms) of `n` reads of the probe stream's last 20 events, and of `n` reads of 1,000 events from a
 * position, on each log, the logs taking turns read by read: on a shared machine the load swings between seconds, and
 * a block of one log's reads, then one of the other's, measured those swings more than the table (ratios 0.8 to 1.4
 * between rounds, the server's time flat).
 */
async function reads(logs: Database[], logger: Logger, n = 60): Promise<{ tail: number; range: number }[]> {
  const each = await Promise.all(
    logs.map(async (d) => {
      const [{ lo, hi }] = await d.db.query(sql`SELECT min(position)::bigint AS lo, max(position)::bigint AS hi FROM events`);
      return { log: new PostgresEventLog(d.db, { log: logger }), lo: Number(lo), hi: Number(hi), tail: [] as number[], range: [] as number[] };
    }),
  );
  for (let i = 0; i < n; i++)
    for (const x of i % 2 ? [...each].reverse() : each) {
      let t = performance.now();
      const got = await x.log.readStream('probe', PROBE_EVENTS - 20);
      x.tail.push(performance.now() - t);
      if (got.length !== 20) throw new Error(`the probe's tail: ${got.length} events`);
      // a range spread over the whole table
      const from = x.lo + Math.floor(((x.hi - x.lo - 1000) * i) / n);
      t = performance.now();
      await x.log.read({ fromPosition: from, toPosition: from + 999 });
      x.range.push(performance.now() - t);
    }
  for (const x of each) await x.log.close();
  return each.map((x) => ({ tail: median(x.tail), range: median(x.range) }));
}

/** The server's side of a read: its plan's first line, buffers and execution time (EXPLAIN ANALYZE). */
async function explain(d: Database, query: ReturnType<typeof sql>): Promise<string> {
  const plan = (await d.db.query(sql`EXPLAIN (ANALYZE, BUFFERS) ${query}`)).map((r) => String(r['QUERY PLAN']));
  const buffers = plan.find((l) => l.includes('Buffers:'))?.trim() ?? '';
  return `${plan[0].replace(/\s+\(cost=.*$/, '').trim()}; ${buffers}; ${plan.find((l) => l.startsWith('Execution Time'))}`;
}

async function sizes(d: Database): Promise<string> {
  const rows = await d.db.query(sql`
    SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND (c.relname = 'events' OR c.relname LIKE 'events_%') ORDER BY pg_relation_size(c.oid) DESC`);
  return rows.map((r) => `${r.relname} ${r.size}`).join(', ');
}

export async function growthBench(o: GrowthOptions): Promise<BenchRow[]> {
  const empty = await o.log('growth_empty', 4);
  const full = await o.log('growth_full', 4);
  const rows: BenchRow[] = [];
  const out = mkdtempSync(join(tmpdir(), 'storeflow-bench-archive-'));
  try {
    const fillS = await fill(full, o.fill, Math.max(1, Math.floor(o.archived / VISIT)), o.logger);
    console.log(`growth: ${fmt(o.fill)} events filled by SQL in ${fillS.toFixed(0)} s; ${await sizes(full)}`);
    await probe(empty, o.logger);
    await probe(full, o.logger);
    const rate: Record<'empty' | 'full', number[]> = { empty: [], full: [] };
    const tail: Record<'empty' | 'full', number[]> = { empty: [], full: [] };
    const range: Record<'empty' | 'full', number[]> = { empty: [], full: [] };
    for (let r = 0; r < o.rounds; r++) {
      const wal: Record<'empty' | 'full', number> = { empty: 0, full: 0 };
      for (const which of (r % 2 ? ['full', 'empty'] : ['empty', 'full']) as ('empty' | 'full')[]) {
        const appended = await appendRate(which === 'empty' ? empty : full, o.seconds, o.logger, r);
        rate[which].push(appended.rate);
        wal[which] = appended.wal;
      }
      const [e, f] = await reads([empty, full], o.logger);
      for (const [which, x] of [
        ['empty', e],
        ['full', f],
      ] as const) {
        tail[which].push(x.tail);
        range[which].push(x.range);
        console.log(
          `  round ${r + 1}, ${which === 'empty' ? 'empty table' : `${fmt(o.fill)} events`}: ${fmt(rate[which].at(-1) ?? 0)} appends/s (${fmt(wal[which])} bytes of WAL each), ` +
            `stream tail ${x.tail.toFixed(2)} ms, range of 1,000 ${x.range.toFixed(2)} ms`,
        );
      }
    }
    for (const [which, d] of [
      ['empty', empty],
      ['full', full],
    ] as const) {
      const tailPlan = await explain(d, sql`SELECT * FROM events WHERE stream_id = 'probe' AND version > ${PROBE_EVENTS - 20} ORDER BY version`);
      const headPlan = await explain(d, sql`SELECT max(version) FROM events WHERE stream_id = 'customer-7'`);
      const [{ mid }] = await d.db.query(sql`SELECT ((min(position) + max(position)) / 2)::bigint AS mid FROM events`);
      const rangePlan = await explain(d, sql`SELECT * FROM events WHERE position >= ${Number(mid)} AND position <= ${Number(mid) + 999} ORDER BY position`);
      console.log(
        `  ${which}: a stream's tail: ${tailPlan}\n  ${which}: a stream's head (each append): ${headPlan}\n  ${which}: 1,000 events from a position: ${rangePlan}`,
      );
    }
    const m = (x: Record<'empty' | 'full', number[]>) => ({ empty: median(x.empty), full: median(x.full) });
    const [a, t, g] = [m(rate), m(tail), m(range)];
    const line = (what: string, v: { empty: number; full: number }, unit: string, digits: number, target: (ratio: number) => boolean, targetText: string) => {
      const ratio = v.full / v.empty;
      console.log(
        `${what}: ${v.full.toFixed(digits)} ${unit} with ${fmt(o.fill)} events, ${v.empty.toFixed(digits)} on an empty table: ratio ${ratio.toFixed(2)} (target ${targetText})`,
      );
      rows.push({
        figure: `log growth: ${what}, ${fmt(o.fill)} events in the table`,
        value: Math.round(v.full * 100) / 100,
        unit,
        baseline: { what: 'the same on an empty table', value: Math.round(v.empty * 100) / 100 },
        ratio: Math.round(ratio * 100) / 100,
        target: targetText,
        met: target(ratio),
      });
    };
    line('appends, 1 writer', a, 'events/s', 0, (r) => r >= 0.75, '≥ 0.75');
    line("a stream's last 20 events", t, 'ms', 2, (r) => r <= 1.25, '≤ 1.25');
    line('1,000 events from a position', g, 'ms', 2, (r) => r <= 1.25, '≤ 1.25');

    // archive the oldest `archived` events, three times over (a median): each time every stream's next visit, all
    // closed (each stream's visits are 20 events, the last its exit)
    const runs: { seconds: number; events: number; bytes: number }[] = [];
    for (let k = 0; k < Math.min(3, Math.floor(o.fill / o.archived)); k++) {
      const [{ at }] = await full.db.query(
        sql`SELECT (extract(epoch FROM recorded_at) * 1000)::float8 AS at FROM events WHERE position = (SELECT min(position) FROM events) + ${o.archived}`,
      );
      const result = await archive(full.db, { beforeMs: Number(at), dir: out, idleTimeoutS: 600 });
      const bytes = result.file ? statSync(result.file).size : 0;
      runs.push({ seconds: result.ms / 1000, events: result.events, bytes });
      console.log(
        `archive ${k + 1}: ${fmt(result.events)} events in ${(result.ms / 1000).toFixed(1)} s (target < 30 s), ${fmt(result.kept)} kept (open visits), file ${(bytes / 1e6).toFixed(0)} MB; ` +
          `plan ${((result.phases?.plan ?? 0) / 1000).toFixed(1)} s, file ${((result.phases?.file ?? 0) / 1000).toFixed(1)} s, rows removed ${((result.phases?.remove ?? 0) / 1000).toFixed(1)} s; after it: ${await sizes(full)}`,
      );
      if (result.file) rmSync(result.file);
    }
    const seconds = median(runs.map((r) => r.seconds));
    const bytes = median(runs.map((r) => r.bytes));
    rows.push({
      figure: `log growth: archive ${fmt(o.archived)} events (file written, rows removed) from a table of ${fmt(o.fill)}, median of ${runs.length}`,
      value: Math.round(seconds * 10) / 10,
      unit: 's',
      target: '< 30 s',
      met: seconds < 30 && runs.every((r) => r.events === o.archived),
      note: `${(bytes / 1e6).toFixed(0)} MB gzip; ${fmt(o.archived / seconds)} events/s; runs ${runs.map((r) => r.seconds.toFixed(1)).join(', ')} s`,
    });
    return rows;
  } finally {
    await empty.close();
    await full.close();
    rmSync(out, { recursive: true, force: true });
  }
}
