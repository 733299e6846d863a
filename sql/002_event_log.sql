-- The event log: the source of truth. Every input is appended before an actor sees it,
-- every output before it is published.
CREATE TABLE events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_id text NOT NULL,          -- 'customer-127', 'pump', ...
  version int NOT NULL,             -- per-stream, 1-based, gap-free
  type text NOT NULL,               -- entry, move, exit, focus, browsing, prediction, rejected, ...
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  message_id text,                  -- stable id: inputs' dedup key, outputs' id derived from their input
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);
CREATE INDEX events_type_position ON events (type, position);
CREATE INDEX events_message_id ON events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX events_recorded_at ON events (recorded_at);
