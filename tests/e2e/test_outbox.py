"""An event whose write committed is delivered even if the process dies before publishing it."""

from __future__ import annotations

from typing import Any

import psycopg

from domain.ids import customer_uuid
from persistence.outbox import RELAY_LOCK_ID
from tests.support.service import Service, events_for, wait_for, wait_for_events


def test_event_committed_before_a_crash_is_published_after_restart(service: Service, db: Any) -> None:
    # Holding the relay's advisory lock keeps it from publishing: the write commits, the event waits.
    with psycopg.connect(service.stack.database_url) as blocker:
        blocker.execute("SELECT pg_advisory_lock(%s)", (RELAY_LOCK_ID,))
        customer = service.create_customer()
        pending = db.execute("SELECT count(*) FROM outbox WHERE customer_id = %s AND published_at IS NULL",
                             (customer_uuid(customer["id"]),)).fetchone()[0]
        assert pending == 1
        service.kill_app()  # SIGKILL: no shutdown hook runs
        assert events_for(service, "customers.customer.created", customer["id"]) == []
        blocker.execute("SELECT pg_advisory_unlock(%s)", (RELAY_LOCK_ID,))

    service.restart_app()
    [event] = wait_for_events(service, "customers.customer.created", customer["id"])
    assert event["data"]["email"] == customer["email"]
    wait_for(lambda: db.execute("SELECT published_at IS NOT NULL FROM outbox WHERE customer_id = %s",
                                (customer_uuid(customer["id"]),)).fetchone()[0], what="the row marked published")


def test_an_event_the_pub_sub_refuses_is_dead_lettered_and_the_rest_flow_on(service: Service, db: Any) -> None:
    customer = service.create_customer()
    key = customer_uuid(customer["id"])
    poisoned = f"evt_poison_{customer['id'][5:17]}"
    # A topic customer-service may not publish (publishingScopes): daprd refuses it every time.
    db.execute("INSERT INTO outbox (event_id, customer_id, topic, payload) VALUES (%s, %s, %s, %s)",
               (poisoned, key, "orders.order.completed", '{"data": {"customerId": "x"}}'))
    updated = service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"firstName": "After"}})
    assert updated.status_code == 200
    wait_for_events(service, "customers.profile.updated", customer["id"])
    reason = wait_for(lambda: db.execute("SELECT reason FROM outbox_dead_letters WHERE event_id = %s",
                                         (poisoned,)).fetchone(), what="the refused row dead-lettered")[0]
    assert "403" in reason
    assert db.execute("SELECT count(*) FROM outbox WHERE event_id = %s", (poisoned,)).fetchone()[0] == 0
