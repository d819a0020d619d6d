"""The spec's Redis cache: profile, segment and address views per customer, with their TTLs.

Only a customer's actor writes its entries (after each committed change, and when it serves a read),
so entries are refreshed in the same order as the changes; the API only reads them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from redis.exceptions import RedisError

from persistence.redis_connection import RedisClient
from persistence.redis_keys import addresses_key, profile_key, segment_key, upstream_key
from telemetry.metrics import CACHE_LOOKUPS

log = logging.getLogger(__name__)


class ViewCache:
    """Best effort: a cache failure never fails a request, it only costs a trip to the actor. The one
    exception is the erasure's purge.

    A view the actor could neither drop nor rewrite (Redis down during a change) may still be in Redis
    when it comes back (its append-only file kept it), stale, for its whole TTL. Such keys are kept here,
    never served by this process, and deleted as soon as Redis answers (`repair`, every second); other
    replicas may serve one until then."""

    def __init__(self, redis: RedisClient, *, ttl_profile: int, ttl_segment: int, ttl_addresses: int,
                 upstream_app_ids: tuple[str, ...]) -> None:
        self._redis = redis
        self._ttl = {"profile": ttl_profile, "segment": ttl_segment, "addresses": ttl_addresses}
        self._upstream_app_ids = upstream_app_ids
        self._maybe_stale: set[str] = set()

    async def ping(self) -> None:
        await self._redis.ping()

    async def get_profile(self, customer_id: str) -> Any | None:
        return await self._lookup("profile", profile_key(customer_id))

    async def get_segment(self, customer_id: str) -> Any | None:
        return await self._lookup("segment", segment_key(customer_id))

    async def get_addresses(self, customer_id: str) -> Any | None:
        return await self._lookup("addresses", addresses_key(customer_id))

    async def _lookup(self, kind: str, key: str) -> Any | None:
        value = await self.get(key)
        CACHE_LOOKUPS.labels(kind, "miss" if value is None else "hit").inc()
        return value

    async def get(self, key: str) -> Any | None:
        if key in self._maybe_stale:
            return None
        try:
            raw = await self._redis.get(key)
        except RedisError as exc:
            log.warning("cache read failed for %s: %s", key, exc)
            return None
        return None if raw is None else json.loads(raw)

    async def put(self, kind: str, key: str, value: Any) -> None:
        try:
            await self._redis.set(key, json.dumps(value), ex=self._ttl[kind])
        except RedisError as exc:
            log.warning("cache write failed for %s: %s", key, exc)
            self._maybe_stale.add(key)
        else:
            self._maybe_stale.discard(key)

    async def put_profile(self, customer_id: str, value: Any) -> None:
        await self.put("profile", profile_key(customer_id), value)

    async def put_segment(self, customer_id: str, value: Any) -> None:
        await self.put("segment", segment_key(customer_id), value)

    async def put_addresses(self, customer_id: str, value: Any) -> None:
        await self.put("addresses", addresses_key(customer_id), value)

    async def forget(self, customer_id: str, *, profile: bool, segment: bool, addresses: bool) -> None:
        """Drops the views a change is about to make stale."""
        keys = [key for key, stale in ((profile_key(customer_id), profile), (segment_key(customer_id), segment),
                                        (addresses_key(customer_id), addresses)) if stale]
        if not keys:
            return
        try:
            await self._redis.delete(*keys)
        except RedisError as exc:
            log.warning("cache invalidation failed for %s: %s", customer_id, exc)
            self._maybe_stale.update(keys)

    async def repair(self) -> int:
        """Deletes the views that may have gone stale while Redis was failing; how many it tried."""
        if not self._maybe_stale:
            return 0
        keys = list(self._maybe_stale)
        try:
            # The keys are of many customers, so in as many slots: one DEL each, in one round trip.
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.delete(key)
                await pipe.execute()
        except RedisError:
            return 0
        self._maybe_stale.difference_update(keys)
        log.info("dropped %d view(s) that may have gone stale while Redis was failing", len(keys))
        return len(keys)

    async def repair_forever(self, interval_seconds: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            await self.repair()

    async def purge(self, customer_id: str) -> None:
        """Erasure: every key about the customer, by name (no keyspace scan). Not best effort: a Redis
        error fails the erasure, which a retry finishes (actors/turn.py)."""
        upstream = [upstream_key(customer_id, app_id) for app_id in self._upstream_app_ids]
        await self._redis.delete(profile_key(customer_id), segment_key(customer_id), addresses_key(customer_id),
                                 *upstream)
