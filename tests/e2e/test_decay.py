"""Segment decay by reminders: through the real scheduler, surviving an app restart, one event per change.

The service runs with a fast clock for this module (6 days pass every wall second, from a fixed anchor
so a restarted process agrees on the date), and the periodic sweep is an hour away, so only the
actor's reminders can move the customer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.service import Service, events_for, wait_for

DAYS_PER_SECOND = 6
CLOCK = {"CLOCK_RATE": str(DAYS_PER_SECOND * 86400)}


@pytest.fixture(scope="module")
def fast_clock(service: Service) -> Iterator[dict[str, str]]:
    settings = {**CLOCK, "CLOCK_ANCHOR": str(time.time())}
    service.restart_app_with(**settings)
    yield settings
    service.restart_app_with()


def segment_of(service: Service, customer_id: str) -> str:
    """The segment now; "unanswered" while a restarted app or sidecar is not serving yet (polled again)."""
    response = service.api("GET", f"/v1/customers/{customer_id}/segment")
    return str(response.json()["data"]["segment"]["segment"]) if response.status_code == 200 else "unanswered"


def transitions(service: Service, customer_id: str) -> list[tuple[str, str]]:
    return [(e["data"]["previous"]["segment"], e["data"]["current"]["segment"])
            for e in events_for(service, "customers.segment.changed", customer_id)]


def test_reminders_move_a_customer_to_at_risk_and_churned_across_restarts(
        service: Service, fast_clock: dict[str, str]) -> None:
    customer = service.create_customer()
    assert customer["segment"]["segment"] == "new_customer"

    # Day 30 (5 s): no longer new, and with no orders not regular_customer either: unsegmented.
    wait_for(lambda: segment_of(service, customer["id"]) == "unsegmented", timeout=15,
             what="the new_customer boundary")
    # Day 90 (15 s): at_risk.
    wait_for(lambda: segment_of(service, customer["id"]) == "at_risk", timeout=20, what="the at_risk boundary")

    # The churned reminder lives in Dapr's scheduler, not in the app or its sidecar.
    service.restart_app_with(**fast_clock)
    service.restart_sidecar()

    # Day 180 (30 s): churned.
    wait_for(lambda: segment_of(service, customer["id"]) == "churned", timeout=30, what="the churned boundary")
    changes = wait_for(lambda: len(found := transitions(service, customer["id"])) >= 3 and found,
                       what="three segment change events")
    assert changes == [("new_customer", "unsegmented"), ("unsegmented", "at_risk"),
                       ("at_risk", "churned")]
    view: dict[str, Any] = service.api("GET", f"/v1/customers/{customer['id']}/segment").json()["data"]["segment"]
    assert view["nextReviewAt"] is None  # nothing left to decay to


def test_the_periodic_sweep_catches_a_missed_reminder(service: Service, fast_clock: dict[str, str]) -> None:
    service.restart_app_with(**fast_clock, SEGMENT_UPDATE_INTERVAL="1")
    try:
        customer = service.create_customer()
        deleted = service.http.delete(
            f"{service.dapr}/v1.0/actors/CustomerActor/{customer['id']}/reminders/segment-review")
        assert deleted.status_code == 204
        # With its reminder gone, only the SEGMENT_UPDATE_INTERVAL sweep can move it past day 90.
        wait_for(lambda: segment_of(service, customer["id"]) == "at_risk", timeout=30,
                 what="the sweep to review the customer")
    finally:
        service.restart_app_with(**fast_clock)
