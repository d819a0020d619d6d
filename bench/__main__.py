"""The service's throughput and latency under wrk, each figure beside the same run's ceiling.

    .venv/bin/python -m bench [--replicas 1 2] [--seconds 10] [--connections 16] [--customers 200]
                              [--events 3000] [--hold]

For each replica count, starts a fresh stack of its own (.data/bench: PostgreSQL, Redis, sentry,
placement, scheduler, N customer-service replicas each with its daprd, an api-gateway caller app and
the order-service producer, every one with its own daprd), creates the customers, reads each once (the
view cache holds it from there), and drives with wrk (1 thread, C connections, S seconds each):

  ceiling     GET /health/live: the app's trivial route, through the same daprds
  GET         GET /v1/customers/{id}, round robin over the customers
  PUT         PUT /v1/customers/{id} (acknowledged = committed in PostgreSQL)
  mixed       70% GET customer, 10% GET segment, 10% GET addresses, 10% PUT
  events      E orders.order.completed published through the order service's daprd, measured from the
              first publish until PostgreSQL holds every order and the books add up

REST load goes the way the mesh sends it: wrk -> the caller's daprd (app id api-gateway) -> Dapr's
name resolution -> a customer-service replica's daprd -> the app. With one replica the run also
measures the service's own daprd as the entry (a sidecar invoking its own app id always calls its
local app). The rate limiter runs on every request with its limits raised to 100,000,000 a minute (all
requests carry one admin subject). The service's own cache counters give the mixed run's hit ratio.
`--hold` keeps the first stack up after seeding (for py-spy) until Enter.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import httpx

from bench.cpu import cpu_seconds, per_request
from bench.stacks import bench_app, fresh_stack
from bench.wrk import Load, script, wrk
from devstack.stack import DaprApp, Stack
from tests.support.service import ORDER_SERVICE_ID, SERVICE_ID, stand_in
from tests.support.tokens import bearer

GATEWAY_ID = "api-gateway"
ADMIN = bearer("svc:bench", "customers:admin")
ORDER_AMOUNT = 25


@dataclass
class Mesh:
    stack: Stack
    replicas: list[DaprApp]
    gateway: DaprApp
    producer: DaprApp
    ids_file: Path

    def invoke(self, via: DaprApp) -> str:
        return f"http://127.0.0.1:{via.ports.http}/v1.0/invoke/{SERVICE_ID}/method"

    @property
    def headers(self) -> dict[str, str]:
        return {**self.stack.config.dapr_headers, **ADMIN}


def start_mesh(replica_count: int, customers: int, *, stack: Stack | None = None) -> Mesh:
    """The mesh on `stack` (a fresh one of its own by default), seeded with `customers` cached customers."""
    stack = stack or fresh_stack("bench")
    first = bench_app()
    replicas = [first, *(replace(bench_app(), replica=n) for n in range(2, replica_count + 1))]
    gateway = stand_in(GATEWAY_ID, "tests.support.bystander:app")
    producer = stand_in(ORDER_SERVICE_ID, "tests.support.order_service:app")
    stack.up([*replicas, gateway, producer])
    mesh = Mesh(stack, replicas, gateway, producer, stack.config.data_dir / "customer-ids")
    with httpx.Client(timeout=30, headers=mesh.headers) as http:
        ids = []
        for _ in range(customers):
            created = http.post(f"{mesh.invoke(gateway)}/v1/customers", json={
                "email": f"bench-{uuid.uuid4().hex[:12]}@example.com", "password": "Bench-Passw0rd!"})
            created.raise_for_status()
            ids.append(created.json()["data"]["customer"]["id"])
        for customer_id in ids:
            http.get(f"{mesh.invoke(gateway)}/v1/customers/{customer_id}").raise_for_status()
    mesh.ids_file.write_text("\n".join(ids) + "\n")
    return mesh


def cache_lookups(mesh: Mesh) -> tuple[float, float]:
    """(hits, misses) summed over every replica's metrics endpoint."""
    hits = misses = 0.0
    for app in mesh.replicas:
        text = httpx.get(f"http://127.0.0.1:{app.app_env['METRICS_PORT']}/metrics", timeout=10).text
        if "# TYPE customers_cache_lookups_total counter" not in text:
            raise RuntimeError(f"{app.name}'s metrics endpoint does not serve the cache counters")
        for line in text.splitlines():
            if line.startswith("customers_cache_lookups_total{"):
                value = float(line.rsplit(" ", 1)[1])
                if 'result="hit"' in line:
                    hits += value
                else:
                    misses += value
    return hits, misses


async def _books(database_url: str, run: str) -> tuple[int, int]:
    """(orders recorded for this run, customers whose metrics do not equal their orders' sum)."""
    conn = await asyncpg.connect(database_url)
    try:
        recorded = await conn.fetchval("SELECT count(*) FROM customer_orders WHERE order_id LIKE $1", f"ord_{run}_%")
        wrong = await conn.fetchval("""
            SELECT count(*) FROM customer_segments s
            LEFT JOIN (SELECT customer_id, sum(amount) AS spent, count(*) AS orders
                       FROM customer_orders GROUP BY customer_id) o ON o.customer_id = s.customer_id
            WHERE s.total_spent IS DISTINCT FROM coalesce(o.spent, 0)
               OR s.order_count IS DISTINCT FROM coalesce(o.orders, 0)""")
        return int(recorded), int(wrong)
    finally:
        await conn.close()


def events(mesh: Mesh, *, count: int, seconds: int, connections: int) -> Load:
    """Publishes `count` events (or for `seconds`, if that ends first), then waits until every accepted
    event is committed; the rate is recorded orders over the whole time from first publish to last
    commit. wrk counts the requests that finished: a few more, in flight at its end, may also be
    published and recorded."""
    run = uuid.uuid4().hex[:8]
    publish_url = f"http://127.0.0.1:{mesh.producer.ports.http}/v1.0/publish/pubsub/orders.order.completed"
    cpu = cpu_seconds(mesh.stack.config.run_dir)
    started = time.monotonic()
    published = wrk("publish only (the producer's daprd accepts)", publish_url, headers=mesh.stack.config.dapr_headers,
                    connections=connections, seconds=seconds, script=script("orders.lua"),
                    script_args=[str(mesh.ids_file), run, str(count)])
    accepted = published.requests - published.errors
    deadline = time.monotonic() + 300
    while (recorded := asyncio.run(_books(mesh.stack.database_url, run))[0]) < accepted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {recorded} of {accepted} published orders were recorded after 300 s")
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    recorded, wrong = asyncio.run(_books(mesh.stack.database_url, run))
    print(f"   events: {accepted} accepted by daprd ({published.rps:.0f}/s), {recorded} orders recorded, {wrong} "
          f"customers whose metrics differ from the sum of their orders, {elapsed:.1f} s from first publish to "
          "last commit")
    print("   " + per_request(cpu, cpu_seconds(mesh.stack.config.run_dir), recorded))
    if recorded < accepted or wrong:
        raise RuntimeError("the books do not add up")
    return Load("events: publish -> committed metrics", recorded / elapsed, published.p50, published.p95,
                published.p99, recorded, published.errors)


def measure(mesh: Mesh, *, seconds: int, connections: int, event_count: int) -> list[tuple[Load, Load]]:
    """Each load beside its ceiling: (ceiling, load) pairs."""
    entries = [("caller's daprd", mesh.gateway)]
    if len(mesh.replicas) == 1:
        entries.append(("own daprd", mesh.replicas[0]))
    rows: list[tuple[Load, Load]] = []
    ids = str(mesh.ids_file)
    for label, via in entries:
        base = mesh.invoke(via)
        cpu = cpu_seconds(mesh.stack.config.run_dir)
        ceiling = wrk(f"ceiling: GET /health/live via {label}", f"{base}/health/live", headers=mesh.headers,
                      connections=connections, seconds=seconds)
        print(ceiling.line())
        print("   " + per_request(cpu, cpu_seconds(mesh.stack.config.run_dir), ceiling.requests))
        modes = ["get", "put", "mixed"] if via is mesh.gateway else ["get"]
        for mode in modes:
            before = cache_lookups(mesh)
            cpu = cpu_seconds(mesh.stack.config.run_dir)
            load = wrk(f"{mode}: via {label}", base, headers=mesh.headers, connections=connections, seconds=seconds,
                       script=script("customers.lua"), script_args=[ids, mode])
            print(load.line(ceiling))
            print("   " + per_request(cpu, cpu_seconds(mesh.stack.config.run_dir), load.requests))
            if mode == "mixed":
                hits, misses = (after - earlier for after, earlier in zip(cache_lookups(mesh), before, strict=True))
                print(f"   cache hit ratio during the mixed run: {hits / max(hits + misses, 1):.1%} "
                      f"({hits:.0f} hits, {misses:.0f} misses)")
            rows.append((ceiling, load))
    rows.append((rows[0][0], events(mesh, count=event_count, seconds=seconds, connections=connections)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    results: dict[int, list[tuple[Load, Load]]] = {}
    for count in args.replicas:
        print(f"\n== {count} replica(s): wrk -t1 -c{args.connections} -d{args.seconds}s, {args.customers} customers")
        mesh = start_mesh(count, args.customers)
        try:
            if args.hold:
                print("holding: app pids", [mesh.stack.process(app.name).pid() for app in mesh.replicas],
                      "\n  caller:", mesh.invoke(mesh.gateway), "\n  ids:", mesh.ids_file,
                      "\n  headers:", mesh.headers)
                input("Enter stops the stack ")
                return
            results[count] = measure(mesh, seconds=args.seconds, connections=args.connections,
                                     event_count=args.events)
        finally:
            mesh.stack.down()
    print(f"\n{'load':52} " + "  ".join(f"{f'{n} replica(s)':>38}" for n in results))
    names = list(dict.fromkeys(load.name for rows in results.values() for _, load in rows))
    for name in names:
        cells = []
        for rows in results.values():
            found = [(ceiling, load) for ceiling, load in rows if load.name == name]
            if found:
                ceiling, load = found[0]
                cells.append(f"{load.rps:7.0f}/s {load.rps / ceiling.rps:4.0%} p50 {load.p50:5.1f} p99 {load.p99:6.1f}")
            else:
                cells.append(f"{'-':>38}")
        print(f"{name:52} " + "  ".join(f"{c:>38}" for c in cells))


if __name__ == "__main__":
    main()
