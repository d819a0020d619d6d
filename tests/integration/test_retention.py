"""Retention and erasure against real PostgreSQL and Redis: copies older than the outbox's retention are
trimmed from the pub/sub streams before the rows that find them go, each store keeps personal data only
for its stated time, and a Redis that fails during an erasure step fails the step (a retry finishes it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from devstack.processes import free_port
from devstack.servers import LocalRedis
from domain.clock import Clock
from domain.ids import customer_uuid, new_customer_id
from persistence.cache import ViewCache
from persistence.outbox import Outbox
from persistence.pubsub_streams import PublishedEventCopies
from persistence.redis_connection import RedisClient, connect_redis
from persistence.redis_keys import profile_key, upstream_key
from persistence.store import Store
from service.retention import Retention, RetentionPolicy

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
POLICY = RetentionPolicy(outbox=7 * DAY, processed_events=30 * DAY, dead_letters=30 * DAY, activities=365 * DAY)


@pytest.fixture
async def redis(redis_url: str, redis_cluster: bool) -> AsyncIterator[RedisClient]:
    client = connect_redis(redis_url, cluster=redis_cluster, max_connections=8)
    yield client
    await client.aclose()


@pytest.fixture
def private_redis(tmp_path: Path) -> LocalRedis:
    """A Redis of this test's own, which it stops to make the service's calls fail for real."""
    server = LocalRedis(data_dir=tmp_path, log_dir=tmp_path, run_dir=tmp_path, port=free_port())
    server.start()
    return server


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def published(store: Store, *, customer_id: str, topic: str, at: datetime, payload: dict[str, Any]) -> str:
    """An outbox row the relay published at `at`."""
    event_id = f"evt_{uuid.uuid4().hex}"
    async with store.connection() as conn:
        await conn.execute("INSERT INTO outbox (event_id, customer_id, topic, payload, created_at, published_at) "
                           "VALUES ($1, $2, $3, $4::jsonb, $5, $5)", event_id, customer_uuid(customer_id), topic,
                           json.dumps(payload), at)
    return event_id


async def copy_in_stream(redis: RedisClient, *, topic: str, at: datetime, event_id: str,
                         payload: dict[str, Any]) -> None:
    """The stream entry Dapr's Redis pub/sub wrote for the event, a moment before the row was marked."""
    data = json.dumps({"id": event_id, "data": payload})
    await redis.xadd(topic, {"data": data}, id=f"{millis(at) - 500}-0")


def retention(store: Store, redis: RedisClient, *topics: str) -> Retention:
    """The service's retention, over `topics` (this test's own streams) instead of the service's."""
    return Retention(store, Outbox(store), PublishedEventCopies(store, redis), Clock(),
                     replace(POLICY, published_topics=topics, dead_letter_topics=()))


async def test_stream_copies_past_the_outbox_retention_are_trimmed_before_their_rows_go(
        store: Store, redis: RedisClient) -> None:
    topic = f"it.retention.{uuid.uuid4().hex[:8]}"
    customer_id = new_customer_id()
    person = {"email": f"old-{uuid.uuid4().hex[:8]}@example.com"}
    old, recent = NOW - 8 * DAY, NOW - DAY
    for at in (old, recent):
        event_id = await published(store, customer_id=customer_id, topic=topic, at=at, payload=person)
        await copy_in_stream(redis, topic=topic, at=at, event_id=event_id, payload=person)
    await retention(store, redis, topic).enforce()

    left = await redis.xrange(topic) or []
    assert [entry_id for entry_id, _ in left] == [f"{millis(recent) - 500}-0".encode()]
    assert len(await store.published_events(customer_id)) == 1  # the recent row: erasure still finds its copy
    assert await PublishedEventCopies(store, redis).remove(customer_id) == 1
    assert await redis.xlen(topic) == 0


async def test_when_the_streams_cannot_be_trimmed_the_rows_that_find_the_copies_stay(
        store: Store, private_redis: LocalRedis) -> None:
    client = Redis.from_url(private_redis.url, socket_connect_timeout=1, socket_timeout=1)
    topic = f"it.retention.{uuid.uuid4().hex[:8]}"
    customer_id = new_customer_id()
    await published(store, customer_id=customer_id, topic=topic, at=NOW - 8 * DAY, payload={})
    private_redis.stop()
    try:
        with pytest.raises(RedisError):
            await retention(store, client, topic).enforce()
        assert len(await store.published_events(customer_id)) == 1
    finally:
        await client.aclose()


async def test_a_cache_purge_on_a_failing_redis_fails_and_a_retry_finishes_it(private_redis: LocalRedis) -> None:
    client = Redis.from_url(private_redis.url, socket_connect_timeout=1, socket_timeout=1)
    cache = ViewCache(client, ttl_profile=60, ttl_segment=60, ttl_addresses=60, upstream_app_ids=("order-service",))
    customer_id = new_customer_id()
    await cache.put_profile(customer_id, {"email": "cached@example.com"})
    await client.set(upstream_key(customer_id, "order-service"), "{}")
    private_redis.stop()
    try:
        with pytest.raises(RedisError):
            await cache.purge(customer_id)
        private_redis.start()  # its append-only file kept the keys
        assert await client.exists(profile_key(customer_id)) == 1
        await cache.purge(customer_id)
        assert await client.exists(profile_key(customer_id), upstream_key(customer_id, "order-service")) == 0
    finally:
        await client.aclose()
        private_redis.stop()


async def test_processed_events_and_dead_letters_are_kept_for_their_stated_time(store: Store,
                                                                                redis: RedisClient) -> None:
    customer = customer_uuid(new_customer_id())
    marker = uuid.uuid4().hex[:10]
    async with store.connection() as conn:
        for age, suffix in ((31 * DAY, "old"), (DAY, "new")):
            await conn.execute("INSERT INTO processed_events (event_id, topic, customer_id, processed_at) "
                               "VALUES ($1, 'orders.order.completed', $2, $3)", f"{marker}-{suffix}", customer,
                               NOW - age)
            await conn.execute(
                "INSERT INTO outbox_dead_letters (id, event_id, customer_id, topic, payload, created_at, attempts, "
                "reason, dead_lettered_at) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM outbox_dead_letters), "
                "$1, $2, 'customers.customer.created', '{}', $3, 1, 'refused', $3)", f"{marker}-{suffix}", customer,
                NOW - age)

    await retention(store, redis).enforce()

    async with store.connection() as conn:
        kept = await conn.fetch("SELECT event_id FROM processed_events WHERE event_id LIKE $1", f"{marker}-%")
        kept_letters = await conn.fetch("SELECT event_id FROM outbox_dead_letters WHERE event_id LIKE $1",
                                        f"{marker}-%")
    assert [r["event_id"] for r in kept] == [f"{marker}-new"]
    assert [r["event_id"] for r in kept_letters] == [f"{marker}-new"]


async def test_activity_partitions_wholly_past_the_retention_are_dropped(store: Store, redis: RedisClient) -> None:
    long_ago = NOW - 3 * 365 * DAY
    await store.ensure_activity_partitions(long_ago)
    await store.ensure_activity_partitions(NOW)
    name = f"customer_activities_{long_ago:%Y_%m}"
    async with store.connection() as conn:
        assert await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)

    await retention(store, redis).enforce()

    async with store.connection() as conn:
        assert not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
        this_month = f"customer_activities_{NOW:%Y_%m}"
        assert await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", this_month)
