"""Order and loyalty events through Dapr pub/sub: exactly once in effect, order-independent, dead letters,
and retried while PostgreSQL is down."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devstack.servers import LocalPostgres
from domain.ids import customer_uuid
from tests.e2e.test_dapr_foundation import order_event
from tests.support.service import Service, events_for, wait_for


def segment(service: Service, customer_id: str) -> dict[str, Any]:
    response = service.api("GET", f"/v1/customers/{customer_id}/segment")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"]["segment"])


def wait_orders(service: Service, customer_id: str, count: int) -> dict[str, Any]:
    return dict(wait_for(lambda: (s := segment(service, customer_id))["metrics"]["orderCount"] == count and s,
                         what=f"{count} order(s) counted"))


def dead_letters(service: Service, marker: str) -> list[dict[str, Any]]:
    return [e for e in service.received("customers.deadletter") if marker in str(e)]


def test_the_same_event_twice_and_two_events_for_one_order_count_once(service: Service, db: Any) -> None:
    customer = service.create_customer()
    event = order_event(customer["id"], amount="100.00")
    service.publish("orders.order.completed", event)
    service.publish("orders.order.completed", event)
    same_order = order_event(customer["id"], amount="100.00", order_id=event["data"]["orderId"])
    service.publish("orders.order.completed", same_order)
    service.wait_consumed("orders.order.completed")  # every delivery answered: nothing is still to come
    assert segment(service, customer["id"])["metrics"]["totalSpent"] == 100.0
    # Counted once in the rows the count is committed with: one order, one receipt.
    key = customer_uuid(customer["id"])
    assert db.execute("SELECT count(*) FROM customer_orders WHERE customer_id = %s", (key,)).fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM processed_events WHERE customer_id = %s", (key,)).fetchone() == (1,)


def test_out_of_order_delivery_keeps_the_latest_order_date(service: Service) -> None:
    customer = service.create_customer()
    now = datetime.now(UTC).replace(microsecond=0)
    service.publish("orders.order.completed", order_event(customer["id"], completed_at=now - timedelta(days=1)))
    service.publish("orders.order.completed", order_event(customer["id"], completed_at=now - timedelta(days=5)))
    metrics = wait_orders(service, customer["id"], 2)["metrics"]
    assert metrics["lastOrderDate"] == (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert metrics["daysSinceLastOrder"] == 1


def test_loyalty_points_count_once(service: Service) -> None:
    customer = service.create_customer()
    event: dict[str, Any] = {"eventId": f"evt_{uuid.uuid4().hex}", "eventType": "LoyaltyPointsEarned",
             "data": {"customerId": customer["id"], "points": 250, "reason": "order"}}
    service.publish("loyalty.points.earned", event)
    service.publish("loyalty.points.earned", event)
    service.wait_consumed("loyalty.points.earned")
    assert segment(service, customer["id"])["loyaltyPoints"] == 250


def test_unknown_customer_and_malformed_payloads_go_to_the_dead_letter_topic(service: Service) -> None:
    ghost = f"cust_{uuid.uuid4().hex}"
    service.publish("orders.order.completed", order_event(ghost))
    bad_id = f"evt_bad_{uuid.uuid4().hex[:8]}"
    service.publish("orders.order.completed", {"eventId": bad_id, "data": {"orderId": "o1", "amount": "-5"}})
    wait_for(lambda: dead_letters(service, ghost), what="the unknown customer's event in the dead-letter topic")
    wait_for(lambda: dead_letters(service, bad_id), what="the malformed event in the dead-letter topic")
    log = (service.stack.config.log_dir / "customer-service.log").read_text()
    assert f"customer {ghost} does not exist" in log
    assert "refused a orders.order.completed event to customers.deadletter: malformed" in log


def test_events_wait_out_a_postgres_outage(service: Service, local_postgres: LocalPostgres) -> None:
    customer = service.create_customer()
    local_postgres.stop()
    try:
        service.publish("orders.order.completed", order_event(customer["id"], amount="75.00"))
        wait_for(lambda: "retrying orders.order.completed event" in
                 (service.stack.config.log_dir / "customer-service.log").read_text(), what="a retry")
    finally:
        local_postgres.start()
    metrics = wait_for(lambda: (s := segment(service, customer["id"]))["metrics"]["orderCount"] == 1 and s,
                       timeout=90, what="the event applied after PostgreSQL came back")["metrics"]
    assert metrics["totalSpent"] == 75.0


def test_events_after_an_app_restart_are_delivered_at_once(service: Service) -> None:
    """daprd stops and restarts its subscriptions when the app restarts. The Redis subscriber's old poll
    loop stayed blocked in XREADGROUP and took the next order, which then waited 30 s in the pending list
    for its redelivery (fixed by tools/dapr-runtime/contrib-patches/C0001)."""
    customer = service.create_customer()
    for count in (1, 2):
        service.restart_app()
        published = time.monotonic()
        service.publish("orders.order.completed", order_event(customer["id"]))
        wait_orders(service, customer["id"], count)
        took = time.monotonic() - published
        assert took < 5, f"order {count} after a restart took {took:.1f} s"


def test_segment_changed_is_published_once_per_real_change(service: Service, db: Any) -> None:
    customer = service.create_customer()
    first = order_event(customer["id"], amount="300.00")
    service.publish("orders.order.completed", first)
    wait_orders(service, customer["id"], 1)  # 1 order: still new_customer, no change
    second = order_event(customer["id"], amount="300.00")
    service.publish("orders.order.completed", second)
    service.publish("orders.order.completed", second)
    assert wait_orders(service, customer["id"], 2)["segment"] == "high_value"
    changes = wait_for(lambda: events_for(service, "customers.segment.changed", customer["id"]),
                       what="a segment change event")
    service.publish("orders.order.completed", order_event(customer["id"], amount="300.00"))
    service.wait_consumed("orders.order.completed")
    assert segment(service, customer["id"])["metrics"]["orderCount"] == 3  # still high_value: no event
    # Once, as the outbox has it: events are enqueued in the transaction of the change they announce.
    assert db.execute("SELECT count(*) FROM outbox WHERE customer_id = %s AND topic = 'customers.segment.changed'",
                      (customer_uuid(customer["id"]),)).fetchone() == (1,)
    assert changes[0]["data"]["previous"] == {"tier": "regular", "segment": "new_customer"}
    assert changes[0]["data"]["current"] == {"tier": "regular", "segment": "high_value"}


def test_orders_in_another_currency_count_apart_from_the_usd_totals(service: Service) -> None:
    customer = service.create_customer()
    usd = order_event(customer["id"], amount="100.00")
    eur = order_event(customer["id"], amount="2000.00")
    eur["data"]["currency"] = "EUR"
    service.publish("orders.order.completed", usd)
    service.publish("orders.order.completed", eur)
    metrics = dict(wait_for(lambda: (m := segment(service, customer["id"])["metrics"])["otherCurrencies"]
                            and m["orderCount"] == 1 and m, what="both orders counted"))
    assert metrics["totalSpent"] == 100.0
    assert metrics["otherCurrencies"] == {"EUR": {"orderCount": 1, "totalSpent": 2000.0}}
    assert segment(service, customer["id"])["tier"] == "regular"


def test_metadata_of_any_json_shape_is_the_producers_business(service: Service, db: Any) -> None:
    """An event whose metadata held a number or a list was dead-lettered as malformed."""
    customer = service.create_customer()
    shaped = {**order_event(customer["id"]), "metadata": {"correlationId": "corr_metadata_1", "attempt": 2,
                                                         "tags": ["a", "b"], "nested": {"x": None}}}
    odd = {**order_event(customer["id"]), "metadata": {"correlationId": 42}}
    service.publish("orders.order.completed", shaped)
    service.publish("orders.order.completed", odd)
    wait_orders(service, customer["id"], 2)
    key = customer_uuid(customer["id"])
    assert db.execute("SELECT count(*) FROM processed_events WHERE customer_id = %s", (key,)).fetchone() == (2,)


def refund_event(customer_id: str, order_id: str, amount: str, *, refund_id: str | None = None) -> dict[str, Any]:
    return {"eventId": f"evt_{uuid.uuid4().hex}", "eventType": "OrderRefunded",
            "data": {"orderId": order_id, "customerId": customer_id, "refundId": refund_id or f"ref_{uuid.uuid4().hex}",
                     "amount": amount, "currency": "USD", "refundedAt": datetime.now(UTC).isoformat()}}


def cancellation_event(customer_id: str, order_id: str) -> dict[str, Any]:
    return {"eventId": f"evt_{uuid.uuid4().hex}", "eventType": "OrderCancelled",
            "data": {"orderId": order_id, "customerId": customer_id, "cancelledAt": datetime.now(UTC).isoformat()}}


def points_event(customer_id: str, points: int) -> dict[str, Any]:
    return {"eventId": f"evt_{uuid.uuid4().hex}", "eventType": "LoyaltyPoints",
            "data": {"customerId": customer_id, "points": points, "reason": "e2e"}}


def test_refunds_and_cancellations_bring_the_totals_down_once_even_before_their_orders(service: Service,
                                                                                       db: Any) -> None:
    customer = service.create_customer()
    kept, cancelled = order_event(customer["id"], amount="300.00"), order_event(customer["id"], amount="200.00")
    refund = refund_event(customer["id"], kept["data"]["orderId"], "100.00")
    # The adjustments arrive first: they wait for their orders. The refund comes twice, and again under
    # another event id: it counts once.
    service.publish("orders.order.refunded", refund)
    service.publish("orders.order.refunded", refund)
    service.publish("orders.order.refunded", {**refund, "eventId": f"evt_{uuid.uuid4().hex}"})
    service.publish("orders.order.cancelled", cancellation_event(customer["id"], cancelled["data"]["orderId"]))
    service.wait_consumed("orders.order.refunded")
    service.wait_consumed("orders.order.cancelled")
    assert segment(service, customer["id"])["metrics"]["totalSpent"] == 0.0
    service.publish("orders.order.completed", kept)
    service.publish("orders.order.completed", cancelled)
    service.wait_consumed("orders.order.completed")
    metrics = segment(service, customer["id"])["metrics"]
    assert (metrics["totalSpent"], metrics["orderCount"], metrics["ordersLast6Months"]) == (200.0, 1, 1)
    key = customer_uuid(customer["id"])
    assert db.execute("SELECT kind, amount FROM customer_order_adjustments WHERE customer_id = %s ORDER BY kind",
                      (key,)).fetchall() == [("cancellation", 0), ("refund", 100)]
    assert db.execute("SELECT pending_adjustments FROM customer_segments WHERE customer_id = %s",
                      (key,)).fetchone() == ([],)
    # More than remains of the order: refused with its reason, and nothing changes.
    too_much = refund_event(customer["id"], kept["data"]["orderId"], "200.01")
    service.publish("orders.order.refunded", too_much)
    [refused] = wait_for(lambda: dead_letters(service, too_much["eventId"]), what="the refund dead-lettered")
    assert refused["reason"] == "VALIDATION_FAILED: request validation failed; " \
                                "amount: must not exceed what remains of the order (200.00)"
    assert segment(service, customer["id"])["metrics"]["totalSpent"] == 200.0
    activities = db.execute("SELECT activity_type FROM customer_activities WHERE customer_id = %s "
                            "AND activity_type LIKE 'order_%%' ORDER BY occurred_at", (key,)).fetchall()
    assert sorted(a for (a,) in activities) == ["order_cancelled", "order_completed", "order_completed",
                                                "order_refunded"]
    export = service.api("GET", f"/v1/customers/{customer['id']}/export").json()["data"]["export"]
    assert sorted((a["order_id"], a["kind"]) for a in export["orderAdjustments"]) == sorted(
        [(kept["data"]["orderId"], "refund"), (cancelled["data"]["orderId"], "cancellation")])


def test_redeemed_and_expired_points_bring_the_balance_down(service: Service) -> None:
    customer = service.create_customer()
    service.publish("loyalty.points.redeemed", points_event(customer["id"], 400))  # before the points it spent
    service.publish("loyalty.points.earned", points_event(customer["id"], 600))
    service.publish("loyalty.points.expired", points_event(customer["id"], 150))
    for topic in ("loyalty.points.redeemed", "loyalty.points.earned", "loyalty.points.expired"):
        service.wait_consumed(topic)
    assert segment(service, customer["id"])["loyaltyPoints"] == 50


def test_orders_waiting_for_a_rate_count_in_usd_once_an_admin_sets_it(service: Service, db: Any) -> None:
    customer = service.create_customer()
    chf = order_event(customer["id"], amount="800.00")
    chf["data"]["currency"] = "CHF"
    service.publish("orders.order.completed", chf)
    service.wait_consumed("orders.order.completed")
    assert segment(service, customer["id"])["metrics"]["otherCurrencies"] == {
        "CHF": {"orderCount": 1, "totalSpent": 800.0}}
    refused = service.api("PUT", "/v1/exchange-rates/CHF", json={"usdPerUnit": "0", "effectiveDate": "2026-12-01"})
    assert (refused.status_code, refused.json()["error"]["details"][0]["field"]) == (400, "usdPerUnit")
    set_rate = service.api("PUT", "/v1/exchange-rates/CHF", json={"usdPerUnit": "1.25", "effectiveDate": "2026-12-01"})
    assert set_rate.status_code == 200, set_rate.text
    assert set_rate.json()["data"]["exchangeRate"] == {**set_rate.json()["data"]["exchangeRate"], "currency": "CHF",
                                                       "usdPerUnit": "1.25", "setBy": "svc:e2e-admin"}
    listed = service.api("GET", "/v1/exchange-rates").json()["data"]["exchangeRates"]
    assert [r["usdPerUnit"] for r in listed if r["currency"] == "CHF"] == ["1.25"]
    service.restart_app_with(SEGMENT_UPDATE_INTERVAL="1")  # the sweep counts waiting orders
    try:
        metrics = dict(wait_for(lambda: (m := segment(service, customer["id"])["metrics"])["orderCount"] == 1 and m,
                                what="the CHF order counted in USD"))
    finally:
        service.restart_app_with()
    assert (metrics["totalSpent"], metrics["otherCurrencies"]) == (1000.0, {})
    assert db.execute("SELECT usd_rate FROM customer_orders WHERE order_id = %s",
                      (chf["data"]["orderId"],)).fetchone() == (Decimal("1.25"),)
    # A later order in CHF counts at once, at the rate.
    service.publish("orders.order.completed", {**order_event(customer["id"], amount="80.00"),
                                               "data": {**chf["data"], "orderId": f"ord_{uuid.uuid4().hex}",
                                                        "amount": "80.00"}})
    service.wait_consumed("orders.order.completed")
    assert segment(service, customer["id"])["metrics"]["totalSpent"] == 1100.0
