-- Snapshots of a customer's actors (the recommender's session, the detector's walk with its footsteps): a restart and a
-- replica's rebuild start at the newest one of the machine version in force and read only the stream after it
-- (docs/snapshots.md). One row per stream, machine and machine version: the newest taken; a snapshot is a cache of
-- its stream, so losing one costs a longer read, never a decision.
CREATE TABLE snapshots (
  stream_id text NOT NULL,
  machine text NOT NULL,            -- 'session', 'focus-detector'
  machine_version text NOT NULL,    -- hash of machines/json/<machine>.json '.' the machine's code version
  version int NOT NULL,             -- the stream's version the state is as of (every input up to it applied)
  state jsonb NOT NULL,
  taken_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (stream_id, machine, machine_version)
);

-- Each customer stream's head and where its visit stands, kept by the database as events are appended: a start finds
-- the open visits here (a visit is open when not ended and its last event is within the idle timeout of the log's
-- time), with no window of recorded time and no scan of the log. Versions are 0 when the stream has none of that type;
-- `session_ts` is the latest event time of an entry, focus or exit, `walk_ts` of those and moves.
CREATE TABLE stream_heads (
  stream_id text PRIMARY KEY,
  version int NOT NULL,
  session_ts numeric,
  walk_ts numeric,
  last_entry int NOT NULL DEFAULT 0,
  last_focus int NOT NULL DEFAULT 0,
  last_move int NOT NULL DEFAULT 0,
  last_exit int NOT NULL DEFAULT 0,
  last_decision int NOT NULL DEFAULT 0
);
CREATE INDEX stream_heads_session_ts ON stream_heads (session_ts);
CREATE INDEX stream_heads_walk_ts ON stream_heads (walk_ts);
-- the exit before a focus never decided (where its visit began): a few rows per stream, not the stream
CREATE INDEX events_exits ON events (stream_id, version) WHERE type = 'exit';

CREATE FUNCTION storeflow_stream_heads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- in stream order, so two writers touching the same heads lock them in the same order
  INSERT INTO stream_heads AS h
  SELECT n.stream_id, max(n.version),
         max(n.ts) FILTER (WHERE n.type IN ('entry', 'focus', 'exit')),
         max(n.ts) FILTER (WHERE n.type IN ('entry', 'focus', 'exit', 'move')),
         coalesce(max(n.version) FILTER (WHERE n.type = 'entry'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'focus'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'move'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type = 'exit'), 0),
         coalesce(max(n.version) FILTER (WHERE n.type IN ('prediction', 'no_prediction')), 0)
  FROM (SELECT a.stream_id, a.version, a.type,
               CASE WHEN jsonb_typeof(a.data->'ts') = 'number' THEN (a.data->>'ts')::numeric END AS ts
        FROM appended a WHERE a.stream_id LIKE 'customer-%') n
  GROUP BY n.stream_id
  ORDER BY n.stream_id
  ON CONFLICT (stream_id) DO UPDATE SET
    version = greatest(h.version, excluded.version),
    session_ts = greatest(h.session_ts, excluded.session_ts),
    walk_ts = greatest(h.walk_ts, excluded.walk_ts),
    last_entry = greatest(h.last_entry, excluded.last_entry),
    last_focus = greatest(h.last_focus, excluded.last_focus),
    last_move = greatest(h.last_move, excluded.last_move),
    last_exit = greatest(h.last_exit, excluded.last_exit),
    last_decision = greatest(h.last_decision, excluded.last_decision);
  RETURN NULL;
END $$;
CREATE TRIGGER events_stream_heads AFTER INSERT ON events REFERENCING NEW TABLE AS appended
  FOR EACH STATEMENT EXECUTE FUNCTION storeflow_stream_heads();

-- the heads of a log written before this migration: one pass over it, once
INSERT INTO stream_heads
SELECT n.stream_id, max(n.version),
       max(n.ts) FILTER (WHERE n.type IN ('entry', 'focus', 'exit')),
       max(n.ts) FILTER (WHERE n.type IN ('entry', 'focus', 'exit', 'move')),
       coalesce(max(n.version) FILTER (WHERE n.type = 'entry'), 0),
       coalesce(max(n.version) FILTER (WHERE n.type = 'focus'), 0),
       coalesce(max(n.version) FILTER (WHERE n.type = 'move'), 0),
       coalesce(max(n.version) FILTER (WHERE n.type = 'exit'), 0),
       coalesce(max(n.version) FILTER (WHERE n.type IN ('prediction', 'no_prediction')), 0)
FROM (SELECT e.stream_id, e.version, e.type,
             CASE WHEN jsonb_typeof(e.data->'ts') = 'number' THEN (e.data->>'ts')::numeric END AS ts
      FROM events e WHERE e.stream_id LIKE 'customer-%') n
GROUP BY n.stream_id;
