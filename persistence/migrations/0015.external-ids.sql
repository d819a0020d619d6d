-- The id another system knows a customer by (a CRM, the shop it migrated from): unique among the
-- customers that have one, looked up by it (GET /v1/customers/external-ids/{externalId}). Erasure clears it.
ALTER TABLE customers ADD COLUMN external_id VARCHAR(100);
CREATE UNIQUE INDEX uq_customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL;
