"""Hostile input through daprd: each answer is a 4xx in the error envelope, never a 500, a stack trace
or another customer's data; and nothing half-written is left behind."""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.service import Service, admin, wait_for

ADDRESS = {"street": "1 Main St", "city": "New York", "zipCode": "10001", "country": "US"}


def envelope_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert "Traceback" not in response.text
    return str(body["error"]["code"])


@pytest.mark.parametrize("body", [
    {"email": "nul@example.com", "password": "Sturdy-Passw0rd!", "profile": {"firstName": "A\u0000B"}},
    {"email": "n\u0000ul@example.com", "password": "Sturdy-Passw0rd!"},
    {"email": "nul2@example.com", "password": "Sturdy-Passw0rd!", "preferences": {"timezone": "UTC\u0000"}},
])
def test_nul_characters_in_a_new_customer_are_refused(service: Service, body: dict[str, Any]) -> None:
    body = {**body, "email": body["email"].replace("@", f"-{uuid.uuid4().hex[:6]}@")}
    assert envelope_error(service.api("POST", "/v1/customers", json=body), 400) == "VALIDATION_FAILED"


def test_nul_characters_in_updates_and_addresses_are_refused(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    assert envelope_error(service.api("PUT", path, json={"profile": {"lastName": "x\u0000"}}), 400) == \
        "VALIDATION_FAILED"
    assert envelope_error(service.api("POST", f"{path}/addresses", json={**ADDRESS, "street": "1\u0000"}), 400) == \
        "VALIDATION_FAILED"
    assert envelope_error(service.api("PUT", f"{path}/segment", json={"tier": "vip", "reason": "ok\u0000"}),
                          400) == "VALIDATION_FAILED"
    assert service.api("GET", path).json()["data"]["customer"]["profile"]["lastName"] == "Lovelace"


NEAR_MISSES = ["%0A", "%0D%0A", "%00", "%20", "0", "%09"]


@pytest.mark.parametrize("suffix", NEAR_MISSES)
def test_near_miss_customer_ids_are_404_in_the_app(service: Service, app_port: httpx.Client, suffix: str) -> None:
    customer = service.create_customer()
    response = app_port.get(f"/v1/customers/{customer['id']}{suffix}", headers=admin())
    assert envelope_error(response, 404) == "CUSTOMER_NOT_FOUND"


@pytest.mark.parametrize("suffix", ["%0A", "%00", "x"])
def test_near_miss_address_ids_are_404_in_the_app(service: Service, app_port: httpx.Client, suffix: str) -> None:
    customer = service.create_customer()
    added = service.api("POST", f"/v1/customers/{customer['id']}/addresses", json=ADDRESS).json()["data"]["address"]
    response = app_port.delete(f"/v1/customers/{customer['id']}/addresses/{added['id']}{suffix}", headers=admin())
    assert envelope_error(response, 404) == "ADDRESS_NOT_FOUND"


@pytest.mark.parametrize("suffix", NEAR_MISSES)
def test_near_miss_ids_through_daprd_are_4xx(service: Service, suffix: str) -> None:
    """daprd itself refuses control characters in a method: with 400 (patch 0002), not 500."""
    customer = service.create_customer()
    response = service.api("GET", f"/v1/customers/{customer['id']}{suffix}")
    assert 400 <= response.status_code < 500, response.text
    assert customer["email"] not in response.text


@pytest.mark.parametrize("method", ["QUERY", "PURGE"])
def test_methods_daprd_cannot_carry_are_405_and_never_reach_the_app(service: Service, method: str) -> None:
    """daprd sent a method outside its invocation's verbs on as a POST: a QUERY with a registration's body
    created a customer. Patch 0005 answers 405 with the verbs it carries."""
    email = f"query-{uuid.uuid4().hex[:12]}@example.com"
    response = service.api(method, "/v1/customers", json={"email": email, "password": "Sturdy-Passw0rd!"})
    assert response.status_code == 405, response.text
    assert {"GET", "POST", "PUT", "DELETE", "PATCH"} <= {m.strip() for m in response.headers["allow"].split(",")}
    found = service.api("GET", "/v1/customers", params={"email": email}).json()["data"]["customers"]
    assert found == []


def test_a_session_header_longer_than_its_column_is_refused(service: Service) -> None:
    customer = service.create_customer()
    response = service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"firstName": "Ok"}},
                           headers={"X-Session-ID": "s" * 101})
    assert envelope_error(response, 400) == "VALIDATION_FAILED"
    response = service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"firstName": "Ok"}},
                           headers={"X-Session-ID": "s" * 100, "User-Agent": "u" * 5000})
    assert response.status_code == 200, response.text


def test_a_nul_in_a_header_never_reaches_the_store(service: Service) -> None:
    """Sent as raw bytes to the app port (clients and daprd refuse to send it)."""
    customer = service.create_customer()
    body = json.dumps({"profile": {"firstName": "Ok"}}).encode()
    request = (f"PUT /v1/customers/{customer['id']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nX-Session-ID: a\x00b\r\nConnection: close\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", service.app.ports.app), timeout=5) as sock:
        sock.sendall(request)
        answer = sock.recv(65536).decode(errors="replace")
    status = int(answer.split(" ", 2)[1])
    assert 400 <= status < 500, answer


def test_deeply_nested_json_is_a_400(service: Service) -> None:
    customer = service.create_customer()
    nested = "[" * 20000 + "]" * 20000
    response = service.api("PUT", f"/v1/customers/{customer['id']}", content=nested.encode(),
                           headers={"Content-Type": "application/json"})
    assert envelope_error(response, 400) in ("MALFORMED_REQUEST", "VALIDATION_FAILED")


def test_a_huge_body_is_a_413(service: Service) -> None:
    customer = service.create_customer()
    response = service.api("PUT", f"/v1/customers/{customer['id']}", content=b'{"profile": {"firstName": "'
                           + b"a" * 200_000 + b'"}}', headers={"Content-Type": "application/json"})
    assert envelope_error(response, 413) == "PAYLOAD_TOO_LARGE"


def test_a_default_address_moved_to_a_type_that_has_a_default_is_not_a_500(service: Service) -> None:
    customer = service.create_customer()
    base = f"/v1/customers/{customer['id']}/addresses"
    billing = service.api("POST", base, json={**ADDRESS, "type": "billing"}).json()["data"]["address"]
    shipping = service.api("POST", base, json={**ADDRESS, "type": "shipping"}).json()["data"]["address"]
    assert billing["isDefault"]
    assert shipping["isDefault"]
    moved = service.api("PUT", f"{base}/{shipping['id']}", json={"type": "billing", "isDefault": True})
    assert moved.status_code == 200, moved.text
    book = {a["id"]: a for a in service.api("GET", base).json()["data"]["addresses"]}
    assert book[shipping["id"]]["isDefault"] is True
    assert book[billing["id"]]["isDefault"] is False


def inbound(topic: str, customer_id: str, **data: Any) -> dict[str, Any]:
    """A plausible event of `topic` (subscriptions/events.py), with `data` in place of its fields."""
    now = datetime.now(UTC).isoformat()
    order_id = f"ord_{uuid.uuid4().hex[:12]}"
    plausible: dict[str, dict[str, Any]] = {
        "orders.order.completed": {"orderId": order_id, "amount": "10.00", "currency": "USD", "completedAt": now},
        "orders.order.refunded": {"orderId": order_id, "refundId": f"ref_{uuid.uuid4().hex[:12]}",
                                  "amount": "10.00", "currency": "USD", "refundedAt": now},
        "orders.order.cancelled": {"orderId": order_id, "cancelledAt": now},
    }
    return {"eventId": f"evt_{uuid.uuid4().hex}", "data": {
        "customerId": customer_id, **plausible.get(topic, {"points": 10}), **data}}


@pytest.mark.parametrize(("topic", "case"), [
    ("orders.order.completed", {"amount": "-5.00"}),
    ("orders.order.completed", {"amount": "99999999.00"}),
    ("orders.order.completed", {"completedAt": (datetime.now(UTC) + timedelta(days=2)).isoformat()}),
    ("orders.order.completed", {"currency": "usd"}),
    ("orders.order.completed", {"orderId": "ord\u0000x"}),
    ("orders.order.refunded", {"amount": "-1.00"}),
    ("orders.order.refunded", {"currency": "usd"}),
    ("orders.order.refunded", {"refundId": "ref 1"}),
    ("orders.order.cancelled", {"cancelledAt": "2026-01-01T00:00:00"}),  # no time zone
    ("orders.order.cancelled", {"orderId": "o" * 101}),
    ("loyalty.points.earned", {"points": -100}),
    ("loyalty.points.earned", {"points": 5_000_000}),
    ("loyalty.points.redeemed", {"points": -100}),
    ("loyalty.points.expired", {"points": 5_000_000}),
])
def test_implausible_events_go_to_the_dead_letter_topic_with_their_reason(service: Service, topic: str,
                                                                          case: dict[str, Any]) -> None:
    customer = service.create_customer()
    event = inbound(topic, customer["id"], **case)
    service.publish(topic, event)
    [dead] = wait_for(lambda: [e for e in service.received("customers.deadletter")
                               if e.get("event", {}).get("eventId") == event["eventId"]],
                      what="the event in the dead-letter topic")
    assert dead["topic"] == topic
    [(field, value)] = case.items()
    assert field in dead["reason"], dead["reason"]  # names the field and the rule...
    assert str(value) not in dead["reason"]  # ...never the value
    segment = service.api("GET", f"/v1/customers/{customer['id']}/segment").json()["data"]["segment"]
    assert segment["metrics"]["orderCount"] == 0
    assert segment["loyaltyPoints"] == 0


RATE = {"usdPerUnit": "0.095", "effectiveDate": "2026-12-01"}


@pytest.mark.parametrize(("currency", "body", "field"), [
    ("SEK", {**RATE, "usdPerUnit": "abc"}, "usdPerUnit"),
    ("SEK", {**RATE, "usdPerUnit": "-0.1"}, "usdPerUnit"),
    ("SEK", {**RATE, "usdPerUnit": "1e400"}, "usdPerUnit"),
    ("SEK", {**RATE, "usdPerUnit": 0.1234567891}, "usdPerUnit"),  # more decimals than kept
    ("SEK", {**RATE, "effectiveDate": "2026-02-30"}, "effectiveDate"),
    ("SEK", {**RATE, "effectiveDate": 0}, "effectiveDate"),  # a Unix time is not a date here
    ("SEK", {**RATE, "effectiveDate": "2026-12-01\u0000"}, "effectiveDate"),
    ("SEK", {**RATE, "source": "ecb"}, "source"),  # unknown field
    ("SEK", {"effectiveDate": "2026-12-01"}, "usdPerUnit"),
    ("USD", RATE, "currency"),  # what rates convert to
    ("sek", RATE, "currency"),
    ("SEKX", RATE, "currency"),
])
def test_a_bad_exchange_rate_is_refused_with_its_field_and_changes_nothing(service: Service, currency: str,
                                                                           body: dict[str, Any], field: str) -> None:
    response = service.api("PUT", f"/v1/exchange-rates/{currency}", json=body)
    assert envelope_error(response, 400) == "VALIDATION_FAILED"
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    listed = service.api("GET", "/v1/exchange-rates").json()["data"]["exchangeRates"]
    assert {r["currency"] for r in listed}.isdisjoint({"SEK", "USD", "sek", "SEKX"})
