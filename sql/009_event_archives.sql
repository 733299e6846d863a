-- Closed history moved out of `events` into compressed NDJSON files (`npm run archive`, docs/archive.md).
-- One row per archive: the positions below `before_position` are in `file`, except the events of visits still open
-- at the cut, kept in `events` (and written to the file as context) until a later archive; `in_force` holds the
-- settings, model and catalogue records in force where the table now begins, which the next file starts with.
CREATE TABLE event_archives (
  id int PRIMARY KEY,
  before_position bigint NOT NULL,
  file text NOT NULL,
  events bigint NOT NULL,
  kept bigint NOT NULL,
  closed_before timestamptz NOT NULL,
  in_force jsonb NOT NULL DEFAULT '[]'::jsonb,
  archived_at timestamptz NOT NULL DEFAULT now()
);
-- Per stream, its last archived version and the archive that holds it: an append to a stream whose events are all
-- archived takes the next version (versions stay gap-free and (stream_id, version) unique), and a read of a stream's
-- archived versions is told which file has them.
CREATE TABLE archived_streams (
  stream_id text PRIMARY KEY,
  version int NOT NULL,
  archive int NOT NULL REFERENCES event_archives (id)
);
