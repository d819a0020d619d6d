"""Every fault the service depends on surviving, each injected under load, then the books.

    .venv/bin/python -m bench.faults [--only NAME ...]

Starts its own stack (.data/bench-faults: two customer-service replicas, each with its daprd, sharing
placement, scheduler, Redis and PostgreSQL, plus the Order Service stand-in and the recorder). For each
scenario: 16 writers (one per customer, one PUT at a time) and an order publisher (20 orders/s with
known ids) run through daprd; the fault is injected 2 s in; the stack recovers as a supervisor would
restart what was killed; the load runs 2 s more; then the books (tests/support/faults.py): writes
acknowledged and failed, false acknowledgements, acknowledged writes missing, orders accepted / lost /
double-applied, outbox rows never published, stale views, and the time until every customer answered
again. tests/e2e/test_faults.py is the CI subset.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import httpx

from bench.stacks import fresh_stack
from devstack.stack import SidecarPorts
from tests.support.faults import FAULTS, Fault, restart_scheduler, rolling_update, under_load
from tests.support.service import Service, service_app, start_service, wait_for

# The decay check runs the service on a fast clock: 6 days a wall second, so a new customer's
# 30-day boundary is 5 s away, and only the segment-review reminder (the sweep is an hour away) moves it.
FAST_CLOCK = {"CLOCK_RATE": str(6 * 86400)}


def decay_after_scheduler_restart(service: Service) -> str:
    """A customer created before the scheduler restarts still decays by its reminder afterwards."""
    service.restart_app_with(**FAST_CLOCK, CLOCK_ANCHOR=str(time.time()))
    try:
        customer = service.create_customer()
        restart_scheduler(service, [])
        segment = wait_for(lambda: (r := service.api("GET", f"/v1/customers/{customer['id']}/segment"))
                           .status_code == 200 and r.json()["data"]["segment"]["segment"] != "new_customer"
                           and r.json()["data"]["segment"]["segment"], timeout=60, what="the reminder's review")
        return f"reminder fired after the scheduler restart: new_customer -> {segment}"
    finally:
        service.restart_app_with()


def second_replica_killed(service: Service) -> str:
    """Two replicas; kill -9 one (app and daprd) under load: every customer answers again, nothing lost."""
    second = replace(service_app(SidecarPorts.free()), replica=2)
    service.stack.start_dapr_app(second)

    def kill_second(service: Service, customers: list[str]) -> dict[str, httpx.Response]:
        service.stack.process(f"{second.name}-daprd").kill()
        service.stack.process(second.name).kill()
        return {}

    run = under_load(service, Fault(kill_second))
    return f"every customer answering {run.answering_seconds:.1f} s after the kill; {run.books()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.faults")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    stack = fresh_stack("bench-faults")
    stack.start_storage()
    stack.migrate()
    try:
        with httpx.Client(timeout=30, headers=stack.config.dapr_headers) as http:
            service = start_service(stack, http)
            rows = []
            for name, fault in FAULTS.items():
                if args.only and name not in args.only:
                    continue
                run = under_load(service, fault)
                books, answering = run.books(), run.answering_seconds
                rows.append((name, books, answering))
                seen = ", ".join(f"a {kind} answered {r.status_code}" + (
                    f" (Retry-After {r.headers['retry-after']})" if "retry-after" in r.headers else "")
                    for kind, r in run.probes.items())
                print(f"{name}: {books}  answering again after {answering:.1f} s"
                      + (f"; during the fault {seen}" if seen else ""), flush=True)
            print("\n" + f"{'fault':26} {'acked':>6} {'failed':>6} {'false':>6} {'missing':>7} {'orders':>7} "
                  f"{'lost':>5} {'twice':>5} {'unpub':>5} {'stale':>5} {'back in':>8} {'slowest order':>14}")
            for name, b, answering in rows:
                print(f"{name:26} {b.writes_acknowledged:6} {b.writes_failed:6} {len(b.false_acknowledgements):6} "
                      f"{b.acknowledged_writes_missing:7} {b.orders_accepted:7} {b.orders_lost:5} "
                      f"{b.orders_double_applied:5} {b.outbox_unpublished:5} {b.stale_reads:5} {answering:7.1f}s "
                      f"{b.slowest_order_seconds:13.1f}s")
            if not args.only or "scheduler decay" in args.only:
                print(decay_after_scheduler_restart(service))
            if not args.only or "second replica" in args.only:
                print(second_replica_killed(service))
            if not args.only or "rollout" in args.only:
                run, stops = rolling_update(service)
                books = run.books()
                print(f"rolling update ({'; '.join(stops)}): {books.writes_acknowledged} writes acknowledged, "
                      f"{books.writes_failed} failed, slowest write {books.slowest_write_seconds:.2f} s, slowest "
                      f"order {books.slowest_order_seconds:.1f} s; {books}")
    finally:
        stack.down()


if __name__ == "__main__":
    main()
