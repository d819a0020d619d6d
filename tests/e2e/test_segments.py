"""Segment views, the admin override, counts over all customers, analytics, upstream summaries."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.processes import ManagedProcess, free_port, http_ok
from devstack.servers import LocalPostgres
from devstack.stack import REPO_ROOT
from persistence.redis_keys import segment_key
from tests.e2e.test_dapr_foundation import order_event
from tests.e2e.test_events_in import wait_orders
from tests.support.service import Service, events_for, wait_for
from tests.support.tokens import bearer


def test_segment_view_has_metrics_qualifications_and_next_tier(service: Service) -> None:
    customer = service.create_customer()
    for _ in range(5):
        service.publish("orders.order.completed", order_event(customer["id"], amount="250.00"))
    view = wait_orders(service, customer["id"], 5)
    assert view["tier"] == "premium"
    assert view["metrics"]["totalSpent"] == 1250.0
    assert view["metrics"]["averageOrderValue"] == 250.0
    assert view["qualifications"]["premiumTier"]["qualified"] is True
    assert view["qualifications"]["premiumTier"]["achievedAt"]
    assert view["nextTier"]["tier"] == "vip"
    assert view["nextTier"]["progress"] == 12.5
    assert view["nextTier"]["remaining"] == 8750.0


def test_admin_override_is_recorded_visible_and_clearable(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/segment"
    forbidden = service.api("PUT", path, token=bearer(customer["id"], "customers:write"),
                            json={"tier": "vip", "reason": "key account"})
    assert forbidden.status_code == 403
    response = service.api("PUT", path, json={"tier": "vip", "reason": "key account"})
    assert response.status_code == 200
    view = response.json()["data"]["segment"]
    assert view["tier"] == "vip"
    assert view["computed"]["tier"] == "regular"
    assert view["override"]["reason"] == "key account"
    assert view["override"]["setBy"] == "svc:e2e-admin"
    assert service.api("GET", f"/v1/customers/{customer['id']}").json()["data"]["customer"]["segment"]["tier"] == "vip"

    cleared = service.api("DELETE", f"{path}/override")
    assert cleared.json()["data"]["segment"]["tier"] == "regular"
    assert cleared.json()["data"]["segment"]["override"] is None
    changes = wait_for(lambda: len(found := events_for(service, "customers.segment.changed", customer["id"])) >= 2
                       and found, what="two segment changes")
    assert [c["data"]["reason"] for c in changes] == ["manual_override", "override_cleared"]
    assert service.api("PUT", path, json={"reason": "nothing to set"}).status_code == 400


def test_segment_counts_cover_every_customer(service: Service, db: Any) -> None:
    service.create_customer()
    response = service.api("GET", "/v1/customers/segments")
    assert response.status_code == 200
    counts = response.json()["data"]["segments"]
    expected = db.execute("SELECT count(*) FROM customer_segments s JOIN customers c ON c.id = s.customer_id "
                          "WHERE c.status <> 'deleted'").fetchone()[0]
    assert counts["total"] == expected
    assert sum(counts["segments"].values()) == expected
    assert counts["tiers"]["regular"] >= 1
    assert service.api("GET", "/v1/customers/segments",
                       token=bearer("svc:order-service", "customers:read")).status_code == 403


def test_analytics_summarise_activities_and_order_cadence(service: Service) -> None:
    customer = service.create_customer()
    service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"firstName": "Ana"}})
    service.api("POST", f"/v1/customers/{customer['id']}/addresses",
                json={"street": "1 Road", "city": "Paris", "zipCode": "75001", "country": "FR"})
    service.publish("orders.order.completed", order_event(customer["id"]))
    wait_orders(service, customer["id"], 1)
    analytics = service.api("GET", f"/v1/customers/{customer['id']}/analytics").json()["data"]["analytics"]
    assert analytics["activityCounts"]["last30Days"] == {
        "address_added": 1, "order_completed": 1, "profile_updated": 1, "registration": 1}
    assert analytics["orders"]["count"] == 1
    assert analytics["lastActivityAt"]


def test_orders_summary_from_the_order_service_then_its_cached_answer_then_our_metrics(
        service: Service, order_service: Any) -> None:
    customer, never_asked = service.create_customer(), service.create_customer()
    path = f"/v1/customers/{customer['id']}/orders/summary"
    answered = service.api("GET", path).json()["data"]
    assert answered["source"] == "order-service"
    assert answered["summary"]["orderCount"] == 42

    control = f"http://127.0.0.1:{order_service.ports.http}/v1.0/invoke/order-service/method/control"
    service.http.put(control, json={"delay_ms": 1000}).raise_for_status()
    try:
        slow = service.api("GET", path).json()["data"]
        assert slow["source"] == "order-service (cached)"  # the spec's "use cached order data"
        assert slow["summary"]["orderCount"] == 42
        assert slow["cachedAt"]
    finally:
        service.http.put(control, json={"delay_ms": 0}).raise_for_status()

    service.stack.stop_dapr_app("order-service")
    try:
        assert service.api("GET", path).json()["data"]["source"] == "order-service (cached)"
        down = service.api("GET", f"/v1/customers/{never_asked['id']}/orders/summary").json()["data"]
        assert down["source"] == "customer-service"  # no answer was ever cached for this one
        assert down["summary"]["orderCount"] == 0
    finally:
        service.stack.start_dapr_app(order_service)
    wait_for(lambda: service.api("GET", path).json()["data"]["source"] == "order-service",
             what="the restarted Order Service to answer again")


def test_days_since_last_order_is_counted_when_read(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/segment"
    service.publish("orders.order.completed", order_event(customer["id"], completed_at=datetime.now(UTC)))
    wait_for(lambda: service.api("GET", path).json()["data"]["segment"]["metrics"]["orderCount"] == 1,
             what="the order")
    # Age the cached view by ten days, as if it had been cached then and never refreshed.
    store = service.stack.redis_client()
    key = segment_key(customer["id"])
    view = json.loads(store.get(key) or b"{}")
    view["metrics"]["lastOrderDate"] = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    view["metrics"]["daysSinceLastOrder"] = 0
    store.set(key, json.dumps(view), ex=600)
    assert service.api("GET", path).json()["data"]["segment"]["metrics"]["daysSinceLastOrder"] == 10


def test_loyalty_falls_back_to_the_tracked_points(service: Service) -> None:
    customer = service.create_customer()
    response = service.api("GET", f"/v1/customers/{customer['id']}/loyalty").json()["data"]
    assert response == {"source": "customer-service", "loyalty": {"customerId": customer["id"], "points": 0}}


def test_an_override_that_cannot_be_stored_is_segment_update_failed(service: Service,
                                                                    local_postgres: LocalPostgres) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/segment"
    local_postgres.stop()
    try:
        response = service.api("PUT", path, json={"tier": "vip", "reason": "key account"})
    finally:
        local_postgres.start()
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "SEGMENT_UPDATE_FAILED"
    assert response.headers["Retry-After"] == "1"
    assert service.api("GET", path).json()["data"]["segment"]["tier"] == "regular"


def test_an_upstream_outside_the_mesh_is_reached_through_an_http_endpoint(service: Service,
                                                                         order_service: Any) -> None:
    """ORDER_SERVICE_URL set: the service's daprd gets an HTTPEndpoint named order-service, and the same
    invocation reaches that URL. The Order Service's Dapr app is stopped meanwhile, so only the URL
    can answer (else the summary would fall back to our own metrics)."""
    outside = ManagedProcess("order-service-outside", service.stack.config.run_dir, service.stack.config.log_dir)
    port = free_port()
    outside.start([sys.executable, "-m", "tests.support.standin", "tests.support.order_service:app"],
                  env={"APP_PORT": str(port)}, cwd=REPO_ROOT)
    service.stack.stop_dapr_app("order-service")
    try:
        outside.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health/live"), timeout=30, what="answering")
        service.stack.config.upstreams = {"order-service": f"http://127.0.0.1:{port}"}
        service.restart_sidecar()
        customer = service.create_customer()
        summary = wait_for(lambda: (r := service.api("GET", f"/v1/customers/{customer['id']}/orders/summary"))
                           .status_code == 200 and r.json()["data"], what="a summary")
        assert summary["source"] == "order-service"
        assert summary["summary"]["orderCount"] == 42
    finally:
        service.stack.config.upstreams = {}
        service.restart_sidecar()
        outside.stop()
        service.stack.start_dapr_app(order_service)
