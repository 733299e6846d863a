-- Every event records the schema version of its data (docs/event-versions.md): readers upcast older versions to the
-- current shape (actors/kernel/upcasters.ts). A column, not metadata: metadata is the event's own (the gateway streams
-- it), a smallint costs two bytes a row, and a constant default is a catalogue change, not a rewrite of the table.
-- Rows written before are version 1 (decision records of issue 34 that say `v: 2` in their data read as that).
ALTER TABLE events ADD COLUMN schema_version smallint NOT NULL DEFAULT 1;
