/**
 * `npm run archive`: closed history moved out of `events` into a compressed NDJSON file that `npm run replay` reads
 * (docs/archive.md). The cut is a position: the first recorded at or after the date asked for (never past where the
 * log is final). Every event below it goes to the file, in position order, after the records in force where it
 * begins; then, in one transaction, those rows leave the table, each stream's last archived version is kept
 * (archived_streams: its next append takes the next version) and the archive is recorded (event_archives).
 *
 * A visit still open at the cut is not archived: its events stay in the table, and go to the file marked `context`
 * (replayed, not compared: the file's replay keeps the clocks of the log), to be archived by a later run once closed.
 * "Open" is recovery's reading (adapters/recommender/open-visits.ts), at the cut: the customer entered, focused or
 * moved after their last exit, within the idle timeout of event time; or a focus has no decision yet. The `process`
 * stream's records from the first kept event on stay too, so the next file holds the restarts its visits met.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createGzip } from 'node:zlib';
import { sql, type ConnectionPool, type Queryable } from '@databases/pg';
import { toExported, type ExportedEvent, type LoggedEvent } from '../../actors/kernel/event-log.ts';
import { SESSION_INPUTS, WALK_INPUTS } from '../engine/inputs.ts';
import { toLogged, type EventRow } from './postgres-log-reads.ts';
import { sameJson } from '../engine/comparing-log.ts';
import { currentVersion } from '../../actors/kernel/upcasters.ts';
import { settledHead } from './postgres-log-settled.ts';

export interface ArchiveOptions {
  /** Archive what was recorded before this time (epoch ms). */
  beforeMs: number;
  /** Where the file goes. */
  dir: string;
  /** The recommender's idle timeout: a visit quiet this long (in event time) is closed. */
  idleTimeoutS: number;
  pageSize?: number;
}

/** A visit open at the cut: its events from `from` on stay in the log. */
export interface HeldVisit {
  streamId: string;
  from: number;
}

export interface ArchiveResult {
  /** The file written (undefined: nothing to archive). */
  file?: string;
  /** The archive's cut: positions below it are archived, but for the held visits. */
  before: number;
  /** The first position in the table before the archive. */
  from: number;
  /** Events removed from the table (and written to the file). */
  events: number;
  /** Events of held visits written as context and kept. */
  kept: number;
  held: HeldVisit[];
  ms: number;
  /** Where the time went (ms): finding the cut and the open visits, writing the file, removing the rows. */
  phases?: { plan: number; file: number; remove: number };
}

const STARTS = new Set(['recommender_started', 'detector_started']);

/**
 * Archives what was recorded before `o.beforeMs`; one archive at a time per log (an advisory lock). `db` needs two
 * connections or more: the file's pages are read on the archive's own connection and one more from the pool.
 */
export async function archive(db: ConnectionPool, o: ArchiveOptions): Promise<ArchiveResult> {
  const t0 = performance.now();
  return db.task(async (c) => {
    const [{ locked }] = await c.query(sql`SELECT pg_try_advisory_lock(hashtext(current_schema() || '.storeflow_archive')) AS locked`);
    if (!locked) throw new Error('another archive of this log is running');
    try {
      const [first] = await c.query(sql`SELECT min(position)::bigint AS p FROM events`);
      const from = Number(first?.p ?? 0);
      const before = await cutOf(c, o.beforeMs);
      const nothing = { before, from, events: 0, kept: 0, held: [], ms: 0 };
      if (first?.p == null || before <= from) return { ...nothing, ms: performance.now() - t0 };
      // each stream's aggregate of the events below the cut hashed in memory, not sorted on disk (a million events:
      // 50,000 streams, a 45 MB external sort at the default work_mem)
      const held = await c.tx(async (tx) => {
        await tx.query(sql`SET LOCAL work_mem = '256MB'`);
        return heldVisits(tx, before, o.idleTimeoutS);
      });
      const planned = performance.now();
      const keptFrom = new Map(held.map((h) => [h.streamId, h.from]));
      const firstKept = held.length ? Math.min(...held.map((h) => h.from)) : before;
      const keeps = (e: { streamId: string; position: number }) =>
        e.position >= (keptFrom.get(e.streamId) ?? Number.POSITIVE_INFINITY) || (e.streamId === 'process' && e.position >= firstKept);
      const [previous] = await c.query(sql`SELECT id, in_force FROM event_archives ORDER BY id DESC LIMIT 1`);
      const id = (previous?.id ?? 0) + 1;
      const name = `events-${String(id).padStart(4, '0')}-${from}-${before - 1}.ndjson.gz`;
      await mkdir(o.dir, { recursive: true });
      const file = resolve(join(o.dir, name));
      const written = await writeFile([c, db], file, {
        header: { id, from, before, closedBeforeMs: o.beforeMs, held: held.length },
        inForce: (previous?.in_force ?? []) as ExportedEvent[],
        before,
        firstKept,
        keeps,
        pageSize: o.pageSize ?? 20_000,
        from,
      });
      const filed = performance.now();
      if (written.archived === 0) {
        await rm(file, { force: true });
        return { ...nothing, kept: written.kept, held, ms: performance.now() - t0 };
      }
      try {
        const removed = await c.tx(async (tx) => {
          await tx.query(sql`INSERT INTO event_archives (id, before_position, file, events, kept, closed_before, in_force)
            VALUES (${id}, ${before}, ${file}, ${written.archived}, ${written.kept}, to_timestamp(${o.beforeMs / 1000}), ${JSON.stringify(written.inForceNext)}::jsonb)`);
          // one range of the primary key, in its order; a held visit's events kept by a lookup in a constant (as a join,
          // the planner may hash the range and delete in hash order: a million rows, 3 to 5 times slower)
          const keptFromJson = JSON.stringify(Object.fromEntries(keptFrom));
          const [r] = await tx.query(sql`
            WITH gone AS (
              DELETE FROM events e WHERE e.position >= ${from} AND e.position < ${before}
                AND NOT (e.stream_id = 'process' AND e.position >= ${firstKept})
                AND e.position < coalesce((${keptFromJson}::jsonb ->> e.stream_id)::bigint, ${before})
              RETURNING e.stream_id, e.version
            ), heads AS (
              INSERT INTO archived_streams AS a (stream_id, version, archive)
              SELECT stream_id, max(version), ${id} FROM gone GROUP BY stream_id
              ON CONFLICT (stream_id) DO UPDATE SET version = greatest(a.version, excluded.version), archive = excluded.archive
              RETURNING 1
            )
            SELECT (SELECT count(*) FROM gone)::bigint AS n, (SELECT count(*) FROM heads)::int AS streams`);
          // the file and the table must agree: anything else is rolled back, and the file removed
          if (Number(r.n) !== written.archived) throw new Error(`archive: ${written.archived} events written but ${r.n} to remove; nothing removed`);
          return Number(r.n);
        });
        const end = performance.now();
        const phases = { plan: planned - t0, file: filed - planned, remove: end - filed };
        return { file, before, from, events: removed, kept: written.kept, held, ms: end - t0, phases };
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
    } finally {
      await c.query(sql`SELECT pg_advisory_unlock(hashtext(current_schema() || '.storeflow_archive'))`);
    }
  });
}

/** The cut: the first position recorded at or after `beforeMs`, and never past the settled head (an open transaction below it). */
async function cutOf(db: Queryable, beforeMs: number): Promise<number> {
  const settled = await settledHead(db);
  const [r] = await db.query(sql`SELECT min(position)::bigint AS p FROM events WHERE recorded_at >= to_timestamp(${beforeMs / 1000})`);
  return Math.min(r?.p == null ? settled + 1 : Number(r.p), settled + 1);
}

/**
 * The visits open at the cut, read as recovery reads the log's end (open-visits.ts), over every event below the cut:
 * per customer, the latest event time, last exit, last entry/focus/move, last focus, last decision. Open: an input
 * after the last exit, within the idle timeout of event time (the latest time two customers reached); or a focus
 * after the last decision. Kept from the event after the last exit (an undecided focus: the exit before it).
 */
export async function heldVisits(db: Queryable, before: number, idleTimeoutS: number): Promise<HeldVisit[]> {
  const timed: string[] = [...new Set([...SESSION_INPUTS, ...WALK_INPUTS])];
  const staying = timed.filter((t) => t !== 'exit');
  const streams = await db.query(sql`
    SELECT stream_id, max((data->>'ts')::numeric) FILTER (WHERE type = ANY(${timed}::text[])) AS max_ts,
           coalesce(max(position) FILTER (WHERE type = 'exit'), 0) AS last_exit,
           max(position) FILTER (WHERE type = ANY(${staying}::text[])) AS last_in,
           max(position) FILTER (WHERE type = 'focus') AS last_focus,
           coalesce(max(position) FILTER (WHERE type IN ('prediction', 'no_prediction')), 0) AS last_decision
    FROM events
    WHERE position < ${before} AND type = ANY(${[...timed, 'prediction', 'no_prediction']}::text[]) AND stream_id LIKE 'customer-%'
    GROUP BY stream_id`);
  const times = streams
    .map((r) => Number(r.max_ts))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => b - a);
  if (times.length === 0) return [];
  const eventTime = times[Math.min(1, times.length - 1)];
  /** Per stream held: the position after which its events stay (its last exit; an undecided focus: the exit before it). */
  const after = new Map<string, number>();
  const undecided: { stream: string; focus: number }[] = [];
  for (const r of streams) {
    const recent = Number(r.max_ts) > eventTime - idleTimeoutS;
    const open = recent && r.last_in !== null && Number(r.last_exit) < Number(r.last_in);
    if (open) after.set(r.stream_id, Number(r.last_exit));
    else if (recent && r.last_focus !== null && Number(r.last_focus) > Number(r.last_decision))
      undecided.push({ stream: r.stream_id, focus: Number(r.last_focus) });
  }
  if (undecided.length) {
    const starts = await db.query(sql`
      SELECT u.stream_id, coalesce((SELECT max(position) FROM events x WHERE x.stream_id = u.stream_id AND x.type = 'exit' AND x.position < u.focus), 0) AS start
      FROM unnest(${undecided.map((u) => u.stream)}::text[], ${undecided.map((u) => u.focus)}::bigint[]) AS u(stream_id, focus)`);
    for (const r of starts) after.set(r.stream_id, Number(r.start));
  }
  if (after.size === 0) return [];
  // each held visit from its first event (where the table will begin matters: the process records from there stay too)
  const firsts = await db.query(sql`
    SELECT u.stream_id, (SELECT min(position) FROM events x WHERE x.stream_id = u.stream_id AND x.position > u.after) AS first
    FROM unnest(${[...after.keys()]}::text[], ${[...after.values()]}::bigint[]) AS u(stream_id, after)`);
  const held: HeldVisit[] = firsts.map((r) => ({ streamId: r.stream_id, from: Number(r.first) }));
  return held.sort((a, b) => a.from - b.from);
}

interface FilePlan {
  header: { id: number; from: number; before: number; closedBeforeMs: number; held: number };
  /** The records in force where the table begins (kept by the previous archive). */
  inForce: ExportedEvent[];
  before: number;
  firstKept: number;
  keeps: (e: { streamId: string; position: number }) => boolean;
  /** Positions per page. */
  pageSize: number;
  /** The table's first position. */
  from: number;
}

/** An events row with its data and metadata as the JSON text PostgreSQL holds (never parsed, unless checked). */
interface TextRow {
  position: number | string;
  stream_id: string;
  version: number;
  type: string;
  data: string;
  metadata: string;
  message_id: string | null;
  recorded_at: number;
  schema_version: number;
}

const TEXT_COLUMNS = sql`position, stream_id, version, type, data::text AS data, metadata::text AS metadata, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at, schema_version`;

/** A row as a logged event (its JSON parsed). */
const parsed = (r: TextRow): LoggedEvent => toLogged({ ...r, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata) } as EventRow);

/** The row's NDJSON line as the export writes it, put together from the JSON text PostgreSQL holds: no parse, no stringify. */
const fastLine = (r: TextRow) =>
  `{"position":${Number(r.position)},"stream_id":${JSON.stringify(r.stream_id)},"version":${r.version},"type":${JSON.stringify(r.type)},"schema_version":${r.schema_version},"data":${r.data},"metadata":${r.metadata},"message_id":${r.message_id === null ? 'null' : JSON.stringify(r.message_id)},"recorded_at":"${new Date(Math.floor(r.recorded_at)).toISOString()}"}`;

/**
 * The file: a header, the records in force, then every event below the cut in position order (a held visit's as
 * context), gzip-compressed, written under a temporary name, flushed to disk and renamed. Returns how many events it
 * archived and kept, and the records in force at the first kept event (where the table will begin): the next file's.
 * Lines are put together from the rows' JSON text (a million events: about a third of the time toExported and
 * JSON.stringify take) as long as the first row's line reads back as toExported writes it; otherwise (the export
 * format changed) every line is toExported's.
 */
async function writeFile(readers: Queryable[], file: string, p: FilePlan): Promise<{ archived: number; kept: number; inForceNext: ExportedEvent[] }> {
  const partial = `${file}.partial`;
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(partial);
  gzip.pipe(out);
  const closed = once(out, 'close');
  const write = async (text: string) => {
    if (!gzip.write(text)) await once(gzip, 'drain');
  };
  /** The records in force so far, by type: a start names everything anew, a reload the catalogue and customers. */
  const inForce = new Map<string, ExportedEvent>(p.inForce.map((e) => [e.type, e]));
  let inForceNext: ExportedEvent[] | undefined;
  let archived = 0;
  let kept = 0;
  let fast: boolean | undefined;
  // pages of `pageSize` positions, one in flight per reader (the server's side, its rows' JSON as text, is most of
  // the time: two pages are made at once while the one before is written)
  const pages: Promise<TextRow[]>[] = [];
  let nextFrom = p.from;
  let asked = 0;
  const more = () => {
    while (pages.length < readers.length && nextFrom < p.before) {
      const [from, to] = [nextFrom, Math.min(p.before, nextFrom + p.pageSize)];
      pages.push(
        readers[asked++ % readers.length].query(sql`SELECT ${TEXT_COLUMNS} FROM events WHERE position >= ${from} AND position < ${to} ORDER BY position`),
      );
      nextFrom = to;
    }
  };
  try {
    await write(
      `${JSON.stringify({ position: 0, stream_id: 'export', version: 0, type: 'archive', data: p.header, metadata: { source: 'export' }, message_id: null, recorded_at: new Date().toISOString() })}\n`,
    );
    if (p.inForce.length) await write(p.inForce.map((e) => `${JSON.stringify(e)}\n`).join(''));
    for (more(); pages.length; ) {
      const rows: TextRow[] = await (pages.shift() as Promise<TextRow[]>);
      more();
      let chunk = '';
      for (const row of rows) {
        const position = Number(row.position);
        if (inForceNext === undefined && position >= p.firstKept) inForceNext = [...inForce.values()];
        fast ??= row.schema_version === currentVersion(row.type, row.stream_id) && sameJson(JSON.parse(fastLine(row)), toExported(parsed(row)));
        // a row of an older schema version is upcast on the way (toLogged), as every reader does
        let line = fast && row.schema_version === currentVersion(row.type, row.stream_id) ? fastLine(row) : JSON.stringify(toExported(parsed(row)));
        if (row.stream_id === 'process' && (STARTS.has(row.type) || row.type === 'catalogue_loaded')) {
          if (row.type === 'recommender_started') inForce.delete('catalogue_loaded');
          inForce.set(row.type, toExported(parsed(row)));
        }
        if (p.keeps({ streamId: row.stream_id, position })) {
          kept++;
          // a held visit's events: replayed for the clocks and the sessions, compared when they are archived at last
          if (row.stream_id !== 'process') line = `${line.slice(0, -1)},"context":true}`;
        } else archived++;
        chunk += `${line}\n`;
      }
      await write(chunk);
    }
    gzip.end();
    await closed;
    const fd = await open(partial, 'r+');
    await fd.sync();
    await fd.close();
    await rename(partial, file);
  } catch (err) {
    gzip.destroy();
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
  return { archived, kept, inForceNext: inForceNext ?? [...inForce.values()] };
}
