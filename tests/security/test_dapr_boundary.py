"""Attacks on the Dapr-facing surface: the app port, daprd's APIs, service invocation, actor calls and
pub/sub from another app of the mesh. Each one must be refused, and must leave no trace in the data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devstack.stack import DaprApp
from tests.support.service import SERVICE_ID, Service, admin
from tests.support.tokens import bearer

ACTOR_ATTACKS = [
    ("export", {}),
    ("erase", {"origin": {"correlation_id": "attack"}}),
    ("override_segment", {"tier": "enterprise", "segment": "high_value", "reason": "attack", "set_by": "x",
                          "origin": {"correlation_id": "attack"}}),
    ("authenticate", {"password": "guess", "origin": {"correlation_id": "attack"}}),
]


def forged_order(customer_id: str) -> dict[str, Any]:
    return {"eventId": f"evt_{uuid.uuid4().hex}", "data": {
        "orderId": f"ord_{uuid.uuid4().hex[:12]}", "customerId": customer_id, "amount": "5000.00",
        "currency": "USD", "completedAt": datetime.now(UTC).isoformat()}}


def assert_untouched(service: Service, customer: dict[str, Any]) -> None:
    current = service.api("GET", f"/v1/customers/{customer['id']}")
    assert current.status_code == 200, current.text
    body = current.json()["data"]["customer"]
    assert body["status"] == "active"
    assert body["segment"] == customer["segment"]


def refused_envelope(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert "data" not in body


@pytest.mark.parametrize(("method", "body"), ACTOR_ATTACKS)
def test_actor_methods_on_the_app_port_need_the_app_token(service: Service, app_port: httpx.Client,
                                                          method: str, body: dict[str, Any]) -> None:
    customer = service.create_customer()
    response = app_port.put(f"/actors/CustomerActor/{customer['id']}/method/{method}", json=body)
    refused_envelope(response, 401)
    assert customer["email"] not in response.text
    assert_untouched(service, customer)


def test_a_wrong_app_token_is_refused_like_none(service: Service, app_port: httpx.Client) -> None:
    customer = service.create_customer()
    response = app_port.put(f"/actors/CustomerActor/{customer['id']}/method/export", json={},
                            headers={"dapr-api-token": service.stack.config.app_api_token[:-1] + "x",
                                     "dapr-caller-app-id": SERVICE_ID})
    refused_envelope(response, 401)


@pytest.mark.parametrize("path", [f"/events/{route}" for route in (
    "orders/completed", "orders/refunded", "orders/cancelled", "loyalty/points-earned", "loyalty/points-redeemed",
    "loyalty/points-expired")])
def test_forged_events_on_the_app_port_are_refused(service: Service, app_port: httpx.Client, path: str) -> None:
    customer = service.create_customer()
    event = forged_order(customer["id"]) if "orders" in path else {
        "eventId": f"evt_{uuid.uuid4().hex}", "data": {"customerId": customer["id"], "points": 1_000_000}}
    refused_envelope(app_port.post(path, json=event), 401)
    assert_untouched(service, customer)
    assert service.api("GET", f"/v1/customers/{customer['id']}").json()["data"]["customer"]["segment"][
        "loyaltyPoints"] == 0


@pytest.mark.parametrize("path", ["/dapr/subscribe", "/dapr/config", "/healthz"])
def test_dapr_configuration_routes_need_the_app_token(app_port: httpx.Client, path: str) -> None:
    refused_envelope(app_port.get(path), 401)


def test_sdk_failures_do_not_leak_exception_text(service: Service, app_port: httpx.Client) -> None:
    config = service.stack.config
    response = app_port.put("/actors/NoSuchActor/x/method/nothing", content=b"{",
                            headers={"dapr-api-token": config.app_api_token, "dapr-caller-app-id": SERVICE_ID})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ROUTE_NOT_FOUND")
    assert "Error" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["success"] is False


def test_daprd_refuses_callers_without_its_api_token(service: Service) -> None:
    customer = service.create_customer()
    with httpx.Client(timeout=10) as anonymous:
        for response in (
            anonymous.put(f"{service.dapr}/v1.0/actors/CustomerActor/{customer['id']}/method/export", json={}),
            anonymous.get(f"{service.dapr}/v1.0/invoke/{SERVICE_ID}/method/v1/customers/{customer['id']}",
                          headers=admin()),
            anonymous.post(f"{service.dapr}/v1.0/publish/pubsub/orders.order.completed",
                           json=forged_order(customer["id"])),
        ):
            assert response.status_code == 401, response.text
            assert customer["email"] not in response.text
    assert_untouched(service, customer)


def through(app: DaprApp) -> str:
    return f"http://127.0.0.1:{app.ports.http}"


def test_an_app_off_the_allow_list_cannot_invoke_the_rest_api(service: Service, intruder: DaprApp) -> None:
    customer = service.create_customer()
    response = service.http.get(f"{through(intruder)}/v1.0/invoke/{SERVICE_ID}/method/v1/customers/{customer['id']}",
                                headers=admin())
    assert response.status_code == 403, response.text
    assert customer["email"] not in response.text


@pytest.mark.parametrize("caller", ["intruder", "gateway"])
def test_no_app_may_invoke_actor_routes(service: Service, caller: str, request: pytest.FixtureRequest) -> None:
    app: DaprApp = request.getfixturevalue(caller)
    customer = service.create_customer()
    response = service.http.put(
        f"{through(app)}/v1.0/invoke/{SERVICE_ID}/method/actors/CustomerActor/{customer['id']}/method/export",
        json={})
    assert response.status_code == 403, response.text
    assert customer["email"] not in response.text


def test_an_app_of_the_mesh_cannot_call_a_customers_actor(service: Service, intruder: DaprApp) -> None:
    customer = service.create_customer()
    for method, body in ACTOR_ATTACKS:
        response = service.http.put(f"{through(intruder)}/v1.0/actors/CustomerActor/{customer['id']}/method/{method}",
                                    json=body)
        # The app's boundary refuses the caller; daprd reports the refused call as a failed invocation.
        assert (response.status_code, response.json()["errorCode"]) == (500, "ERR_ACTOR_INVOKE_METHOD"), method
        assert customer["email"] not in response.text
    assert_untouched(service, customer)


def test_an_app_off_the_scopes_cannot_publish_orders(service: Service, intruder: DaprApp) -> None:
    customer = service.create_customer()
    response = service.http.post(f"{through(intruder)}/v1.0/publish/pubsub/orders.order.completed",
                                 json=forged_order(customer["id"]))
    # The component's scopes leave the intruder's daprd without the pub/sub at all.
    assert (response.status_code, response.json()["errorCode"]) == (404, "ERR_PUBSUB_NOT_FOUND"), response.text
    assert_untouched(service, customer)


def test_the_customer_service_may_not_publish_what_it_consumes(service: Service) -> None:
    customer = service.create_customer()
    response = service.http.post(f"{service.dapr}/v1.0/publish/pubsub/orders.order.completed",
                                 json=forged_order(customer["id"]))
    assert response.status_code == 403, response.text


def test_an_allowed_app_reaches_the_rest_api_with_a_valid_token(service: Service, gateway: DaprApp) -> None:
    customer = service.create_customer()
    url = f"{through(gateway)}/v1.0/invoke/{SERVICE_ID}/method/v1/customers/{customer['id']}"
    assert service.http.get(url, headers=admin()).status_code == 200
    # The policy admits the caller; the JWT still decides what it may see.
    other = bearer("cust_" + uuid.uuid4().hex, "customers:read")
    assert service.http.get(url, headers=other).status_code == 403


def test_an_allowed_app_is_held_to_its_operations(service: Service, order_service: DaprApp) -> None:
    customer = service.create_customer()
    url = f"{through(order_service)}/v1.0/invoke/{SERVICE_ID}/method/v1/customers/{customer['id']}"
    assert service.http.get(url, headers=admin()).status_code == 200  # reads are on its list
    response = service.http.put(url, headers=admin(), json={"profile": {"firstName": "Mallory"}})
    assert response.status_code == 403, response.text
    assert_untouched(service, customer)


def test_the_auth_service_reaches_the_credential_routes_and_nothing_else(service: Service,
                                                                          auth_service: DaprApp) -> None:
    """The access policy names each credential route (no variable segment mid-path, which Dapr 1.18's
    matcher cannot admit): a reset and a verification go through, a registration does not."""
    customer = service.create_customer()
    base = f"{through(auth_service)}/v1.0/invoke/{SERVICE_ID}/method/v1/customers"
    credentials = bearer("svc:auth-service", "customers:credentials")
    reset = service.http.post(f"{base}/password-resets", headers=credentials, json={"email": customer["email"]})
    assert reset.status_code == 202, reset.text
    verification = service.http.post(f"{base}/email-verifications", headers=credentials,
                                     json={"customerId": customer["id"]})
    assert verification.status_code == 201, verification.text
    confirmed = service.http.post(f"{base}/email-verifications/confirmation", headers=credentials,
                                  json={"token": verification.json()["data"]["token"]})
    assert confirmed.status_code == 200, confirmed.text
    registration = service.http.post(base, headers=admin(), json={"email": "x@example.com", "password": "x"})
    assert registration.status_code == 403, registration.text
    assert "success" not in registration.text  # daprd's refusal, not the app's envelope


def test_actor_methods_are_not_invocable_even_through_our_own_sidecar(service: Service) -> None:
    """Service invocation carries no caller identity the actor routes accept: only actor calls do."""
    customer = service.create_customer()
    path = f"actors/CustomerActor/{customer['id']}/method/export"
    response = service.http.put(f"{service.dapr}/v1.0/invoke/{SERVICE_ID}/method/{path}", json={})
    assert response.status_code == 403, response.text
    assert customer["email"] not in response.text


def test_other_actor_types_are_404_not_an_sdk_failure(service: Service, app_port: httpx.Client) -> None:
    config = service.stack.config
    response = app_port.delete("/actors/NoSuchActor/x", headers={"dapr-api-token": config.app_api_token})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ROUTE_NOT_FOUND"


def test_the_openapi_document_lists_the_public_api_only(service: Service) -> None:
    paths = service.api("GET", "/openapi.json").json()["paths"]
    assert paths
    assert all(path.startswith(("/v1/", "/health/")) for path in paths), sorted(paths)
