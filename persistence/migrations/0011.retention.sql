-- Retention (service/retention.py). Monthly activity partitions that ended before the horizon are
-- dropped whole by the maintenance tick; like their creation, through a function with its owner's rights,
-- so the app needs no DDL privilege.
CREATE FUNCTION drop_activity_partitions(before TIMESTAMPTZ)
RETURNS INTEGER LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    partition_name TEXT;
    dropped INTEGER := 0;
BEGIN
    FOR partition_name IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'customer_activities' AND c.relname ~ '^customer_activities_[0-9]{4}_[0-9]{2}$'
    LOOP
        IF (to_date(right(partition_name, 7), 'YYYY_MM') + INTERVAL '1 month')::TIMESTAMP AT TIME ZONE 'UTC'
                <= before THEN
            EXECUTE format('DROP TABLE IF EXISTS %I', partition_name);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'customer_service_app') THEN
        GRANT EXECUTE ON FUNCTION drop_activity_partitions(TIMESTAMPTZ) TO customer_service_app;
    END IF;
END
$$;

-- Erasure finds a customer's published events (and redacts its rows) by customer id.
CREATE INDEX idx_outbox_customer ON outbox (customer_id);
-- The retention deletes by age.
CREATE INDEX idx_processed_events_processed ON processed_events (processed_at);
CREATE INDEX idx_outbox_dead_letters_at ON outbox_dead_letters (dead_lettered_at);
