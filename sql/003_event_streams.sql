-- Event streams of the gateway (seed 004): created and deleted through the internal API, they
-- survive restarts. The id is a random UUID and is the only secret in the public location.
CREATE TABLE event_streams (
  id uuid PRIMARY KEY,
  routing_key text NOT NULL CHECK (length(routing_key) BETWEEN 1 AND 255),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_streams_created_at ON event_streams (created_at);
