"""Finding customers among 100,000: every filter's latency through daprd, and the index each query uses.

    .venv/bin/python -m bench.search [--customers 100000] [--seconds 5]

Starts its own stack (.data/bench-search), seeds the customers straight into PostgreSQL with COPY,
then for each filter drives GET /v1/customers through daprd with wrk (4 connections) and prints
p50/p95/p99 (target: p99 under 50 ms) beside the same run's ceiling (/health/live through daprd),
followed by the plan PostgreSQL chose for that filter's query.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import asyncpg

from bench.stacks import bench_app, fresh_stack
from bench.wrk import Load, wrk
from domain.segmentation import Segment, Tier
from persistence.read_models import CustomerSearch
from tests.support.tokens import bearer

NOW = datetime.now(UTC)
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken", "Margaret",
         "Dennis", "Hedy", "Tim", "Katherine", "Linus", "Shafi", "Leslie", "Sophie", "Niklaus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy", "Perlman", "Thompson",
        "Hamilton", "Ritchie", "Lamarr", "Berners", "Johnson", "Torvalds", "Goldwasser", "Lamport", "Wilson", "Wirth"]
TIERS = [Tier.REGULAR] * 80 + [Tier.PREMIUM] * 15 + [Tier.VIP] * 4 + [Tier.ENTERPRISE]
SEGMENTS = list(Segment)


async def seed(database_url: str, count: int) -> None:
    rng = random.Random(7)
    customers, segments = [], []
    for i in range(count):
        key = uuid.UUID(int=rng.getrandbits(128), version=4)
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{i % 997}"
        registered = NOW - timedelta(days=rng.uniform(0, 1100))
        last_order = registered + timedelta(days=rng.uniform(0, (NOW - registered).days or 1)) if i % 5 else None
        status = "active" if i % 50 else rng.choice(["inactive", "suspended"])
        customers.append((key, f"{first.lower()}.{last.lower()}.{i}@example.com", "seeded", first, last, status,
                          registered, registered, registered))
        segments.append((key, rng.choice(TIERS).value, rng.choice(SEGMENTS).value, last_order))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table("customers", records=customers, columns=[
            "id", "email", "password_hash", "first_name", "last_name", "status", "registration_date", "created_at",
            "updated_at"])
        await conn.copy_records_to_table("customer_segments", records=segments, columns=[
            "customer_id", "tier", "segment", "last_order_date"])
        await conn.execute("ANALYZE customers; ANALYZE customer_segments")
    finally:
        await conn.close()


FILTERS: dict[str, dict[str, str]] = {
    "no filter (newest first)": {},
    "email, exact": {"email": "grace.hopper17.1017@example.com"},
    "email prefix": {"emailPrefix": "alan.turing3"},
    "status": {"status": "suspended"},
    "tier": {"tier": "vip"},
    "segment": {"segment": "churned"},
    "registered between": {"registeredFrom": (NOW - timedelta(days=30)).isoformat(),
                           "registeredTo": (NOW - timedelta(days=20)).isoformat()},
    "last order between": {"lastOrderFrom": (NOW - timedelta(days=3)).isoformat(),
                           "lastOrderTo": (NOW - timedelta(days=1)).isoformat()},
    "name, free text": {"q": "lamport12"},
    "tier + segment + registered since": {"tier": "premium", "segment": "high_value",
                                          "registeredFrom": (NOW - timedelta(days=365)).isoformat()},
}


def criteria(params: dict[str, str]) -> CustomerSearch:
    def time(name: str) -> datetime | None:
        return datetime.fromisoformat(params[name]) if name in params else None

    return CustomerSearch(email=params.get("email"), email_prefix=params.get("emailPrefix"),
                          status=params.get("status"), tier=params.get("tier"), segment=params.get("segment"),
                          registered_from=time("registeredFrom"), registered_to=time("registeredTo"),
                          last_order_from=time("lastOrderFrom"), last_order_to=time("lastOrderTo"),
                          name=params.get("q"))


async def plans(database_url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(database_url)
    try:
        found = {}
        for name, params in FILTERS.items():
            sql, args = criteria(params).query()
            plan = [r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *args)]
            found[name] = [line.strip() for line in plan if "Index" in line or "Scan" in line]
        return found
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.search")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    stack = fresh_stack("bench-search")
    app = bench_app()
    ports = app.ports
    try:
        stack.up([app])
        asyncio.run(seed(stack.database_url, args.customers))
        headers = {**stack.config.dapr_headers, **bearer("svc:bench-admin", "customers:admin")}
        invoke = f"http://127.0.0.1:{ports.http}/v1.0/invoke/customer-service/method"
        ceiling = wrk("ceiling: GET /health/live through daprd", f"{invoke}/health/live", headers=headers,
                      connections=4, seconds=args.seconds)
        results: list[Load] = []
        for name, params in FILTERS.items():
            query = urlencode({**params, "limit": 20})
            results.append(wrk(f"GET /v1/customers: {name}", f"{invoke}/v1/customers?{query}", headers=headers,
                               connections=4, seconds=args.seconds))
        chosen = asyncio.run(plans(stack.database_url))
    finally:
        stack.down()
    print(f"\nFinding customers among {args.customers:,} (2 cores, every process on them; wrk -c4):")
    print(ceiling.line())
    for load in results:
        verdict = "ok" if load.p99 < 50 and load.errors == 0 else "OVER TARGET"
        print(f"{load.line(ceiling)}  [{verdict}]")
    print("\nPlans:")
    for name, lines in chosen.items():
        print(f"  {name}:")
        for line in lines:
            print(f"      {line}")


if __name__ == "__main__":
    main()
