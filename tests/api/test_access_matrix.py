"""Every route of the REST API against every kind of caller, in process: who gets through (the route's
success status), who is refused (403, FORBIDDEN), and that no token is 401 everywhere. The table below
is the access design written out; a route added without a row fails `test_every_route_has_a_row`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from api.routes import ROUTERS
from domain.ids import new_customer_id
from tests.api.conftest import InProcess
from tests.support.tokens import bearer

OWN, OTHER, READ, WRITE, CREDENTIALS, ADMIN = "own", "other customer", "read", "write", "credentials", "admin"
CALLERS = (OWN, OTHER, READ, WRITE, CREDENTIALS, ADMIN)
PASSWORD = "Sturdy-Passw0rd!"
ADDRESS = {"type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"}

# (method, path): (success status, callers let through, body)
MATRIX: dict[tuple[str, str], tuple[int, set[str], dict[str, Any] | None]] = {
    ("POST", "/v1/customers"): (201, {WRITE, ADMIN}, {"email": "new@example.com", "password": PASSWORD}),
    ("GET", "/v1/customers"): (200, {ADMIN}, None),
    ("GET", "/v1/customers/segments"): (200, {ADMIN}, None),
    ("GET", "/v1/customers/export"): (200, {ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("PUT", "/v1/customers/{customer_id}"): (200, {OWN, WRITE, ADMIN}, {"profile": {"firstName": "Eve"}}),
    ("DELETE", "/v1/customers/{customer_id}"): (200, {OWN, ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}/export"): (200, {OWN, ADMIN}, None),
    ("POST", "/v1/customers/{customer_id}/erasure"): (200, {OWN, ADMIN}, None),
    ("PUT", "/v1/customers/{customer_id}/password"): (
        204, {OWN, ADMIN}, {"currentPassword": PASSWORD, "newPassword": "Another-Passw0rd!"}),
    ("POST", "/v1/customers/{customer_id}/reactivation"): (200, {OWN, ADMIN}, {"password": PASSWORD}),
    ("POST", "/v1/customers/{customer_id}/suspension"): (200, {ADMIN}, {"reason": "chargebacks"}),
    ("DELETE", "/v1/customers/{customer_id}/suspension"): (200, {ADMIN}, {"reason": "resolved"}),
    ("POST", "/v1/customers/{customer_id}/verification"): (200, {CREDENTIALS, ADMIN}, {"channel": "email"}),
    ("GET", "/v1/customers/{customer_id}/addresses"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("POST", "/v1/customers/{customer_id}/addresses"): (201, {OWN, WRITE, ADMIN}, ADDRESS),
    ("PUT", "/v1/customers/{customer_id}/addresses/{address_id}"): (200, {OWN, WRITE, ADMIN}, {"city": "Shelbyville"}),
    ("DELETE", "/v1/customers/{customer_id}/addresses/{address_id}"): (204, {OWN, WRITE, ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}/segment"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("PUT", "/v1/customers/{customer_id}/segment"): (200, {ADMIN}, {"tier": "vip", "reason": "key account"}),
    ("DELETE", "/v1/customers/{customer_id}/segment/override"): (200, {ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}/analytics"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}/orders/summary"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("GET", "/v1/customers/{customer_id}/loyalty"): (200, {OWN, READ, WRITE, ADMIN}, None),
    ("POST", "/v1/customers/credentials/verify"): (200, {CREDENTIALS, ADMIN},
                                                   {"email": "ada@example.com", "password": PASSWORD}),
    ("GET", "/v1/customers/sessions/{session_id}"): (200, {CREDENTIALS, ADMIN}, None),
    ("DELETE", "/v1/customers/sessions/{session_id}"): (204, {CREDENTIALS, ADMIN}, None),
    ("POST", "/v1/customers/password-resets"): (202, {CREDENTIALS, ADMIN}, {"email": "ada@example.com"}),
    ("POST", "/v1/customers/password-resets/redemption"): (
        204, {CREDENTIALS, ADMIN}, {"token": "pwreset_x", "newPassword": "Another-Passw0rd!"}),
    ("POST", "/v1/customers/email-verifications"): (201, {CREDENTIALS, ADMIN}, {"customerId": new_customer_id()}),
    ("POST", "/v1/customers/email-verifications/confirmation"): (200, {CREDENTIALS, ADMIN},
                                                                {"token": "emailverify_x"}),
    ("GET", "/v1/customers/{customer_id}/activities"): (200, {OWN, ADMIN}, None),
    ("GET", "/v1/customers/external-ids/{external_id}"): (200, {READ, WRITE, ADMIN}, None),
    ("PUT", "/v1/customers/{customer_id}/tags"): (200, {WRITE, ADMIN}, {"tags": ["wholesale"]}),
    ("POST", "/v1/customers/{customer_id}/notes"): (201, {WRITE, ADMIN}, {"text": "called about a late parcel"}),
    ("GET", "/v1/customers/{customer_id}/notes"): (200, {READ, WRITE, ADMIN}, None),
    ("GET", "/v1/exchange-rates"): (200, {ADMIN}, None),
    ("PUT", "/v1/exchange-rates/{currency}"): (200, {ADMIN}, {"usdPerUnit": "1.08", "effectiveDate": "2026-12-01"}),
}


def api_routes() -> set[tuple[str, str]]:
    return {(method, route.path_format) for router in ROUTERS for route in router.routes
            if isinstance(route, APIRoute) and route.path_format.startswith("/v1/") for method in route.methods or ()}


def token(caller: str, customer_id: str) -> dict[str, str]:
    return {
        OWN: bearer(customer_id, "customers:read", "customers:write"),
        OTHER: bearer(new_customer_id(), "customers:read", "customers:write"),
        READ: bearer("svc:reader", "customers:read"),
        WRITE: bearer("svc:writer", "customers:read", "customers:write"),
        CREDENTIALS: bearer("svc:auth-service", "customers:credentials"),
        ADMIN: bearer("svc:admin", "customers:admin"),
    }[caller]


def test_every_route_has_a_row() -> None:
    assert api_routes() == set(MATRIX)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
async def test_who_may_call_each_route(api: InProcess, method: str, path: str) -> None:
    success, allowed, body = MATRIX[method, path]
    customer_id = new_customer_id()
    url = path.replace("{customer_id}", customer_id).replace("{address_id}", "addr_" + "0" * 32) \
        .replace("{session_id}", "sess_1").replace("{currency}", "EUR") \
        .replace("{external_id}", "crm:4711")
    answers = {}
    for caller in CALLERS:
        response = await api.client.request(method, url, json=body, headers=token(caller, customer_id))
        answers[caller] = (response.status_code, response.json()["error"]["code"] if response.status_code >= 400
                           and response.content else None)
    expected = {caller: (success, None) if caller in allowed else (403, "FORBIDDEN") for caller in CALLERS}
    assert answers == expected
    anonymous = await api.client.request(method, url, json=body)
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "UNAUTHENTICATED")
