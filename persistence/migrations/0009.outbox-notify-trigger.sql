-- Wakes the outbox relay when a transaction that wrote outbox rows commits. The write path sent its own
-- NOTIFY statement after the rows, one round trip more per change (bench/, issue 17); a statement trigger
-- notifies from inside the INSERT, and PostgreSQL still delivers it only at COMMIT, once per transaction
-- (identical notifications in one transaction are folded).
CREATE FUNCTION outbox_notify() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
