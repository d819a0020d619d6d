"""Lag-tolerant reads against a real streaming replica (a second local cluster from pg_basebackup, started by
devstack): they are served by the replica, writes are refused there, and while the replica lags or is down
the primary answers them, counted by reason."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import asyncpg
import pytest

from devstack.processes import free_port
from devstack.servers import LocalPostgresReplica
from devstack.stack import Stack
from persistence.read_models import CustomerSearch, ReadModels
from persistence.replica import ReadReplica, ReplicaState
from persistence.store import Store
from service.bootstrap import bootstrap
from service.settings import Settings
from telemetry.metrics import READ_REPLICA_FALLBACKS
from tests.integration.test_store import create

MAX_LAG = 0.5


@pytest.fixture(scope="module")
def replica_server(stack: Stack) -> Iterator[LocalPostgresReplica]:
    primary = stack.local_postgres
    if primary is None:
        pytest.skip("needs the project's own PostgreSQL process, to stream a replica from it")
    server = LocalPostgresReplica(stack.config.data_dir / "replica", stack.config.log_dir, free_port(),
                                  primary=primary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def replica(store: Store, replica_server: LocalPostgresReplica) -> AsyncIterator[ReadReplica]:
    replica = await ReadReplica.connect(store, replica_server.url, max_connections=2, max_lag_seconds=MAX_LAG)
    await caught_up(store, replica_server)
    assert await replica.check() is ReplicaState.SERVING
    yield replica
    await replica.close()


async def caught_up(store: Store, replica_server: LocalPostgresReplica) -> None:
    """A barrier: the replica has replayed everything the primary had written when called."""
    async with store.connection() as conn:
        written = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 30
    while replica_server.psql(f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the replica did not catch up"
        await asyncio.sleep(0.05)


def fallbacks(reason: str) -> float:
    return float(READ_REPLICA_FALLBACKS.labels(reason)._value.get())


@contextmanager
def replay_paused(replica_server: LocalPostgresReplica) -> Iterator[None]:
    """The replica replays nothing of the primary's WAL until the block ends."""
    replica_server.psql("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        replica_server.psql("SELECT pg_wal_replay_resume()")


async def registered(store: Store) -> str:
    """A new customer's email, committed on the primary."""
    email = f"replica-{uuid.uuid4().hex[:10]}@example.com"
    await create(store, email)
    return email


async def found(read_models: ReadModels, email: str) -> list[str]:
    page = await read_models.search(CustomerSearch(email=email))
    return [c["email"] for c in page.customers]


async def test_reads_are_served_by_the_replica_and_writes_are_refused_there(
        store: Store, replica: ReadReplica, replica_server: LocalPostgresReplica) -> None:
    read_models = ReadModels(store, replica)
    with replay_paused(replica_server):
        email = await registered(store)
        # The replica has not replayed the registration, and it is the replica that answers.
        assert await found(read_models, email) == []
    await caught_up(store, replica_server)
    assert await found(read_models, email) == [email]

    conn = await asyncpg.connect(replica_server.url)
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("UPDATE customers SET first_name = 'Nope'")
    finally:
        await conn.close()


async def test_while_the_replica_lags_the_primary_answers_and_it_is_counted(
        store: Store, replica: ReadReplica, replica_server: LocalPostgresReplica) -> None:
    read_models = ReadModels(store, replica)
    with replay_paused(replica_server):
        email = await registered(store)
        await replica.check()  # the primary's position now ...
        await asyncio.sleep(MAX_LAG * 1.5)
        assert await replica.check() is ReplicaState.LAGGING  # ... not replayed max_lag later
        before = fallbacks("lagging")
        assert await found(read_models, email) == [email]
        assert fallbacks("lagging") == before + 1
    await caught_up(store, replica_server)
    assert await replica.check() is ReplicaState.SERVING


async def test_while_the_replica_is_down_the_primary_answers_and_it_is_counted(
        store: Store, replica: ReadReplica, replica_server: LocalPostgresReplica) -> None:
    read_models = ReadModels(store, replica)
    email = await registered(store)
    replica_server.stop()
    try:
        failed, down = fallbacks("failed"), fallbacks("down")
        assert await found(read_models, email) == [email]  # the replica failed it
        assert fallbacks("failed") == failed + 1
        assert replica.state is ReplicaState.DOWN
        assert await found(read_models, email) == [email]  # not tried while down
        assert fallbacks("down") == down + 1
        assert await replica.check() is ReplicaState.DOWN
    finally:
        replica_server.start()
    await caught_up(store, replica_server)
    assert await replica.check() is ReplicaState.SERVING
    counted = fallbacks("down") + fallbacks("failed")
    assert await found(read_models, email) == [email]
    assert fallbacks("down") + fallbacks("failed") == counted


async def test_the_service_sends_its_lag_tolerant_reads_to_database_read_url(
        store: Store, replica_server: LocalPostgresReplica, database_url: str, redis_url: str,
        redis_cluster: bool) -> None:
    """As service.bootstrap wires it from the settings: the search and the segment counts the API serves
    come from the replica (which has not replayed the registration), the GDPR export from the primary."""
    container = await bootstrap(Settings(service_env="local", database_url=database_url, redis_url=redis_url,
                                         redis_cluster=redis_cluster, database_read_url=replica_server.url))
    try:
        await caught_up(store, replica_server)
        with replay_paused(replica_server):
            email = await registered(store)
            assert await found(container.api.read_models, email) == []
            customer_id = (await container.store.credentials(email) or pytest.fail("not on the primary")).customer_id
            export = await container.api.read_models.export(customer_id)
            assert export["customer"]["email"] == email
            async with store.connection() as conn:
                on_primary = await conn.fetchval("SELECT count(*) FROM customer_segments s JOIN customers c "
                                                 "ON c.id = s.customer_id WHERE c.status <> 'deleted'")
            assert (await container.api.read_models.segment_counts())["total"] == on_primary - 1
    finally:
        await container.close()
