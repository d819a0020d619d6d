"""What tracing costs on REST reads and writes.

    .venv/bin/python -m bench.tracing_cost

Runs the same loads on two stacks of their own, each one customer-service replica with an api-gateway
caller, load as the mesh sends it (wrk -> caller's daprd -> the service's daprd -> the app):

  off        every daprd's Configuration with samplingRate "0" (daprd's tracing middleware off), and no
             OTLP endpoint for the app (it records nothing and only carries a caller's context)
  shipped    the Configuration as shipped (one request in ten sampled), every daprd and the app
             exporting to a collector (tests/support/collector.py, in this process)
  shipped, every request sampled: the same stack, each request carrying a sampled traceparent, the
             worst case (a caller that samples everything)

Each figure is printed beside the same run's "off" figure, with the CPU each process spent per request.
Then, in this process, what the app's middleware costs a request, which the loads' run-to-run spread
(about 20% on this VM) hides: the FastAPI instrumentation's span naming on the service's own routes,
and a one-route app served plain, instrumented, and through the sampling gate (telemetry/tracing.py).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor, _get_default_span_details
from opentelemetry.sdk.trace import TracerProvider

from bench.__main__ import Mesh, start_mesh
from bench.cpu import cpu_seconds, per_request
from bench.stacks import fresh_stack
from bench.wrk import Load, script, wrk
from devstack.stack import REPO_ROOT, SERVICE_APP_ID, run_file_app
from telemetry import tracing
from tests.support.collector import TraceCollector

CUSTOMERS = 100
MODES = ("get", "put")
RUNS = 5000
SAMPLED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def untraced_configuration() -> Path:
    resource = yaml.safe_load(run_file_app(SERVICE_APP_ID).config_file.read_text())
    resource["spec"]["tracing"] = {"samplingRate": "0"}
    path = REPO_ROOT / ".data" / "bench-tracing-off-config" / "configuration.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(resource, sort_keys=False))
    return path


def loads(mesh: Mesh, label: str, *, seconds: int, extra_headers: dict[str, str] | None = None) -> list[Load]:
    measured = []
    for mode in MODES:
        cpu = cpu_seconds(mesh.stack.config.run_dir)
        load = wrk(f"{label}: {mode}", mesh.invoke(mesh.gateway), headers={**mesh.headers, **(extra_headers or {})},
                   seconds=seconds, script=script("customers.lua"), script_args=[str(mesh.ids_file), mode])
        load_cpu = per_request(cpu, cpu_seconds(mesh.stack.config.run_dir), load.requests)
        print(load.line() + "\n   " + load_cpu)
        measured.append(load)
    return measured


def span_naming_microseconds() -> dict[str, float]:
    """The instrumentation's span naming (it matches the path against every route) on the service's app."""
    os.environ.setdefault("SERVICE_ENV", "local")
    os.environ["METRICS_PORT"] = "0"
    from service.main import create_app

    app = create_app()
    timings = {}
    for path in ("/v1/customers/cust_0", "/actors/CustomerActor/cust_0/method/get", "/events/orders/completed"):
        scope = {"type": "http", "method": "PUT", "path": path, "app": app}
        started = time.perf_counter()
        for _ in range(RUNS):
            _get_default_span_details(scope)
        timings[path] = (time.perf_counter() - started) / RUNS * 1e6
    return timings


def middleware_microseconds() -> dict[str, float]:
    """A request's time through a one-route app's middleware and route, in this process, by how it is served."""
    provider = TracerProvider(sampler=tracing.SAMPLER)  # records; exports nowhere

    def app(how: str) -> FastAPI:
        served = FastAPI(telemetry=tracing.FASTAPI_NATIVE_TELEMETRY_OFF)

        @served.get("/v1/customers/{customer_id}")
        async def get(customer_id: str) -> dict[str, str]:
            return {"id": customer_id}

        if how == "instrumented":
            FastAPIInstrumentor.instrument_app(served, tracer_provider=provider, exclude_spans=["receive", "send"])
        elif how == "gated":
            tracing.instrument(served, provider)
        return served

    cases = {"plain": ("plain", "00"), "instrumentation, unsampled request": ("instrumented", "00"),
             "sampling gate, unsampled request": ("gated", "00"), "sampling gate, sampled request": ("gated", "01")}
    return {name: asyncio.run(_per_request(app(how), flags)) for name, (how, flags) in cases.items()}


async def _per_request(app: FastAPI, flags: str) -> float:
    traceparent = f"00-{'ab' * 16}-{'cd' * 8}-{flags}".encode()
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/v1/customers/cust_0", "raw_path": b"/v1/customers/cust_0", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8007"), (b"traceparent", traceparent)],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8007)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    for _ in range(RUNS // 10):
        await app(dict(scope), receive, send)
    started = time.perf_counter()
    for _ in range(RUNS):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / RUNS * 1e6


def main(seconds: int = 10) -> None:
    mesh = start_mesh(1, CUSTOMERS, stack=fresh_stack("bench-tracing-off", dapr_config=untraced_configuration()))
    try:
        off = loads(mesh, "off", seconds=seconds)
    finally:
        mesh.stack.down()
    collector = TraceCollector().start()
    mesh = start_mesh(1, CUSTOMERS, stack=fresh_stack("bench-tracing", otlp_endpoint=collector.endpoint))
    try:
        shipped = loads(mesh, "shipped", seconds=seconds)
        everything = loads(mesh, "every request sampled", seconds=seconds, extra_headers=SAMPLED)
        spans = len(collector.spans(SAMPLED["traceparent"].split("-")[1]))
    finally:
        mesh.stack.down()
        collector.stop()
    print(f"\nTracing's cost (2 cores, every process on them; {spans} spans received from the sampled runs):")
    for baseline, *traced in zip(off, shipped, everything, strict=True):
        print(baseline.line())
        for load in traced:
            print(load.line(baseline))
    print("\nThe FastAPI instrumentation's span naming on the service's routes, per request:")
    for path, microseconds in span_naming_microseconds().items():
        print(f"  {path:48} {microseconds:6.1f} us")
    print("A request through a one-route app, in process:")
    for name, microseconds in middleware_microseconds().items():
        print(f"  {name:48} {microseconds:6.1f} us")


if __name__ == "__main__":
    main()
