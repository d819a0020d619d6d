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
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.__main__ import Mesh, start_mesh
from bench.cpu import cpu_seconds, per_request
from bench.stacks import fresh_stack
from bench.wrk import Load, script, wrk
from devstack.stack import REPO_ROOT, SERVICE_APP_ID, run_file_app
from tests.support.collector import TraceCollector

CUSTOMERS = 100
MODES = ("get", "put")
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


if __name__ == "__main__":
    main()
