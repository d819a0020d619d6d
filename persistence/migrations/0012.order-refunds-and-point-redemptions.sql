-- Refunds and cancellations of orders (domain/orders.py), one row each: a refund by its id within its
-- order, a cancellation as the order's one 'cancellation' row, so a second delivery or a second event for
-- the same refund or cancellation counts once. A row may come before its order's completion (Dapr
-- delivers out of order): it waits in customer_segments.pending_adjustments until the order arrives.
CREATE TABLE customer_order_adjustments (
    order_id VARCHAR(100) NOT NULL,
    adjustment_id VARCHAR(100) NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind VARCHAR(20) NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    currency VARCHAR(3),
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (order_id, adjustment_id),
    CONSTRAINT chk_customer_order_adjustments_kind CHECK (kind IN ('refund', 'cancellation'))
);
CREATE INDEX idx_customer_order_adjustments_customer ON customer_order_adjustments (customer_id);

-- Adjustments waiting for their order, and the signed points balance (earned less redeemed and expired,
-- below zero while a redemption arrived before its points); loyalty_points stays the balance shown.
ALTER TABLE customer_segments
    ADD COLUMN pending_adjustments JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN points_balance INTEGER;
UPDATE customer_segments SET points_balance = COALESCE(loyalty_points, 0);
ALTER TABLE customer_segments ALTER COLUMN points_balance SET NOT NULL, ALTER COLUMN points_balance SET DEFAULT 0;
