-- Every process that streams the log (the gateway, the dashboard) hears appends made by any process: a statement
-- that adds events wakes the listeners of `storeflow_events` once its transaction commits. The payload is the schema,
-- so one database can hold several storeflows; listeners read what is new themselves, by position.
CREATE FUNCTION storeflow_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('storeflow_events', current_schema());
  RETURN NULL;
END $$;
CREATE TRIGGER events_appended AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION storeflow_events_appended();
