-- Account self-service (issue 21): password reset, email verification, a guarded email change, and
-- Idempotency-Key fingerprints.

-- An email change waits here until the new address is confirmed; the login stays `email` until then.
ALTER TABLE customers ADD COLUMN pending_email VARCHAR(255);
CREATE UNIQUE INDEX uq_customers_pending_email_lower ON customers (lower(pending_email))
    WHERE pending_email IS NOT NULL;

-- One address is claimed by one customer, whether as its login or as its pending change. Unique indexes
-- cover each column; this covers one column against the other. Every writer of an address takes the
-- same transaction lock on it first, so two transactions cannot both see it free.
CREATE FUNCTION customers_email_claims() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pending_email IS NOT NULL
            AND (TG_OP = 'INSERT' OR NEW.pending_email IS DISTINCT FROM OLD.pending_email) THEN
        PERFORM pg_advisory_xact_lock(hashtext('customer-email:' || lower(NEW.pending_email)));
        IF EXISTS (SELECT 1 FROM customers WHERE id <> NEW.id AND lower(email) = lower(NEW.pending_email)) THEN
            RAISE unique_violation USING MESSAGE = 'the address is another customer''s login';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.email IS DISTINCT FROM OLD.email THEN
        PERFORM pg_advisory_xact_lock(hashtext('customer-email:' || lower(NEW.email)));
        IF EXISTS (SELECT 1 FROM customers WHERE id <> NEW.id AND lower(pending_email) = lower(NEW.email)) THEN
            RAISE unique_violation USING MESSAGE = 'the address is another customer''s pending change';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER customers_email_claims_insert BEFORE INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_email_claims();
CREATE TRIGGER customers_email_claims_update BEFORE UPDATE OF email, pending_email ON customers
    FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email OR NEW.pending_email IS DISTINCT FROM OLD.pending_email)
    EXECUTE FUNCTION customers_email_claims();

-- Single-use tokens: only their SHA-256 is kept. One token per customer and purpose, so a newer token
-- replaces the older one. Redeeming marks it in the transaction of the change it authorises; the row
-- stays until maintenance prunes it, so a retry under an Idempotency-Key still finds whose it was.
CREATE TABLE customer_tokens (
    customer_id UUID NOT NULL REFERENCES customers (id),
    purpose VARCHAR(32) NOT NULL,
    token_hash BYTEA NOT NULL,
    email VARCHAR(255),                          -- email_verification: the address the token confirms
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    redeemed_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (customer_id, purpose),
    CONSTRAINT chk_customer_tokens_purpose CHECK (purpose IN ('password_reset', 'email_verification'))
);
CREATE UNIQUE INDEX uq_customer_tokens_hash ON customer_tokens (token_hash);
CREATE INDEX idx_customer_tokens_expires ON customer_tokens (expires_at);

-- What a command with an Idempotency-Key said (method, route, body without its secrets), so a reuse of
-- the key with another request is refused rather than answered with the first request's answer.
ALTER TABLE actor_replies ADD COLUMN fingerprint VARCHAR(64);
