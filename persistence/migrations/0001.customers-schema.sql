-- The spec's tables, translated to valid PostgreSQL: inline INDEX clauses become CREATE INDEX, and
-- customer_activities carries its partition column in the primary key. Every spec column, index and
-- CHECK constraint is kept; additions are marked "added".

CREATE TABLE customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,

    first_name VARCHAR(100),
    last_name VARCHAR(100),
    date_of_birth DATE,
    gender VARCHAR(10),
    phone VARCHAR(20),
    avatar_url VARCHAR(500),

    status VARCHAR(20) DEFAULT 'active',
    email_verified BOOLEAN DEFAULT FALSE,
    phone_verified BOOLEAN DEFAULT FALSE,

    preferences JSONB DEFAULT '{}',

    registration_date TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    last_login_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    version INTEGER NOT NULL DEFAULT 1,          -- added: optimistic concurrency, the API's ETag
    erased_at TIMESTAMP WITH TIME ZONE,          -- added: GDPR erasure time

    CONSTRAINT chk_customers_status CHECK (status IN ('active', 'inactive', 'suspended', 'deleted')),
    CONSTRAINT chk_customers_email CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')
);
CREATE INDEX idx_customers_email ON customers (email);
CREATE INDEX idx_customers_status ON customers (status);
CREATE INDEX idx_customers_registration ON customers (registration_date);
CREATE INDEX idx_customers_last_login ON customers (last_login_at);
-- added: one account per address whatever its letter case.
CREATE UNIQUE INDEX uq_customers_email_lower ON customers (lower(email));

CREATE TABLE customer_addresses (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    type VARCHAR(20) NOT NULL DEFAULT 'shipping',
    is_default BOOLEAN DEFAULT FALSE,

    first_name VARCHAR(100),
    last_name VARCHAR(100),
    company VARCHAR(100),
    street VARCHAR(255) NOT NULL,
    street2 VARCHAR(255),
    city VARCHAR(100) NOT NULL,
    state VARCHAR(50),
    zip_code VARCHAR(20) NOT NULL,
    country VARCHAR(2) NOT NULL DEFAULT 'US',
    phone VARCHAR(20),

    is_validated BOOLEAN DEFAULT FALSE,
    validation_data JSONB,

    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    CONSTRAINT chk_customer_addresses_type CHECK (type IN ('shipping', 'billing', 'both')),
    CONSTRAINT chk_customer_addresses_country CHECK (LENGTH(country) = 2)
);
CREATE INDEX idx_customer_addresses_customer ON customer_addresses (customer_id);
CREATE INDEX idx_customer_addresses_type ON customer_addresses (type);
CREATE INDEX idx_customer_addresses_default ON customer_addresses (is_default);
CREATE INDEX idx_customer_addresses_country ON customer_addresses (country);
-- added: at most one default address per type, guaranteed by the database.
CREATE UNIQUE INDEX uq_customer_addresses_default_per_type
    ON customer_addresses (customer_id, type) WHERE is_default;

CREATE TABLE customer_segments (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    tier VARCHAR(20) NOT NULL DEFAULT 'regular',
    segment VARCHAR(50) NOT NULL DEFAULT 'new_customer',
    loyalty_points INTEGER DEFAULT 0,

    total_spent DECIMAL(12,2) DEFAULT 0,
    order_count INTEGER DEFAULT 0,
    average_order_value DECIMAL(10,2) DEFAULT 0,
    last_order_date TIMESTAMP WITH TIME ZONE,
    days_since_last_order INTEGER,
    lifetime_value DECIMAL(12,2) DEFAULT 0,

    qualifications JSONB DEFAULT '{}',

    tier_achieved_at TIMESTAMP WITH TIME ZONE,
    segment_achieved_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),

    computed_tier VARCHAR(20) NOT NULL DEFAULT 'regular',         -- added: rules' result under an override
    computed_segment VARCHAR(50) NOT NULL DEFAULT 'new_customer', -- added
    override JSONB,                                               -- added: admin override and its reason
    recent_orders JSONB NOT NULL DEFAULT '[]',                    -- added: frequent_buyer's 6-month window
    next_review_at TIMESTAMP WITH TIME ZONE,                      -- added: next decay boundary

    CONSTRAINT chk_customer_segments_tier CHECK (tier IN ('regular', 'premium', 'vip', 'enterprise')),
    CONSTRAINT unique_customer_segment UNIQUE (customer_id)
);
CREATE INDEX idx_customer_segments_customer ON customer_segments (customer_id);
CREATE INDEX idx_customer_segments_tier ON customer_segments (tier);
CREATE INDEX idx_customer_segments_segment ON customer_segments (segment);
CREATE INDEX idx_customer_segments_total_spent ON customer_segments (total_spent);
CREATE INDEX idx_customer_segments_order_count ON customer_segments (order_count);
CREATE INDEX idx_customer_segments_next_review ON customer_segments (next_review_at);

-- Partitioned by month. A partitioned table's primary key must include the partition column.
CREATE TABLE customer_activities (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,

    activity_type VARCHAR(50) NOT NULL,
    activity_data JSONB NOT NULL,

    session_id VARCHAR(100),
    ip_address INET,
    user_agent TEXT,

    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),

    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX idx_customer_activities_customer ON customer_activities (customer_id);
CREATE INDEX idx_customer_activities_type ON customer_activities (activity_type);
CREATE INDEX idx_customer_activities_occurred ON customer_activities (occurred_at);
CREATE INDEX idx_customer_activities_session ON customer_activities (session_id);

-- Creates the monthly partitions from the month of `from_time` through `months_ahead` months later.
-- The service calls it at start-up and on every periodic tick, so the current and next months
-- always exist without a human.
CREATE FUNCTION ensure_activity_partitions(from_time TIMESTAMPTZ, months_ahead INTEGER)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    month_start DATE;
    created INTEGER := 0;
    partition_name TEXT;
BEGIN
    FOR i IN 0..months_ahead LOOP
        month_start := (date_trunc('month', from_time AT TIME ZONE 'UTC') + make_interval(months => i))::DATE;
        partition_name := 'customer_activities_' || to_char(month_start, 'YYYY_MM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF customer_activities FOR VALUES FROM (%L) TO (%L)',
                partition_name,
                (month_start::TIMESTAMP AT TIME ZONE 'UTC'),
                ((month_start + INTERVAL '1 month')::TIMESTAMP AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

-- Marketing consent, as history: channel, new state, time, source.
CREATE TABLE customer_consents (
    id BIGSERIAL PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel VARCHAR(20) NOT NULL,
    granted BOOLEAN NOT NULL,
    source VARCHAR(50) NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_customer_consents_channel CHECK (channel IN ('email', 'sms', 'push'))
);
CREATE INDEX idx_customer_consents_customer ON customer_consents (customer_id, recorded_at);

-- Transactional outbox: written in the same transaction as the change it announces, published by
-- the relay in id order, so an event whose write committed is never lost.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    event_id VARCHAR(64) NOT NULL UNIQUE,
    customer_id UUID NOT NULL,
    topic VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    published_at TIMESTAMP WITH TIME ZONE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX idx_outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Orders counted into a customer's metrics, one row per order: the same order delivered twice,
-- or announced by two events, counts once.
CREATE TABLE customer_orders (
    order_id VARCHAR(100) PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_customer_orders_customer ON customer_orders (customer_id, completed_at);

-- Inbound events already applied (by eventId), for exactly-once effect across restarts and Redis loss.
CREATE TABLE processed_events (
    event_id VARCHAR(100) PRIMARY KEY,
    topic VARCHAR(100) NOT NULL,
    customer_id UUID,
    processed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
