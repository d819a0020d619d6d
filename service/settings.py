"""All configuration, from the environment variables the spec lists (plus auth and Dapr settings).

Defaults work for a local run started by scripts/up.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.clock import Clock
from domain.segmentation import Tier
from domain.validation import DEFAULT_PASSWORD_MIN_LENGTH

# Published in the README for local runs: never accepted outside SERVICE_ENV=local.
LOCAL_JWT_SECRET = "local-development-secret-change-me-32bytes"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Database
    database_url: str = "postgresql://customers:customers@127.0.0.1:25432/customers_db"
    # The pool per process, to the primary (and as many again to the read replica, if any), at most. With
    # DATABASE_SERVER_CONNECTIONS (what the server, or PgBouncer, gives this service over all its pods) and
    # SERVICE_MAX_REPLICAS (the autoscaler's ceiling), the pool is each pod's share of it: see
    # `database_pool_size` and the README's connection budget.
    database_max_connections: int = Field(default=25, ge=2)
    database_server_connections: int | None = Field(default=None, ge=4)
    service_max_replicas: int | None = Field(default=None, ge=1)
    # A streaming replica for the reads that tolerate lag (persistence/replica.py says which); unset: the
    # primary serves every read. A read goes to the primary while the replica is down or lags more than
    # DATABASE_READ_MAX_LAG_SECONDS.
    database_read_url: str | None = None
    database_read_max_lag_seconds: float = Field(default=2.0, gt=0)
    # DATABASE_URL reaches PostgreSQL through PgBouncer in transaction mode: no prepared statements are
    # kept across transactions, and LISTEN goes to DATABASE_DIRECT_URL (the primary itself) instead.
    database_pgbouncer: bool = False
    database_direct_url: str | None = None

    # Redis cache
    redis_url: str = "redis://127.0.0.1:26379/0"
    # REDIS_URL names one node of a Redis Cluster (and PUBSUB_REDIS_URL one of its cluster, if set): the
    # client finds the others. The keys are cluster-safe either way (persistence/redis_keys.py).
    redis_cluster: bool = False
    # Connections to REDIS_URL per process. redis-py's pool fails a command at once when all are in use
    # (its default is 100): under a burst each failed cache read fell back to an actor call, which cost
    # more CPU and deepened the burst (bench/, issue 17). Its blocking pool would wait instead, but costs
    # 12 us of CPU more per command (49 against 37, measured in process), so the ceiling is set where a
    # process does not reach it.
    redis_max_connections: int = Field(default=1024, ge=1)
    redis_ttl_profile: int = 3600
    redis_ttl_segment: int = 1800
    redis_ttl_addresses: int = 7200
    # The Redis behind Dapr's pub/sub component, where erasure removes the customer's published events;
    # REDIS_URL's when unset (as in the local stack).
    pubsub_redis_url: str | None = None

    # The spec's CONSUL_URL, ORDER_SERVICE_URL and LOYALTY_SERVICE_URL are not the app's settings: Dapr
    # does discovery (k8s/consul) and reaches upstreams outside the mesh through HTTPEndpoints named by
    # the app ids below (devstack writes them from those variables; k8s/external-upstreams in a cluster).
    service_name: str = "customer-service"
    service_port: int = 8007
    # In a pod the sidecar shares the network namespace: nothing else needs to reach the app.
    service_host: str = "127.0.0.1"

    # External services, reached through Dapr service invocation by app id (an app, or an HTTPEndpoint).
    order_service_app_id: str = "order-service"
    loyalty_service_app_id: str = "loyalty-service"
    dependency_timeout_ms: int = 200
    upstream_cache_ttl: int = 86400  # how long an upstream's last good answer may stand in for it (s)

    # Customer configuration
    default_tier: Tier = Tier.REGULAR
    segment_update_interval: int = Field(default=3600, ge=1)
    password_min_length: int = Field(default=DEFAULT_PASSWORD_MIN_LENGTH, ge=6)
    # Retention of the stores of personal data, in days (service/retention.py; README, Retention).
    outbox_retention_days: int = Field(default=7, ge=1)
    dead_letter_retention_days: int = Field(default=30, ge=1)
    processed_events_retention_days: int = Field(default=90, ge=1)
    activity_retention_days: int = Field(default=730, ge=31)
    session_timeout: int = 1800

    # Auth
    jwt_algorithm: str = "HS256"
    jwt_secret: str = LOCAL_JWT_SECRET
    jwt_public_key: str | None = None
    jwt_issuer: str = "https://auth.local"
    jwt_audience: str = "customer-service"
    rate_limit_per_minute: int = 1000  # per user: a customer, or a customer a service acts for
    service_rate_limit_per_minute: int = 60000  # per service subject, across the customers it acts for
    login_max_failures: int = 5  # password checks per account per window (MAX_LOGIN_ATTEMPTS)
    login_max_attempts_per_client: int = 20  # per client address per window, across accounts
    login_failure_window: int = 900
    # Argon2 hashes at once (each takes about 64 MiB), and how long a request waits for one.
    password_hash_concurrency: int = Field(default=2, ge=1)
    password_hash_wait_ms: int = Field(default=2000, ge=0)
    max_body_bytes: int = 64 * 1024
    # Account self-service (issue 21). Token lifetimes in seconds; a reset request is answered no sooner
    # than the floor after it arrived, whether or not the email has an account (see api/password_reset.py).
    password_reset_token_ttl: int = Field(default=1800, ge=60)
    email_verification_token_ttl: int = Field(default=86400, ge=60)
    password_reset_response_floor_ms: int = Field(default=250, ge=0)
    password_reset_max_per_account: int = Field(default=5, ge=1)  # per email address per window
    password_reset_max_per_caller: int = Field(default=1000, ge=1)  # per service subject per window
    password_reset_window: int = Field(default=3600, ge=1)

    # Dapr. daprd sends APP_API_TOKEN on every call to the app; the app sends DAPR_API_TOKEN on every
    # call to daprd.
    app_api_token: str = ""
    dapr_api_token: str = ""
    dapr_http_port: int = 3500
    dapr_host: str = "127.0.0.1"
    pubsub_name: str = "pubsub"
    actor_idle_timeout: int = 3600

    # Time (tests run a fast clock; see domain.clock)
    clock_rate: float = 1.0
    clock_anchor: float = 0.0

    log_level: str = "INFO"
    # The OpenTelemetry collector's OTLP/HTTP base URL (the OTel SDK's standard variable): the app's spans
    # go there. Unset: no spans recorded, though the trace context is still carried (telemetry.tracing).
    otel_exporter_otlp_endpoint: str | None = None
    # Prometheus metrics, on a port of their own (0: off). In a pod, 0.0.0.0 so the scraper reaches it.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    # "local" (scripts/up, tests) allows the published local JWT secret; anything else refuses it.
    service_env: Literal["local", "production"] = "production"

    @model_validator(mode="after")
    def _no_published_secrets(self) -> Self:
        if self.service_env == "local":
            return self
        problems = []
        if self.jwt_algorithm.startswith("HS") and (self.jwt_secret == LOCAL_JWT_SECRET
                                                    or len(self.jwt_secret.encode()) < 32):
            problems.append("JWT_SECRET is the published local secret or shorter than 32 bytes")
        if not self.app_api_token or not self.dapr_api_token:
            problems.append("APP_API_TOKEN and DAPR_API_TOKEN must be set")
        if problems:
            raise ValueError("refusing to start outside SERVICE_ENV=local: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _connection_budget_fits(self) -> Self:
        self.database_pool_size  # noqa: B018 - raises when the budget leaves a pod too few connections
        return self

    @property
    def database_pool_size(self) -> int:
        """Each process's pool: its share of DATABASE_SERVER_CONNECTIONS when every replica the autoscaler
        may start is running, less the one connection it keeps for LISTEN, within DATABASE_MAX_CONNECTIONS."""
        if self.database_server_connections is None or self.service_max_replicas is None:
            return self.database_max_connections
        share = self.database_server_connections // self.service_max_replicas - 1
        if share < 2:
            raise ValueError(f"DATABASE_SERVER_CONNECTIONS={self.database_server_connections} leaves fewer than "
                             f"3 connections for each of SERVICE_MAX_REPLICAS={self.service_max_replicas} pods")
        return min(share, self.database_max_connections)

    @property
    def dapr_url(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"

    @property
    def clock(self) -> Clock:
        return Clock(rate=self.clock_rate, anchor=self.clock_anchor)


@cache
def get_settings() -> Settings:
    return Settings()
