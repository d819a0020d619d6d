-- The app connects as customer_service_app: rows only, no DDL. The schema belongs to the role that
-- runs migrations. Where that role does not exist (local runs, tests) the grants are skipped.

-- Monthly activity partitions are created by the app's maintenance tick: the function runs with its
-- owner's rights, so the app needs no CREATE privilege.
ALTER FUNCTION ensure_activity_partitions(TIMESTAMPTZ, INTEGER) SECURITY DEFINER SET search_path = public;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'customer_service_app') THEN
        GRANT USAGE ON SCHEMA public TO customer_service_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO customer_service_app;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO customer_service_app;
        GRANT EXECUTE ON FUNCTION ensure_activity_partitions(TIMESTAMPTZ, INTEGER) TO customer_service_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO customer_service_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO customer_service_app;
    END IF;
END
$$;
