/**
 * The append's SQL: one INSERT per group commit, and which errors are about the rows themselves (the same rows would
 * fail again) rather than the database being away.
 */
import { sql, type Queryable } from '@databases/pg';
import type { NewEvent } from '../../actors/kernel/event-log.ts';
import { currentVersion } from '../../actors/kernel/upcasters.ts';

/** The schema version an event's data is stored with (sql/008): the one it says, else its type's current one. */
const schemaVersionOf = (e: NewEvent) => e.schemaVersion ?? currentVersion(e.type, e.streamId);

/** What the INSERT returns for each row written. */
export interface InsertedRow {
  position: number;
  stream_id: string;
  version: number;
  message_id: string | null;
  recorded_at: number;
}

/**
 * The batch's rows, in batch order, as written: events whose id is logged already (or earlier in the batch) are not
 * written, nor events whose `expected` version (null: none) is behind the stream's head, nor any event of a unit
 * (`units`: each event's, null for none) one of whose events is not written.
 */
export function insertRows(db: Queryable, events: NewEvent[], expected: (e: NewEvent) => number | null, units?: (number | null)[]): Promise<InsertedRow[]> {
  return db.query(sql`
    WITH input AS (
      -- the whole batch as one JSON parameter: one native stringify here, no per-element array escaping
      SELECT * FROM ROWS FROM (json_to_recordset(${JSON.stringify(
        events.map((e, n) => ({
          s: e.streamId,
          t: e.type,
          d: e.data,
          m: e.metadata ?? {},
          i: e.messageId ?? null,
          x: expected(e),
          w: schemaVersionOf(e),
          u: units?.[n] ?? null,
        })),
      )}::json)
                               AS (s text, t text, d jsonb, m jsonb, i text, x int, w smallint, u int))
        WITH ORDINALITY AS t(stream_id, type, data, metadata, message_id, expected, schema_version, unit, n)
    ), heads AS (
      -- one index probe per stream, (stream_id, version) backwards: a join here would scan the whole table; a stream
      -- with every event archived goes on from its archived version (coalesce evaluates the second probe only then)
      SELECT s.stream_id,
             coalesce((SELECT max(version) FROM events e WHERE e.stream_id = s.stream_id),
                      (SELECT a.version FROM archived_streams a WHERE a.stream_id = s.stream_id), 0) AS v
      FROM (SELECT DISTINCT stream_id FROM input) s
    ), firsts AS (
      -- an id twice in one batch: its first only (a window, not a correlated scan of the batch)
      SELECT i.*, row_number() OVER (PARTITION BY i.message_id ORDER BY i.n) AS k FROM input i
    ), checked AS (
      SELECT f.*, h.v,
             (f.expected IS NULL OR f.expected = h.v)
             AND (f.message_id IS NULL OR (f.k = 1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = f.message_id))) AS ok
      FROM firsts f JOIN heads h USING (stream_id)
    ), fresh AS (
      -- a unit (an input and the outputs it caused) is written whole or not at all; an event of no unit stands alone
      SELECT * FROM (SELECT c.*, bool_and(c.ok) OVER (PARTITION BY coalesce(c.unit, -c.n)) AS whole FROM checked c) w WHERE w.whole
    )
    INSERT INTO events (stream_id, version, type, data, metadata, message_id, schema_version)
    SELECT f.stream_id, f.v + row_number() OVER (PARTITION BY f.stream_id ORDER BY f.n), f.type, f.data, f.metadata, f.message_id, f.schema_version
    FROM fresh f
    ORDER BY f.n
    RETURNING position, stream_id, version, message_id, (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_at`);
}

/**
 * An error about the rows themselves (SQLSTATE class 22 data exception, 23 integrity violation, 54
 * program limit such as nesting depth): the same rows would fail again. A clash on (stream_id, version)
 * with another writer is not one: the versions are computed again on the next try.
 */
export function isAboutTheRows(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  if (typeof e?.code !== 'string' || !/^(22|23|54)/.test(e.code)) return false;
  // a clash with another writer on a version or an id: tried again, the versions computed and the ids looked up anew
  return !(e.code === '23505' && (e.constraint === 'events_stream_version' || e.constraint === 'events_message_id'));
}
