"""What the Dapr boundary costs on a REST read: mTLS between sidecars and the tokens.

    .venv/bin/python -m bench.security_cost

Runs the same load twice, each on a stack of its own: with sentry and mTLS (the default), and without
(and without the access policy, which needs mTLS identities). The load comes as the mesh sends it:
wrk -> a caller app's daprd (api-gateway) -> customer-service's daprd -> the app, for
GET /v1/customers/{id} (cache hit) and, as the same run's ceiling, the app's trivial /health/live.
Both stacks use the API and app tokens: their cost is a header and a constant-time compare, measured
on its own below.
"""

from __future__ import annotations

import asyncio
import timeit
from pathlib import Path

import httpx

from api.boundary import DaprBoundary
from bench.stacks import bench_app, fresh_stack
from bench.wrk import Load, wrk
from devstack.stack import COMPONENTS_DIR, REPO_ROOT
from tests.support.service import GATEWAY_ID, stand_in
from tests.support.tokens import bearer

SERVICE_ID = "customer-service"
ADMIN = bearer("svc:bench", "customers:admin")


def _config_without_policy(path: Path) -> Path:
    text = (COMPONENTS_DIR / "configuration.yaml").read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[:text.index("  # Who may invoke customer-service")])
    return path


def run_variant(name: str, *, mtls: bool, seconds: int) -> list[Load]:
    policy_free = None if mtls else _config_without_policy(REPO_ROOT / ".data" / f"bench-{name}-config" / "config.yaml")
    stack = fresh_stack(f"bench-{name}", mtls=mtls, dapr_config=policy_free)
    config = stack.config
    app = bench_app()
    gateway = stand_in(GATEWAY_ID, "tests.support.bystander:app")
    try:
        stack.up([app, gateway])
        invoke = f"http://127.0.0.1:{gateway.ports.http}/v1.0/invoke/{SERVICE_ID}/method"
        headers = {**config.dapr_headers, **ADMIN}
        with httpx.Client(timeout=30, headers=headers) as http:
            created = http.post(f"{invoke}/v1/customers", json={"email": f"bench-{name}@example.com",
                                                                 "password": "Bench-Passw0rd!"})
            created.raise_for_status()
            customer_url = f"{invoke}/v1/customers/{created.json()['data']['customer']['id']}"
            http.get(customer_url).raise_for_status()  # the view cache holds it from here on
        label = "mTLS" if mtls else "no mTLS"
        return [wrk(f"{label}: GET /health/live via caller's daprd, 1 conn", f"{invoke}/health/live",
                    headers=headers, connections=1, seconds=seconds),
                wrk(f"{label}: GET /v1/customers/{{id}} via caller's daprd, 1 conn", customer_url,
                    headers=headers, connections=1, seconds=seconds),
                wrk(f"{label}: GET /v1/customers/{{id}} via caller's daprd, 16 conns", customer_url,
                    headers=headers, connections=16, seconds=seconds)]
    finally:
        stack.down()


def token_check_microseconds() -> float:
    """The app-token check alone: a Dapr-facing request through DaprBoundary to an app that answers 204."""
    async def inner(scope: object, receive: object, send: object) -> None:
        return None

    boundary = DaprBoundary(inner, app_token="t" * 43, app_id=SERVICE_ID, actor_types=frozenset({"CustomerActor"}))
    scope = {"type": "http", "method": "POST", "path": "/events/orders/completed",
             "headers": [(b"dapr-api-token", b"t" * 43), (b"content-type", b"application/json")]}
    loop = asyncio.new_event_loop()

    async def once() -> None:
        await boundary(scope, None, None)  # type: ignore[arg-type]

    runs = 20000
    seconds = timeit.timeit(lambda: loop.run_until_complete(once()), number=runs)
    loop.close()
    return seconds / runs * 1e6


def main() -> None:
    secure = run_variant("mtls", mtls=True, seconds=8)
    plain = run_variant("plain", mtls=False, seconds=8)
    print("\nThe Dapr boundary's cost on a REST read (2 cores, every process on them):")
    for with_mtls, without in zip(secure, plain, strict=True):
        print(without.line())
        print(with_mtls.line(without))
    print(f"app-token check in the app: {token_check_microseconds():.1f} us per request "
          "(includes one asyncio turn)")


if __name__ == "__main__":
    main()
