"""What the Redis Cluster client costs the app per request, against the single-node client.

    .venv/bin/python -m bench.redis_client_cost [--requests 20000] [--rounds 5]

The full benchmark on a cluster (`CS_REDIS_CLUSTER=1 python -m bench --budget-only`) measures the whole
path, but its run-to-run spread on this VM is larger than this difference. So, in this process: a
Redis and a three-primary Redis Cluster of the project's own (devstack.servers), and what a cached
`GET /v1/customers/{id}` asks of Redis (the rate limiter's count script, then the profile view), through
the service's own RateLimiter and ViewCache, 16 requests at a time, alternating the two clients round
by round. Printed: the app's CPU per request for each (median of the rounds) and the Redis servers'.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from api.ratelimit import RateLimiter
from bench.cpu import cpu_seconds
from devstack.processes import free_port
from devstack.servers import LocalRedis, LocalRedisCluster
from devstack.stack import REPO_ROOT
from domain.ids import new_customer_id
from persistence.cache import ViewCache
from persistence.redis_connection import RedisClient, connect_redis

CONCURRENCY = 16


async def requests(redis: RedisClient, customers: list[str], count: int) -> float:
    """CPU seconds this process spent on `count` cached reads' Redis work."""
    limiter = RateLimiter(redis, per_minute=10**9, service_per_minute=10**9)
    cache = ViewCache(redis, ttl_profile=600, ttl_segment=600, ttl_addresses=600, upstream_app_ids=())

    async def one(i: int) -> None:
        customer_id = customers[i % len(customers)]
        await limiter.check("svc:bench", is_customer=False, customer_id=customer_id)
        assert await cache.get_profile(customer_id) is not None

    async def worker(offset: int) -> None:
        for i in range(offset, count, CONCURRENCY):
            await one(i)

    started = time.process_time()
    await asyncio.gather(*(worker(offset) for offset in range(CONCURRENCY)))
    return time.process_time() - started


def server_cpu(run_dir: Path, single_node: bool) -> float:
    """CPU seconds of the single Redis (pid file "redis") or of the cluster's nodes ("redis-cluster-<port>")."""
    return sum(used for name, used in cpu_seconds(run_dir).items()
               if (name == "redis" if single_node else name.startswith("redis-cluster-")))


async def measure(single_url: str, cluster_url: str, run_dir: Path, *, count: int, rounds: int) -> None:
    clients = {"single node": connect_redis(single_url, cluster=False, max_connections=64),
               "cluster": connect_redis(cluster_url, cluster=True, max_connections=64)}
    customers = [new_customer_id() for _ in range(200)]
    for redis in clients.values():
        cache = ViewCache(redis, ttl_profile=600, ttl_segment=600, ttl_addresses=600, upstream_app_ids=())
        for customer_id in customers:
            await cache.put_profile(customer_id, {"id": customer_id, "profile": {"firstName": "Ada"}})
        await requests(redis, customers, 2000)  # warm: connections, scripts loaded, slot map
    app: dict[str, list[float]] = {name: [] for name in clients}
    server: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, redis in clients.items():
            before = server_cpu(run_dir, name == "single node")
            app[name].append(await requests(redis, customers, count) / count * 1e6)
            server[name].append((server_cpu(run_dir, name == "single node") - before) / count * 1e6)
    for redis in clients.values():
        await redis.aclose()
    single = statistics.median(app["single node"])
    for name in clients:
        own = statistics.median(app[name])
        print(f"  {name:12} app {own:6.1f} us per request ({own / single:.2f}x), Redis servers "
              f"{statistics.median(server[name]):5.1f} us; rounds: " + ", ".join(f"{v:.0f}" for v in app[name]))


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.redis_client_cost")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = REPO_ROOT / ".data" / "bench-redis"
    single = LocalRedis(folder, folder / "logs", folder / "run", free_port())
    cluster = LocalRedisCluster(folder, folder / "logs", folder / "run", (free_port(), free_port(), free_port()))
    try:
        single_url, cluster_url = single.start(), cluster.start()
        print(f"== a cached GET's Redis work (count script + profile view), {args.requests} requests, "
              f"{CONCURRENCY} at a time, {args.rounds} alternating rounds")
        asyncio.run(measure(single_url, cluster_url, folder / "run", count=args.requests, rounds=args.rounds))
    finally:
        cluster.stop()
        single.stop()


if __name__ == "__main__":
    main()
