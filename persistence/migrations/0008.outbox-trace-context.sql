-- The W3C traceparent of the request whose change wrote the row: the relay publishes in that trace, and
-- daprd writes it into the CloudEvent, so a subscriber continues the request's trace (telemetry/tracing.py).
-- NULL for rows written without a trace (and for rows from before this column).
ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(55);
