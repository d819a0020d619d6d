"""The CPU budget of every request path, latency at fixed arrival rates, and both beside the baseline.

    .venv/bin/python -m bench [--runs 3] [--seconds 10] [--connections 16] [--customers 200]
                              [--events 3000] [--rates 150 300 600 900] [--open-seconds 30]
                              [--sla-rate 600] [--sla-seconds 60] [--budget-only] [--write-baseline] [--hold]

Starts a fresh stack of its own (.data/bench: PostgreSQL, Redis, sentry, placement, scheduler, one
customer-service replica with its daprd, an api-gateway caller app and the order-service producer, every
one with its own daprd) in the production configuration: INFO logs with the access log, every daprd
sampling traces as shipped and exporting them with the app to a collector (tests/support/collector.py,
in this process), metrics served, mTLS, the app and API tokens, the rate limiter on every request (its
limits raised to 100,000,000 a minute). It creates the customers and reads each once (the view cache
holds them from there). Then:

1. The budget (wrk -t1 -cC -dS, closed loop, --runs times each; the median run is reported). CPU per
   request is the whole box's busy time over the run (/proc/stat, every process, wrk included) divided
   by the requests served, the issue's measure; the stack's processes are itemised beside it. A run's CPU
   is counted until the outbox relay has published the events its writes committed. Time the hypervisor
   steals is not CPU the box used: it is left out and reported beside each path.
     bare app        GET /health/live, straight to the app
     GET             GET /v1/customers/{id} through the service's own daprd, view cached
     PUT             PUT /v1/customers/{id} through own daprd (acknowledged = committed in PostgreSQL)
     mixed           70% GET customer, 10% GET segment, 10% GET addresses, 10% PUT, through own daprd
     events          E orders.order.completed published through the order service's daprd, from the
                     first publish until PostgreSQL holds every order and the books add up
2. The open model (vegeta, bench/openmodel.py): the mixed load offered at each of --rates for
   --open-seconds through own daprd, then the SLA run (--sla-rate for --sla-seconds) through own daprd
   starting from a cold view cache (its hit ratio from the service's own counters), and through the
   caller's daprd (the mesh path). The highest rate holding P99 < 100 ms with no errors is reported.
3. Every figure beside bench/baseline.json, with the ratio; --write-baseline records this run as it.

The machine's speed (bench.cpu.calibration_ms, before and after the loads) is printed and kept with the
baseline: on this VM the same code's CPU per request doubled within an hour. `--budget-only` skips the
open model, for alternating runs of two versions in the same window. `--hold` keeps the stack up after
seeding (for py-spy and daprd's pprof) until Enter.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.cpu import box_busy_seconds, box_stolen_seconds, calibration_ms, cpu_seconds, per_request
from bench.openmodel import OpenRun, attack, mixed_targets, vegeta
from bench.stacks import bench_app, fresh_stack
from bench.wrk import Load, script, wrk
from devstack.stack import REPO_ROOT, DaprApp, Stack
from tests.support.collector import TraceCollector
from tests.support.service import GATEWAY_ID, ORDER_SERVICE_ID, SERVICE_ID, stand_in
from tests.support.tokens import bearer

ADMIN = bearer("svc:bench", "customers:admin")
BASELINE = Path(__file__).with_name("baseline.json")
# The budget: whole-box CPU ms per request, production configuration, median of three runs.
BUDGET_MS = {"bare app GET /health/live": 0.35, "GET /v1/customers/{id}": 1.4, "PUT /v1/customers/{id}": 6.0,
             "mixed": 2.0, "orders.order.completed": 4.0}
EVENTS_RATE_TARGET = 500.0
CORES = os.cpu_count() or 1


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

    @property
    def ids(self) -> list[str]:
        return self.ids_file.read_text().split()


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


@dataclass(frozen=True)
class Measured:
    """One closed-loop run: its load, the whole box's CPU per request, the stack's processes', and the
    share of the box's time the hypervisor stole meanwhile (not counted in the CPU)."""

    load: Load
    cpu_ms: float
    itemised: str
    stolen: float


async def _unpublished(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
    finally:
        await conn.close()


def settle(mesh: Mesh) -> None:
    """Waits until the outbox relay has published every event the run's writes committed: that work is
    the run's, and left running it would be charged to the next path measured."""
    deadline = time.monotonic() + 120
    while asyncio.run(_unpublished(mesh.stack.database_url)):
        if time.monotonic() > deadline:
            raise RuntimeError("the outbox relay did not catch up within 120 s")
        time.sleep(0.1)


def measured(mesh: Mesh, run: Callable[[], Load]) -> Measured:
    """One run, its CPU counted until the events its writes committed are published."""
    busy, stolen, processes = box_busy_seconds(), box_stolen_seconds(), cpu_seconds(mesh.stack.config.run_dir)
    started = time.monotonic()
    load = run()
    settle(mesh)
    cpu_ms = (box_busy_seconds() - busy) * 1000 / max(load.requests, 1)
    stolen_share = (box_stolen_seconds() - stolen) / (CORES * (time.monotonic() - started))
    return Measured(load, cpu_ms, per_request(processes, cpu_seconds(mesh.stack.config.run_dir), load.requests),
                    stolen_share)


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
    published and recorded, and count as requests served."""
    run = uuid.uuid4().hex[:8]
    publish_url = f"http://127.0.0.1:{mesh.producer.ports.http}/v1.0/publish/pubsub/orders.order.completed"
    started = time.monotonic()
    published = wrk("publish", publish_url, headers=mesh.stack.config.dapr_headers, connections=connections,
                    seconds=seconds, script=script("orders.lua"), script_args=[str(mesh.ids_file), run, str(count)])
    accepted = published.requests - published.errors
    deadline = time.monotonic() + 300
    while (recorded := asyncio.run(_books(mesh.stack.database_url, run))[0]) < accepted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {recorded} of {accepted} published orders were recorded after 300 s")
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    recorded, wrong = asyncio.run(_books(mesh.stack.database_url, run))
    if recorded < accepted or wrong:
        raise RuntimeError(f"the books do not add up: {recorded} of {accepted} recorded, {wrong} customers wrong")
    return Load("orders.order.completed", recorded / elapsed, published.p50, published.p95, published.p99,
                recorded, published.errors)


def budget_runs(mesh: Mesh, *, runs: int, seconds: int, connections: int, event_count: int) -> dict[str, Measured]:
    """Each budget path `runs` times; the run with the median CPU per request."""
    app, own = mesh.replicas[0], mesh.invoke(mesh.replicas[0])
    ids = str(mesh.ids_file)

    def rest(mode: str) -> Callable[[], Load]:
        return lambda: wrk(mode, own, headers=mesh.headers, connections=connections, seconds=seconds,
                           script=script("customers.lua"), script_args=[ids, mode])

    paths: dict[str, Callable[[], Load]] = {
        "bare app GET /health/live": lambda: wrk("bare", f"http://127.0.0.1:{app.ports.app}/health/live",
                                                 headers={}, connections=connections, seconds=seconds),
        "GET /v1/customers/{id}": rest("get"),
        "PUT /v1/customers/{id}": rest("put"),
        "mixed": rest("mixed"),
        "orders.order.completed": lambda: events(mesh, count=event_count, seconds=seconds, connections=connections),
    }
    chosen = {}
    for name, run in paths.items():
        results = sorted((measured(mesh, run) for _ in range(runs)), key=lambda m: m.cpu_ms)
        chosen[name] = results[len(results) // 2]
        print(f"  {name:28} CPU per request {', '.join(f'{m.cpu_ms:.2f}' for m in results)} ms; "
              f"median run: {chosen[name].load.rps:.0f}/s p99 {chosen[name].load.p99:.1f} ms, "
              f"{chosen[name].stolen:.0%} of the box stolen by the hypervisor\n"
              f"  {'':28} {chosen[name].itemised}", flush=True)
    return chosen


def flush_views(mesh: Mesh) -> None:
    redis = mesh.stack.redis_client()
    try:
        for pattern in ("customers:profile:*", "customers:segment:*", "customers:addresses:*"):
            keys = list(redis.scan_iter(match=pattern))
            if keys:
                redis.delete(*keys)
    finally:
        redis.close()


def open_runs(mesh: Mesh, *, rates: list[int], seconds: int, sla_rate: int, sla_seconds: int
              ) -> tuple[list[OpenRun], float]:
    """The rate sweep and the SLA runs; and the SLA run's cache hit ratio from a cold cache."""
    binary = vegeta()
    folder = mesh.stack.config.data_dir
    own = mixed_targets(folder / "own.targets", mesh.invoke(mesh.replicas[0]), mesh.ids, mesh.headers)
    caller = mixed_targets(folder / "caller.targets", mesh.invoke(mesh.gateway), mesh.ids, mesh.headers)
    found = []
    for rate in rates:
        found.append(attack("mixed, own daprd", own, rate=rate, seconds=seconds, binary=binary))
        print("  " + found[-1].line(), flush=True)
    flush_views(mesh)
    before = cache_lookups(mesh)
    found.append(attack("SLA: mixed, own daprd, cold cache", own, rate=sla_rate, seconds=sla_seconds, binary=binary))
    hits, misses = (after - earlier for after, earlier in zip(cache_lookups(mesh), before, strict=True))
    print("  " + found[-1].line(), flush=True)
    found.append(attack("SLA: mixed, caller's daprd", caller, rate=sla_rate, seconds=sla_seconds, binary=binary))
    print("  " + found[-1].line(), flush=True)
    return found, hits / max(hits + misses, 1)


def figures(budget: dict[str, Measured], opened: list[OpenRun], hit_ratio: float) -> dict[str, float]:
    """Every figure of the run by name, as the baseline keeps them (lower is better unless named /s)."""
    flat: dict[str, float] = {}
    for name, m in budget.items():
        flat[f"{name}: CPU ms per request"] = round(m.cpu_ms, 3)
        flat[f"{name}: requests/s"] = round(m.load.rps, 1)
    for run in opened:
        key = f"{run.name} at {run.rate}/s"
        flat[f"{key}: p50 ms"], flat[f"{key}: p99 ms"] = round(run.p50, 2), round(run.p99, 2)
        flat[f"{key}: errors"] = run.errors
    if opened:
        flat["SLA cold-cache hit ratio"] = round(hit_ratio, 4)
    return flat


def report(budget: dict[str, Measured], opened: list[OpenRun], hit_ratio: float, calibration: float
           ) -> dict[str, float]:
    print(f"\n== machine speed: {calibration:.1f} ms for bench.cpu.calibration_ms's fixed work (lower is faster)")
    print("\n== budget: whole-box CPU per request (median run), production configuration")
    print(f"{'path':30} {'budget':>8} {'measured':>9} {'rate':>9}  holds")
    for name, limit in BUDGET_MS.items():
        m = budget[name]
        holds = m.cpu_ms <= limit and (name != "orders.order.completed" or m.load.rps >= EVENTS_RATE_TARGET)
        print(f"{name:30} {limit:7.2f}  {m.cpu_ms:8.2f}  {m.load.rps:7.0f}/s  {'yes' if holds else 'NO'}")
    print("\n== open model: mixed load at fixed arrival rates (vegeta)")
    for run in opened:
        print(run.line())
    sweep = [r for r in opened if not r.name.startswith("SLA")]
    holding = [r.rate for r in sweep if r.holds_sla]
    print(f"highest swept rate holding p99 < 100 ms without errors: {max(holding) if holding else 'none'}/s")
    print(f"cache hit ratio of the SLA run from a cold cache: {hit_ratio:.1%}")
    flat = figures(budget, opened, hit_ratio)
    flat["machine speed: calibration ms"] = round(calibration, 2)
    print("\n== beside the baseline (bench/baseline.json)")
    baseline: dict[str, Any] = json.loads(BASELINE.read_text()) if BASELINE.exists() else {"figures": {}}
    base_speed = baseline["figures"].get("machine speed: calibration ms")
    speed = calibration / base_speed if base_speed else 1.0
    print(f"baseline: {baseline.get('recorded', 'none')} at {baseline.get('commit', '-')}; this machine ran the "
          f"calibration {speed:.2f}x the baseline's time. CPU ratios: as measured, and at the baseline's speed")
    for name, value in flat.items():
        before = baseline["figures"].get(name)
        ratio = f"{value / before:6.2f}x" if before else "     -"
        if before and "CPU ms" in name:
            ratio += f" {value / before / speed:6.2f}x"
        print(f"{name:62} {value:10.2f}  baseline {before if before is not None else '-':>10}  {ratio}")
    return flat


def write_baseline(flat: dict[str, float], args: argparse.Namespace) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,  # noqa: S607
                            cwd=REPO_ROOT, check=False).stdout.strip()
    BASELINE.write_text(json.dumps({
        "recorded": datetime.date.today().isoformat(), "commit": commit,
        "machine": "2 cores, 23 GiB; every process of the stack and the load generators on the same 2 cores",
        "settings": {k: v for k, v in vars(args).items() if k not in ("write_baseline", "hold")},
        "figures": flat}, indent=2) + "\n")
    print(f"baseline written: {BASELINE}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rates", type=int, nargs="+", default=[150, 300, 600, 900])
    parser.add_argument("--open-seconds", type=int, default=30)
    parser.add_argument("--sla-rate", type=int, default=600)
    parser.add_argument("--sla-seconds", type=int, default=60)
    parser.add_argument("--budget-only", action="store_true")
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    collector = TraceCollector().start()
    mesh = start_mesh(1, args.customers, stack=fresh_stack("bench", otlp_endpoint=collector.endpoint))
    try:
        if args.hold:
            print("holding: app pid", mesh.stack.process(mesh.replicas[0].name).pid(),
                  "\n  own daprd:", mesh.invoke(mesh.replicas[0]), "\n  caller:", mesh.invoke(mesh.gateway),
                  "\n  ids:", mesh.ids_file, "\n  headers:", mesh.headers)
            input("Enter stops the stack ")
            return
        speeds = [calibration_ms()]
        print(f"== budget paths: wrk -t1 -c{args.connections} -d{args.seconds}s, {args.runs} runs each, "
              f"{args.customers} customers; machine speed {speeds[0]:.1f} ms", flush=True)
        budget = budget_runs(mesh, runs=args.runs, seconds=args.seconds, connections=args.connections,
                             event_count=args.events)
        opened: list[OpenRun] = []
        hit_ratio = 0.0
        if not args.budget_only:
            print("== open model", flush=True)
            opened, hit_ratio = open_runs(mesh, rates=args.rates, seconds=args.open_seconds,
                                          sla_rate=args.sla_rate, sla_seconds=args.sla_seconds)
        speeds.append(calibration_ms())
    finally:
        mesh.stack.down()
        collector.stop()
    flat = report(budget, opened, hit_ratio, statistics.median(speeds))
    if args.write_baseline:
        if args.budget_only:
            raise SystemExit("a baseline holds the open model's figures too: run without --budget-only")
        write_baseline(flat, args)
    print(json.dumps({"budget": {k: asdict(v.load) | {"cpu_ms": v.cpu_ms} for k, v in budget.items()}}))


if __name__ == "__main__":
    main()
