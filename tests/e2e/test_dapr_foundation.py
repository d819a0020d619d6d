"""The things everything else stands on, each failing if Dapr is not really in the path: actors placed
by daprd and read from PostgreSQL, reminders fired by the scheduler, pub/sub delivered by daprd."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.ids import customer_uuid
from persistence.redis_keys import profile_key
from tests.support.service import Service, wait_for


def order_event(customer_id: str, *, amount: str = "120.00", completed_at: datetime | None = None,
                order_id: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    return {
        "eventId": event_id or f"evt_{uuid.uuid4().hex}",
        "eventType": "OrderCompleted",
        "data": {"orderId": order_id or f"ord_{uuid.uuid4().hex[:12]}", "customerId": customer_id,
                 "amount": amount, "currency": "USD",
                 "completedAt": (completed_at or datetime.now(UTC)).isoformat()},
    }


def test_an_actor_placed_anew_after_an_app_restart_reads_the_record(service: Service, db: Any) -> None:
    """The actor's working copy lives in its memory and comes from PostgreSQL when daprd places it: after a
    restart, what the record says (here changed behind the service's back) is what the new activation
    serves; Dapr keeps no copy of the customer."""
    customer = service.create_customer(profile={"firstName": "Grace", "lastName": "Hopper"})
    updated = service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"lastName": "H."}})
    assert updated.status_code == 200
    assert service.actor_state(customer["id"], "customer").status_code == 204  # no Dapr copy

    service.restart_app()  # every actor of the old process is gone
    db.execute("UPDATE customers SET first_name = 'Recorded' WHERE id = %s", (customer_uuid(customer["id"]),))
    service.stack.redis_client().delete(profile_key(customer["id"]))

    response = service.api("GET", f"/v1/customers/{customer['id']}")
    assert response.status_code == 200
    profile = response.json()["data"]["customer"]["profile"]
    assert (profile["firstName"], profile["lastName"]) == ("Recorded", "H.")
    assert response.headers["ETag"] == '"2"'


def test_message_published_to_pubsub_reaches_the_subscription(service: Service) -> None:
    customer = service.create_customer()
    service.publish("orders.order.completed", order_event(customer["id"], amount="250.00"))

    def counted() -> bool:
        response = service.api("GET", f"/v1/customers/{customer['id']}/segment")
        return response.status_code == 200 and response.json()["data"]["segment"]["metrics"]["orderCount"] == 1

    wait_for(counted, what="the order event to reach the actor")
    segment = service.api("GET", f"/v1/customers/{customer['id']}/segment").json()["data"]["segment"]
    assert segment["metrics"]["totalSpent"] == 250.0


def test_reminder_fires_through_the_scheduler_and_changes_the_segment(service: Service, db: Any) -> None:
    customer = service.create_customer()
    # The last order is 90 days old in 15 seconds (room for a loaded machine to apply it first): the
    # actor's reminder for the at_risk boundary is due then.
    almost_at_risk = datetime.now(UTC) - timedelta(days=90) + timedelta(seconds=15)
    service.publish("orders.order.completed", order_event(customer["id"], completed_at=almost_at_risk))

    def segment() -> str:
        response = service.api("GET", f"/v1/customers/{customer['id']}/segment")
        return str(response.json()["data"]["segment"]["segment"]) if response.status_code == 200 else "unanswered"

    def recorded() -> tuple[int, str]:
        row = db.execute("SELECT order_count, segment FROM customer_segments WHERE customer_id = %s",
                         (customer_uuid(customer["id"]),)).fetchone()
        return int(row[0]), str(row[1])

    wait_for(lambda: recorded()[0] == 1, what="the order to be applied")
    assert segment() == "new_customer"
    wait_for(lambda: segment() == "at_risk", timeout=45, what="the reminder to move the customer to at_risk")
    assert recorded() == (1, "at_risk")


def test_the_app_is_ready_only_while_its_sidecar_is(service: Service) -> None:
    """Readiness covers daprd: without it no actor call, publish or invocation succeeds, so Kubernetes
    must stop routing to the pod (liveness stays up: restarting the app would not bring daprd back)."""
    ready = f"http://127.0.0.1:{service.app.ports.app}/health/ready"
    live = f"http://127.0.0.1:{service.app.ports.app}/health/live"
    first = service.http.get(ready)
    assert first.status_code == 200
    assert first.json()["checks"] == {"dapr": "ok", "postgres": "ok", "redis": "ok"}
    service.stack.process(f"{service.app.name}-daprd").stop()
    try:
        without = service.http.get(ready)
        assert without.status_code == 503
        assert without.json()["checks"]["dapr"] == "unavailable"
        assert service.http.get(live).status_code == 200
    finally:
        service.stack.start_sidecar(service.app)
        service.stack.wait_healthy(service.app)
    assert service.http.get(ready).status_code == 200
