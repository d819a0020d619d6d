"""Infrastructure for the integration, e2e and security tiers, started once per test session.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set, from testcontainers when a Docker
engine answers, and otherwise from server processes of the project's own under .data/test. The full
stack (real placement, scheduler and daprd, the customer service, and a recorder app subscribed to
everything the service publishes) starts on the first test that asks for `service`. Every daprd and app
of it exports its spans to the session's trace collector, as they would to the platform's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.processes import free_port
from devstack.servers import LocalPgBouncer, LocalPostgres
from devstack.stack import REPO_ROOT, DaprApp, Stack, StackConfig
from tests.support.collector import TraceCollector
from tests.support.service import Service, start_service

# Each tier's marker, from where its tests live: `-m "not e2e"` runs the tiers that need no daprd.
TIER_MARKERS = {"integration": "integration", "e2e": "e2e", "security": "e2e"}


# What runs a second time against a three-primary Redis Cluster (scripts/test: CS_REDIS_CLUSTER=1 -m cluster):
# the integration tier, and the e2e tests of everything the service or Dapr keeps in Redis: views,
# sessions, rate limits and login throttles, erasure, pub/sub delivery in and out.
CLUSTER_TIER = ("integration/", "e2e/test_accounts.py", "e2e/test_auth.py", "e2e/test_events_in.py",
                "e2e/test_outbox.py", "security/test_erasure.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier in TIER_MARKERS:
            item.add_marker(TIER_MARKERS[tier])
        where = f"{tier}/{item.path.name}"
        if any(where.startswith(prefix) for prefix in CLUSTER_TIER):
            item.add_marker("cluster")


@pytest.fixture(scope="session")
def trace_collector() -> Iterator[TraceCollector]:
    collector = TraceCollector().start()
    try:
        yield collector
    finally:
        collector.stop()


@pytest.fixture(scope="session")
def stack(trace_collector: TraceCollector) -> Iterator[Stack]:
    # The cluster tier has a folder of its own: the first tier's logs stay to read after a failure.
    config = StackConfig.for_tests(REPO_ROOT / ".data" / ("test-cluster" if os.environ.get("CS_REDIS_CLUSTER")
                                                          else "test"))
    config.otlp_endpoint = trace_collector.endpoint
    stack = Stack(config)
    stack.down()  # whatever an interrupted earlier run left behind
    stack.wipe()
    stack.start_storage()
    stack.migrate()
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def database_url(stack: Stack) -> str:
    return stack.database_url


@pytest.fixture(scope="session")
def pgbouncer_url(stack: Stack) -> Iterator[str]:
    """PgBouncer in transaction mode, with two server connections, in front of the stack's PostgreSQL."""
    primary = stack.local_postgres
    if primary is None:
        pytest.skip("needs the project's own PostgreSQL process to put PgBouncer in front of it")
    pooler = LocalPgBouncer(stack.config.data_dir, stack.config.log_dir, stack.config.run_dir, free_port(),
                            server_port=primary.port)
    yield pooler.start()
    pooler.stop()


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    return stack.redis_url


@pytest.fixture(scope="session")
def redis_cluster(stack: Stack) -> bool:
    """Whether REDIS_URL names a node of a Redis Cluster (the cluster tier: CS_REDIS_CLUSTER=1)."""
    return stack.redis_cluster


@pytest.fixture(scope="session")
def service(stack: Stack) -> Iterator[Service]:
    """customer-service with its neighbours, each with its own daprd (tests.support.service.start_service)."""
    # Every call to a daprd of the stack carries its API token, as the platform's own callers do.
    with httpx.Client(timeout=30, headers=stack.config.dapr_headers) as http:
        yield start_service(stack, http)


@pytest.fixture
def order_service(service: Service) -> DaprApp:
    """The stand-in Order Service, a Dapr app with its own daprd."""
    return service.producers["orders"]


@pytest.fixture
def local_postgres(service: Service) -> LocalPostgres:
    """The stack's own PostgreSQL, for tests that stop and start it."""
    postgres = service.stack.local_postgres
    if postgres is None:
        pytest.skip("needs the project's own PostgreSQL process to stop and start it")
    return postgres


@pytest.fixture
def db(service: Service) -> Iterator[Any]:
    """A direct PostgreSQL connection, to check the durable record behind the API."""
    import psycopg

    with psycopg.connect(service.stack.database_url, autocommit=True) as conn:
        yield conn
