"""The service's Redis client: one node (REDIS_URL) or a Redis Cluster reached through any of its nodes
(REDIS_CLUSTER=true; the client learns the slot map from it and follows MOVED/ASK redirects).

The two clients offer the same commands; the service only sends commands whose keys share one hash slot
(persistence/redis_keys.py), so every caller works unchanged against either.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster

RedisClient: TypeAlias = Redis | RedisCluster


def connect_redis(url: str, *, cluster: bool, max_connections: int, timeout_seconds: float = 2) -> RedisClient:
    """A client for `url`; with `cluster`, `url` names one node of the cluster (a database number is
    ignored: a cluster has only database 0)."""
    options: dict[str, Any] = {"max_connections": max_connections, "socket_timeout": timeout_seconds,
                               "socket_connect_timeout": timeout_seconds}
    if cluster:
        return RedisCluster.from_url(url, **options)
    return Redis.from_url(url, **options)
