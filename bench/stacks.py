"""The stack every benchmark starts for itself: fresh, on free ports, under .data/<name>, with the
service's rate limits raised out of the way (the limiter still runs on every request)."""

from __future__ import annotations

from pathlib import Path

from devstack.stack import REPO_ROOT, DaprApp, SidecarPorts, Stack, StackConfig
from tests.support.service import service_app

UNLIMITED = "100000000"


def fresh_stack(name: str, *, mtls: bool = True, dapr_config: Path | None = None,
                otlp_endpoint: str | None = None) -> Stack:
    config = StackConfig.for_tests(REPO_ROOT / ".data" / name)
    config.mtls = mtls
    config.otlp_endpoint = otlp_endpoint
    if dapr_config is not None:
        config.dapr_config_override = dapr_config
    stack = Stack(config)
    stack.down()
    stack.wipe()
    return stack


def bench_app() -> DaprApp:
    """The service as production runs it (INFO logs with the access log), its rate limits out of the way."""
    return service_app(SidecarPorts.free(), RATE_LIMIT_PER_MINUTE=UNLIMITED, SERVICE_RATE_LIMIT_PER_MINUTE=UNLIMITED)
