"""Benchmarks of customer-service through real daprd, each against a baseline measured in the same run.

  .venv/bin/python -m bench [--requests N] [--concurrency C] [--events E]

Starts its own stack (PostgreSQL, Redis, placement, scheduler, daprd, the app) on free ports under
.data/bench, and stops it at the end. Numbers are for this machine (2 cores shared by every process).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import asyncpg
import httpx
from dapr.actor import ActorId, ActorProxy
from dapr.conf import settings as dapr_settings

from actors.interface import ACTOR_TYPE, CustomerActorInterface
from bench.stacks import bench_app, fresh_stack
from bench.stats import Measurement
from devstack.stack import DaprApp, Stack
from tests.support.service import ORDER_SERVICE_ID, stand_in
from tests.support.tokens import bearer

HEADERS = bearer("svc:bench", "customers:admin")


async def measure(name: str, total: int, concurrency: int, call: Callable[[int], Awaitable[None]]) -> Measurement:
    latencies: list[float] = []
    queue = iter(range(total))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Measurement(name, latencies, time.perf_counter() - started)


def ok(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")


async def run(app: DaprApp, producer: DaprApp, stack: Stack, requests: int, concurrency: int, events: int) -> None:
    dapr = f"http://127.0.0.1:{app.ports.http}"
    # Orders are published as the Order Service publishes them: only it may (pub/sub scopes).
    producer_dapr = f"http://127.0.0.1:{producer.ports.http}"
    invoke = f"{dapr}/v1.0/invoke/customer-service/method"
    direct = f"http://127.0.0.1:{app.ports.app}"
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100),
                                 headers=stack.config.dapr_headers) as http:
        customers = []
        for _ in range(max(concurrency, 20)):
            response = await http.post(f"{invoke}/v1/customers", headers=HEADERS, json={
                "email": f"bench-{uuid.uuid4().hex[:10]}@example.com", "password": "Bench-Passw0rd!"})
            ok(response)
            customers.append(str(response.json()["data"]["customer"]["id"]))

        def pick(i: int) -> str:
            return customers[i % len(customers)]

        for label, n, workers in (("one at a time", min(requests, 300), 1),
                                  (f"concurrency {concurrency}", requests, concurrency)):
            print(f"\n== REST through daprd, {n} requests, {label}")
            floor = await measure("baseline: GET /health/live via daprd", n, workers,
                                  lambda i: _get(http, f"{invoke}/health/live"))
            print(floor.line())
            for name, call in (
                ("GET customer, direct to app (no daprd)", lambda i: _get(http, f"{direct}/v1/customers/{pick(i)}")),
                ("GET customer via daprd (cache hit)", lambda i: _get(http, f"{invoke}/v1/customers/{pick(i)}")),
                ("GET segment: daprd actor call (no cache)", lambda i: _put_actor(http, dapr, pick(i), "get_segment")),
                ("PUT customer via daprd (actor+PG+state)",
                 lambda i: _put(http, f"{invoke}/v1/customers/{pick(i)}", {"profile": {"firstName": f"N{i}"}})),
            ):
                print((await measure(name, n, workers, call)).line(floor))

        calls = min(requests, 300)
        print(f"\n== Actor calls through daprd: SDK ActorProxy vs pooled clients, {calls} calls each, serial")
        proxies = {c: ActorProxy.create(ACTOR_TYPE, ActorId(c), CustomerActorInterface) for c in customers}

        async def sdk_get(i: int) -> None:
            await proxies[pick(i)].invoke_method("get")

        sdk = await measure("baseline: SDK ActorProxy get", calls, 1, sdk_get)
        print(sdk.line())
        print((await measure("pooled httpx client get", calls, 1,
                             lambda i: _put_actor(http, dapr, pick(i), "get"))).line(sdk))
        async with aiohttp.ClientSession(headers=stack.config.dapr_headers) as session:
            async def aiohttp_get(i: int) -> None:
                url = f"{dapr}/v1.0/actors/{ACTOR_TYPE}/{pick(i)}/method/get"
                async with session.put(url, data=b"") as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"actor call failed: {response.status}")

            print((await measure("pooled aiohttp session get", calls, 1, aiohttp_get)).line(sdk))

        print(f"\n== Event ingestion: {events} orders.order.completed through daprd pub/sub")
        pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
        before = await pool.fetchval("SELECT count(*) FROM customer_orders")
        started = time.perf_counter()
        publish = await measure("baseline: publish only (daprd accepts)", events, concurrency,
                                lambda i: _post(http, f"{producer_dapr}/v1.0/publish/pubsub/orders.order.completed", {
                                    "eventId": f"evt_{uuid.uuid4().hex}", "data": {
                                        "orderId": f"ord_{uuid.uuid4().hex}", "customerId": pick(i),
                                        "amount": "25.00", "currency": "USD",
                                        "completedAt": datetime.now(UTC).isoformat()}}))
        print(publish.line())
        while await pool.fetchval("SELECT count(*) FROM customer_orders") - before < events:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polling the database is the measurement
        elapsed = time.perf_counter() - started
        await pool.close()
        print(f"{'publish -> committed metrics (end to end)':44} n={events:5}  {events / elapsed:8.1f}/s  "
              f"({elapsed:.2f} s for all; publishing alone ran at {publish.throughput:.1f}/s)")


async def _get(http: httpx.AsyncClient, url: str) -> None:
    ok(await http.get(url, headers=HEADERS))


async def _put(http: httpx.AsyncClient, url: str, body: dict[str, object]) -> None:
    ok(await http.put(url, headers=HEADERS, json=body))


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, object]) -> None:
    ok(await http.post(url, json=body))


async def _put_actor(http: httpx.AsyncClient, dapr: str, customer_id: str, method: str) -> None:
    ok(await http.put(f"{dapr}/v1.0/actors/{ACTOR_TYPE}/{customer_id}/method/{method}", content=b""))


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    stack = fresh_stack("bench")
    app = bench_app()
    ports = app.ports
    try:
        producer = stand_in(ORDER_SERVICE_ID, "tests.support.order_service:app")
        stack.up([app, producer])
        dapr_settings.DAPR_HTTP_PORT = ports.http  # type: ignore[attr-defined]  # read by the SDK's ActorProxy
        dapr_settings.DAPR_API_TOKEN = stack.config.dapr_api_token  # type: ignore[attr-defined]
        asyncio.run(run(app, producer, stack, args.requests, args.concurrency, args.events))
    finally:
        stack.down()


if __name__ == "__main__":
    main()
