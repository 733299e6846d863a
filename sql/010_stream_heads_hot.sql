-- The stream heads of sql/007 for less work per append (issue 28's "no worse", docs/performance.md): measured in
-- PostgreSQL's own CPU per appended event, the trigger of 007 cost a third more than the INSERT without it.
-- - Only the events that move a visit update a head (entry, focus, exit, move): a decision no longer does. Whether a
--   closed visit's last focus was decided is asked at a start instead, of the few closed visits within the idle timeout
--   (adapters/edges/postgres-log-reads.ts: one probe of the stream's index each). `version` was read by nothing.
-- - No index on the times, which every update changes: updates become HOT (heap-only: no index entry written, the new
--   row on the same page, kept free by the fill factor). A start reads the heads table whole instead (one row per
--   customer ever seen; the log is still never scanned).
CREATE OR REPLACE FUNCTION storeflow_stream_heads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- in stream order, so two writers touching the same heads lock them in the same order
  INSERT INTO stream_heads AS h (stream_id, session_ts, walk_ts, last_entry, last_focus, last_move, last_exit)
  SELECT n.stream_id,
         max(n.ts) FILTER (WHERE n.type <> 'move'),
         max(n.ts),
         coalesce(max(n.version) FILTER (WHERE n.type = 'entry'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'focus'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'move'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'exit'), 0)
  FROM (SELECT a.stream_id, a.version, a.type,
               CASE WHEN jsonb_typeof(a.data->'ts') = 'number' THEN (a.data->>'ts')::numeric END AS ts
        FROM appended a WHERE a.type IN ('entry', 'focus', 'exit', 'move') AND a.stream_id LIKE 'customer-%') n
  GROUP BY n.stream_id
  ORDER BY n.stream_id
  ON CONFLICT (stream_id) DO UPDATE SET
    session_ts = greatest(h.session_ts, excluded.session_ts),
    walk_ts = greatest(h.walk_ts, excluded.walk_ts),
    last_entry = greatest(h.last_entry, excluded.last_entry),
    last_focus = greatest(h.last_focus, excluded.last_focus),
    last_move = greatest(h.last_move, excluded.last_move),
    last_exit = greatest(h.last_exit, excluded.last_exit);
  RETURN NULL;
END $$;

DROP INDEX stream_heads_session_ts;
DROP INDEX stream_heads_walk_ts;
ALTER TABLE stream_heads DROP COLUMN version, DROP COLUMN last_decision;
-- room on each page for the next versions of its rows (new pages; existing ones gain it as old versions are pruned)
ALTER TABLE stream_heads SET (fillfactor = 60);
