-- Tags (domain/tags.py): a merchant's labels on a customer, normalised by the domain, found with
-- GET /v1/customers?tag= through the GIN index.
ALTER TABLE customers ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX idx_customers_tags ON customers USING GIN (tags);

-- Internal notes (domain/notes.py): written by staff and services, never shown to the customer's own
-- token, deleted by erasure. Append-only.
CREATE TABLE customer_notes (
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX idx_customer_notes_customer ON customer_notes (customer_id, created_at DESC, id DESC);
