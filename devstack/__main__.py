"""python -m devstack up|down|status — the local stack behind scripts/up and scripts/down.

`up` runs every app of dapr.yaml (the dapr CLI's run file) on the file's ports, with PostgreSQL,
Redis, sentry, placement and scheduler; `--replicas N` adds customer-service replicas (free ports,
each with its daprd). `up --storage` starts only PostgreSQL and Redis (migrated) and prints what to
export before `dapr run -f .`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from devstack.processes import StackError, free_port, http_ok
from devstack.runfile import read_run_file
from devstack.stack import SERVICE_APP_ID, DaprApp, SidecarPorts, Stack, StackConfig

# Listed first by `status`, before the apps' processes.
SHARED_PROCESSES = ("sentry", "placement", "scheduler", "redis")


def run_file_apps(replicas: int) -> tuple[DaprApp, list[DaprApp]]:
    """customer-service as dapr.yaml runs it, and every app to start: the run file's, plus replicas."""
    apps = [DaprApp.of(run) for run in read_run_file().values()]
    service = next(app for app in apps if app.app_id == SERVICE_APP_ID)
    for n in range(2, replicas + 1):
        ports = SidecarPorts.free()
        apps.append(replace(service, ports=ports, replica=n,
                            app_env={"SERVICE_PORT": str(ports.app), "METRICS_PORT": str(free_port())}))
    return service, apps


def main() -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--replicas", type=int, default=1, help="customer-service replicas (up)")
    parser.add_argument("--storage", action="store_true", help="only PostgreSQL and Redis, for the dapr CLI (up)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stack = Stack(StackConfig.for_local_run())
    service, apps = run_file_apps(args.replicas)
    try:
        if args.command == "up" and args.storage:
            stack.start_storage()
            stack.migrate()
            print(f"""
PostgreSQL and Redis are running. Before `dapr run -f .` (placement and scheduler from `dapr init`):
  export DATABASE_URL={stack.database_url}
  export REDIS_URL={stack.redis_url}
  export CUSTOMER_SERVICE_REDIS_HOST={stack.redis_host()}
  export DAPR_API_TOKEN=$(cat {stack.config.data_dir}/secrets/dapr-api-token)
  export APP_API_TOKEN=$(cat {stack.config.data_dir}/secrets/app-api-token)""")
        elif args.command == "up":
            stack.up(apps)
            print(f"""
customer-service is running ({len([a for a in apps if a.app_id == SERVICE_APP_ID])} replica(s)), with {
                ', '.join(sorted({a.app_id for a in apps} - {SERVICE_APP_ID}))} beside it (dapr.yaml).
  API (direct):        http://127.0.0.1:{service.ports.app}/v1/customers   (OpenAPI: /docs, /openapi.json)
  API through daprd:   http://127.0.0.1:{service.ports.http}/v1.0/invoke/{service.app_id}/method/v1/customers
                       (send dapr-api-token: $(cat {stack.config.data_dir}/secrets/dapr-api-token))
  PostgreSQL:          {stack.database_url}
  Redis:               {stack.redis_url}
  Logs:                {stack.config.log_dir}/
  Stop:                scripts/down""")
        elif args.command == "down":
            stack.down()
        else:
            run_dir = stack.config.run_dir
            names = sorted(p.stem for p in run_dir.glob("*.pid")) if run_dir.exists() else []
            for name in (*SHARED_PROCESSES, *(n for n in names if n not in SHARED_PROCESSES)):
                pid = stack.process(name).pid()
                print(f"{name:28} {f'running (pid {pid})' if pid else 'stopped'}")
            print(f"{'daprd healthy':28} {http_ok(f'http://127.0.0.1:{service.ports.http}/v1.0/healthz')}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
