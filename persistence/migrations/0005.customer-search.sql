-- Finding customers (GET /v1/customers): keyset pagination on (registration_date, id), newest first,
-- and one index per filter. Name search matches substrings through trigrams.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX idx_customers_registration_id ON customers (registration_date DESC, id DESC);
CREATE INDEX idx_customers_status_registration_id ON customers (status, registration_date DESC, id DESC);
CREATE INDEX idx_customers_email_prefix ON customers (lower(email) text_pattern_ops);
CREATE INDEX idx_customers_name_trgm ON customers
    USING gin ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))) gin_trgm_ops);
CREATE INDEX idx_customer_segments_last_order ON customer_segments (last_order_date);
CREATE INDEX idx_customer_segments_tier_customer ON customer_segments (tier, customer_id);
CREATE INDEX idx_customer_segments_segment_customer ON customer_segments (segment, customer_id);
