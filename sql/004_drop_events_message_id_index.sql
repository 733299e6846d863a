-- No query looks events up by message_id (the de-duplication window is rebuilt from recorded_at at
-- start, replay and export read by position), so the index only cost an insert per appended event.
DROP INDEX IF EXISTS events_message_id;
