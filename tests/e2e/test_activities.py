"""The activity timeline through daprd (issue 22): newest first, filters, keyset pages, who may read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.ids import new_customer_id
from tests.e2e.test_dapr_foundation import order_event
from tests.support.service import Service, wait_for
from tests.support.tokens import bearer

ADDRESS = {"type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"}


def timeline(service: Service, customer_id: str, query: str = "", **token: str) -> dict[str, Any]:
    response = service.api("GET", f"/v1/customers/{customer_id}/activities{query}", token=token or None)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_the_timeline_lists_what_happened_newest_first_in_pages_and_by_type(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    assert service.api("PUT", path, json={"profile": {"lastName": "Byron"}}).status_code == 200
    assert service.api("POST", f"{path}/addresses", json=ADDRESS).status_code == 201
    service.publish("orders.order.completed", order_event(customer["id"], amount="42.00"))
    wait_for(lambda: len(timeline(service, customer["id"])["activities"]) == 4, what="the order's activity")
    assert service.api("PUT", f"{path}/segment", json={"tier": "vip", "reason": "key account"}).status_code == 200

    everything = timeline(service, customer["id"])
    types = [a["type"] for a in everything["activities"]]
    assert types == ["segment_overridden", "order_completed", "address_added", "profile_updated", "registration"]
    assert everything["nextCursor"] is None
    times = [a["occurredAt"] for a in everything["activities"]]
    assert times == sorted(times, reverse=True)
    assert everything["activities"][0]["data"]["reason"] == "key account"  # an admin reads what staff wrote

    paged: list[str] = []
    cursor = ""
    while True:
        page = timeline(service, customer["id"], f"?limit=2{cursor}")
        paged += [a["type"] for a in page["activities"]]
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert paged == types  # every row once, in order, across pages

    only = timeline(service, customer["id"], "?type=order_completed&type=registration")
    assert [a["type"] for a in only["activities"]] == ["order_completed", "registration"]
    assert only["activities"][0]["data"]["amount"] == "42.00"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert timeline(service, customer["id"], f"?from={future}")["activities"] == []
    assert [a["type"] for a in timeline(service, customer["id"], f"?to={future}&type=registration")[
        "activities"]] == ["registration"]

    own = timeline(service, customer["id"], **bearer(customer["id"], "customers:read"))
    assert [a["type"] for a in own["activities"]] == types
    assert own["activities"][0]["data"] is None  # the customer sees the override happened, not staff's reason


def test_only_the_customer_and_admins_read_it_and_bad_queries_get_the_envelope(service: Service) -> None:
    customer = service.create_customer()
    url = f"/v1/customers/{customer['id']}/activities"
    for token in (bearer(new_customer_id(), "customers:read"), bearer("svc:reader", "customers:read")):
        refused = service.api("GET", url, token=token)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
        assert customer["email"] not in refused.text
    missing = service.api("GET", f"/v1/customers/{new_customer_id()}/activities")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")
    for query, field in (("?cursor=not-a-cursor", "cursor"), ("?type=DROP%20TABLE", "type.0"),
                         ("?from=yesterday", "from"), ("?limit=101", "limit")):
        bad = service.api("GET", url + query)
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "VALIDATION_FAILED"), query
        assert [d["field"] for d in bad.json()["error"]["details"]] == [field], query
