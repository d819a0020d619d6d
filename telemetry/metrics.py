"""The service's Prometheus metrics, one definition each; served on METRICS_PORT (service.main), never
through the public API or daprd's invocation.

The cache hit ratio the spec asks for (> 80%) is
    sum(rate(customers_cache_lookups_total{result="hit"}[5m])) / sum(rate(customers_cache_lookups_total[5m]))
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter("customers_http_requests_total", "HTTP requests answered, by route template and status",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("customers_http_request_duration_seconds", "HTTP request latency, by route template",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
CACHE_LOOKUPS = Counter("customers_cache_lookups_total", "View cache lookups, by view kind and result",
                        ["kind", "result"])
ACTOR_CALLS = Histogram("customers_actor_call_duration_seconds", "Actor calls through daprd, by method and outcome",
                        ["method", "outcome"], buckets=LATENCY_BUCKETS)
OUTBOX_BACKLOG = Gauge("customers_outbox_backlog", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge("customers_outbox_oldest_unpublished_age_seconds",
                          "Age of the oldest outbox row not yet published (0 when none)")
OUTBOX_DEAD_LETTERED = Counter("customers_outbox_dead_lettered_total", "Outbox rows the pub/sub refused for good")
EVENTS_IN = Counter("customers_inbound_events_total", "Inbound events, by topic and outcome",
                    ["topic", "outcome"])
LOGIN_FAILURES = Counter("customers_login_failures_total", "Password checks that failed")
LOGIN_LOCKOUTS = Counter("customers_login_lockouts_total", "Password attempts refused by the throttle")
RATE_LIMITED = Counter("customers_rate_limited_total", "Requests refused by the per-user rate limit")
READ_REPLICA_FALLBACKS = Counter("customers_read_replica_fallbacks_total",
                                 "Lag-tolerant reads served by the primary instead of the read replica, by reason "
                                 "(down, lagging, failed)", ["reason"])
READ_REPLICA_LAG = Gauge("customers_read_replica_lag_bytes",
                         "WAL the read replica had not replayed at its last check (-1: unreachable)")
