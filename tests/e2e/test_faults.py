"""Faults under load (writers and inbound orders through daprd), then the books: nothing acknowledged
lost, no event lost or counted twice, every committed change's events published, no stale view.

The CI subset of `python -m bench.faults` (which adds placement, the scheduler and a second replica).
`kill -9` of the app is where Dapr 1.18.2 could answer a request sent to the dying app with a false
200 (Dapr patch 0003); every 200 of these runs must be this service's envelope with its ETag.
"""

from __future__ import annotations

import uuid

import pytest

from tests.support.faults import CLEAN, FAULTS, Fault, rolling_update, stop_postgres, under_load
from tests.support.service import Service, wait_for


def test_kill_9_of_the_app_loses_nothing_and_acknowledges_nothing_falsely(service: Service) -> None:
    books = under_load(service, FAULTS["kill -9 app"]).books()
    assert books.writes_acknowledged > 16 * 4, books
    assert books.writes_failed > 0, "the crash was not under load: no request failed"
    assert books.damage == CLEAN, books.details


def test_a_rolling_update_fails_no_request_and_loses_nothing(service: Service) -> None:
    """Both replicas replaced in turn under the load, writes through a caller's daprd: no request fails,
    no acknowledged write or order is lost, none is applied twice. What it takes: the old replica's daprd
    stops first (placement moves its actors; its in-flight calls finish) and the app after it, and the
    caller retries a call that never reached a replica (components/resiliency-callers.yaml; without it,
    426 of 3,391 writes failed in one run)."""
    run, stops = rolling_update(service)
    books = run.books()
    assert len(stops) == 2, stops
    assert books.writes_acknowledged > 16 * 4, books
    assert books.writes_failed == 0, books
    assert books.orders_accepted > 0, books
    assert books.damage == CLEAN, books.details


def test_kill_9_of_daprd_loses_nothing(service: Service) -> None:
    books = under_load(service, FAULTS["kill -9 daprd"]).books()
    assert books.writes_acknowledged > 16 * 4, books
    assert books.damage == CLEAN, books.details


def test_redis_lost_with_its_data_rebuilds_from_postgresql(service: Service) -> None:
    """Actor state, the view cache and the pub/sub streams go; PostgreSQL is the record. Orders
    published before the loss and not yet delivered are lost with the stream (the producer's outbox
    would publish them again), so only orders accepted after Redis is back are counted."""
    books = under_load(service, FAULTS["redis wiped"]).books()
    assert books.orders_accepted > 0, books
    assert books.damage == CLEAN, books.details


def test_postgresql_down_for_15_s_refuses_writes_and_loses_no_event(service: Service) -> None:
    """Writes get 503 with Retry-After; events wait, past the pub/sub's processingTimeout, and are all
    applied once PostgreSQL is back (none moved to a dead-letter topic by daprd)."""
    if service.stack.local_postgres is None:
        pytest.skip("needs the project's own PostgreSQL process to stop and start it")
    # Longer than a delivery's retries may last (processingTimeout, 15 s).
    run = under_load(service, Fault(stop_postgres(15)))
    refused = run.probes["write"]
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    books = run.books()
    assert books.writes_failed > 0, books
    assert books.damage == CLEAN, books.details


def test_with_redis_down_reads_and_writes_still_answer_from_postgresql(service: Service) -> None:
    """Redis holds the view cache, sessions, rate limits, the pub/sub and Dapr's actor state store; none is
    on the path of a read or a write, which the actor serves from its working copy and PostgreSQL (the
    cache and the limiter fail open, the outbox waits for the pub/sub)."""
    redis = service.stack.local_redis
    if redis is None:
        pytest.skip("needs the project's own Redis process to stop and start it")
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    redis.stop()
    try:
        answers = [service.api("GET", path).status_code,
                   service.api("PUT", path, json={"profile": {"lastName": "NoRedis"}}).status_code,
                   service.api("GET", f"{path}/segment").status_code,
                   service.api("POST", "/v1/customers", json={
                       "email": f"no-redis-{uuid.uuid4().hex[:8]}@example.com", "password": "Sturdy-Passw0rd!"}
                               ).status_code]
    finally:
        redis.start()
    assert answers == [200, 200, 200, 201]
    # The view cached before the outage came back with Redis's append-only file; it is dropped, not served.
    wait_for(lambda: service.api("GET", path).json()["data"]["customer"]["profile"]["lastName"] == "NoRedis",
             timeout=5, what="the change, not the view cached before the outage")
