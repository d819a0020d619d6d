-- Orders in currencies other than USD, kept per currency beside the USD metrics the spec's thresholds
-- apply to: [[currency, orders, total], ...] (see domain/segmentation.py).
ALTER TABLE customer_segments ADD COLUMN other_currencies JSONB NOT NULL DEFAULT '[]';
