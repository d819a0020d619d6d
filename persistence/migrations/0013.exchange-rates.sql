-- Exchange rates an admin sets (api/exchange_rates.py): what one unit of a currency is worth in USD, the
-- spec's threshold currency, and the date the rate is of. An order in another currency counts in USD at
-- the rate in force when it is counted, kept on its row (usd_rate); NULL while its currency has no rate
-- (the order waits in customer_segments.other_currencies) and for USD orders.
CREATE TABLE exchange_rates (
    currency VARCHAR(3) PRIMARY KEY,
    usd_per_unit DECIMAL(18,8) NOT NULL,
    effective_date DATE NOT NULL,
    set_by TEXT NOT NULL,  -- the admin token's subject, as the override's setBy
    set_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT chk_exchange_rates_currency CHECK (currency ~ '^[A-Z]{3}$' AND currency <> 'USD'),
    CONSTRAINT chk_exchange_rates_positive CHECK (usd_per_unit > 0)
);

ALTER TABLE customer_orders ADD COLUMN usd_rate DECIMAL(18,8);

-- The maintenance sweep finds customers with orders waiting for a rate.
CREATE INDEX idx_customer_segments_other_currencies ON customer_segments (customer_id)
    WHERE other_currencies <> '[]';
