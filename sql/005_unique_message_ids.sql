-- Stable ids are unique in the log: a redelivered input, a publisher's retry or a decision made again (by a
-- restarted process, or by another replica) is recognised by the database, whichever process sees it.
-- A log written before this rule may hold an id more than once (the old 10-minute window, or an input logged
-- twice around a crash): the later copies keep their id with '#<position>' appended, so the index can hold.
WITH copies AS (
  SELECT position, row_number() OVER (PARTITION BY message_id ORDER BY position) AS n
  FROM events WHERE message_id IS NOT NULL
)
UPDATE events e SET message_id = e.message_id || '#' || e.position
FROM copies c WHERE c.position = e.position AND c.n > 1;
CREATE UNIQUE INDEX events_message_id ON events (message_id);
