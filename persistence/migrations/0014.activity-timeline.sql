-- The activity timeline (GET /v1/customers/{id}/activities): a customer's activities newest first, in
-- keyset pages on (occurred_at, id). Created on every monthly partition, present and future.
CREATE INDEX idx_customer_activities_timeline ON customer_activities (customer_id, occurred_at DESC, id DESC);
-- It serves every lookup by customer the single-column index served (erasure's redaction), so that one
-- goes: each change inserts an activity row, and maintains one index fewer.
DROP INDEX idx_customer_activities_customer;
