-- Outbox rows the pub/sub refused outright, moved out of the way of the rows behind them (see
-- service/relay.py), with the reason. Operators republish or discard them by hand.
CREATE TABLE outbox_dead_letters (
    id BIGINT PRIMARY KEY,
    event_id VARCHAR(64) NOT NULL UNIQUE,
    customer_id UUID NOT NULL,
    topic VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    dead_lettered_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_outbox_dead_letters_customer ON outbox_dead_letters (customer_id);
