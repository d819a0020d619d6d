"""python -m devstack up|down|status — the local stack behind scripts/up and scripts/down."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from devstack.processes import StackError, http_ok
from devstack.stack import DaprApp, SidecarPorts, Stack, StackConfig, service_argv


def customer_service_app() -> DaprApp:
    env = os.environ
    app_port = int(env.get("SERVICE_PORT", "8007"))
    ports = SidecarPorts(app=app_port, http=int(env.get("DAPR_HTTP_PORT", "3500")),
                         grpc=int(env.get("DAPR_GRPC_PORT", "23501")),
                         internal_grpc=int(env.get("DAPR_INTERNAL_GRPC_PORT", "23502")),
                         metrics=int(env.get("DAPR_METRICS_PORT", "29090")))
    return DaprApp(app_id=env.get("SERVICE_NAME", "customer-service"), ports=ports,
                   app_argv=service_argv(),
                   app_env={"SERVICE_PORT": str(app_port)})


def main() -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stack = Stack(StackConfig.for_local_run())
    app = customer_service_app()
    try:
        if args.command == "up":
            stack.up([app])
            print(f"""
customer-service is running.
  API (direct):        http://127.0.0.1:{app.ports.app}/v1/customers   (OpenAPI: /docs, /openapi.json)
  API through daprd:   http://127.0.0.1:{app.ports.http}/v1.0/invoke/{app.app_id}/method/v1/customers
                       (send dapr-api-token: $(cat {stack.config.data_dir}/secrets/dapr-api-token))
  PostgreSQL:          {stack.database_url}
  Redis:               {stack.redis_url}
  Logs:                {stack.config.log_dir}/
  Stop:                scripts/down""")
        elif args.command == "down":
            stack.down()
        else:
            for name in ("sentry", "placement", "scheduler", app.app_id, f"{app.app_id}-daprd", "redis"):
                pid = stack.process(name).pid()
                print(f"{name:24} {f'running (pid {pid})' if pid else 'stopped'}")
            print(f"{'daprd healthy':24} {http_ok(f'http://127.0.0.1:{app.ports.http}/v1.0/healthz')}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
