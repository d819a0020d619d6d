"""The lifecycle through daprd: reactivation, suspension, verification flags, email change; each with
its event, and refused from a status it does not apply to."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.service import Service, outbox_count, wait_for_events
from tests.support.tokens import bearer

CREDENTIALS = bearer("svc:auth-service", "customers:credentials")
PASSWORD = "Sturdy-Passw0rd!"


def own(customer: dict[str, Any]) -> dict[str, str]:
    return bearer(customer["id"], "customers:read", "customers:write")


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def login(service: Service, email: str) -> Any:
    return service.api("POST", "/v1/customers/credentials/verify", token=CREDENTIALS,
                       json={"email": email, "password": PASSWORD})


def test_the_owner_reactivates_with_its_password_an_admin_without(service: Service, db: Any) -> None:
    mine, theirs = service.create_customer(), service.create_customer()
    for customer in (mine, theirs):
        assert service.api("DELETE", f"/v1/customers/{customer['id']}").status_code == 200
    path = f"/v1/customers/{mine['id']}/reactivation"
    assert code(service.api("POST", path, token=own(mine), json={})) == "VALIDATION_FAILED"
    wrong = service.api("POST", path, token=own(mine), json={"password": "Wrong-Passw0rd!"})
    assert wrong.status_code == 401
    assert code(wrong) == "INVALID_CREDENTIALS"
    back = service.api("POST", path, token=own(mine), json={"password": PASSWORD})
    assert back.status_code == 200, back.text
    assert back.json()["data"]["customer"]["status"] == "active"
    by_admin = service.api("POST", f"/v1/customers/{theirs['id']}/reactivation", json={})
    assert by_admin.json()["data"]["customer"]["status"] == "active"
    again = service.api("POST", path, token=own(mine), json={"password": PASSWORD})
    assert again.status_code == 409
    assert code(again) == "INVALID_STATUS_TRANSITION"
    assert outbox_count(db, mine["id"], "customers.customer.reactivated") == 1
    assert login(service, mine["email"]).status_code == 200


def test_a_suspended_customer_cannot_log_in_or_change_anything_but_services_read(service: Service) -> None:
    customer = service.create_customer()
    session = login(service, customer["email"]).json()["data"]["session"]["sessionId"]
    path = f"/v1/customers/{customer['id']}"
    assert service.api("POST", f"{path}/suspension", token=own(customer), json={"reason": "mine"}).status_code \
        == 403  # admins only
    suspended = service.api("POST", f"{path}/suspension", json={"reason": "chargeback investigation"})
    assert suspended.json()["data"]["customer"]["status"] == "suspended"
    assert code(login(service, customer["email"])) == "CUSTOMER_NOT_ACTIVE"
    assert code(service.api("PUT", path, token=own(customer), json={"profile": {"firstName": "X"}})) == \
        "CUSTOMER_NOT_ACTIVE"
    assert service.api("GET", path, token=bearer("svc:orders", "customers:read")).status_code == 200
    assert service.api("GET", f"/v1/customers/sessions/{session}", token=CREDENTIALS).status_code == 404
    [event] = wait_for_events(service, "customers.customer.suspended", customer["id"])
    assert event["data"]["reason"] == "chargeback investigation"
    lifted = service.api("DELETE", f"{path}/suspension", json={"reason": "cleared"})
    assert lifted.json()["data"]["customer"]["status"] == "active"
    assert code(service.api("DELETE", f"{path}/suspension", json={"reason": "again"})) == "INVALID_STATUS_TRANSITION"
    wait_for_events(service, "customers.customer.unsuspended", customer["id"])
    assert login(service, customer["email"]).status_code == 200


def test_verification_flags_are_set_by_the_auth_side_and_cleared_by_a_change(service: Service) -> None:
    customer = service.create_customer(profile={"firstName": "Ada", "phone": "+1-555-0100"})
    path = f"/v1/customers/{customer['id']}"
    assert service.api("POST", f"{path}/verification", token=own(customer), json={"channel": "email"}).status_code \
        == 403
    for channel in ("email", "phone"):
        done = service.api("POST", f"{path}/verification", token=CREDENTIALS, json={"channel": channel})
        assert done.status_code == 200, done.text
    flags = service.api("GET", path).json()["data"]["customer"]
    assert (flags["emailVerified"], flags["phoneVerified"]) == (True, True)
    assert {e["data"]["channel"] for e in wait_for_events(service, "customers.customer.verified", customer["id"], 2)} \
        == {"email", "phone"}
    new_email = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    changed = service.api("PUT", path, json={"email": new_email, "emailChangeReason": "support ticket 7",
                                             "profile": {"phone": "+1-555-0101"}})
    assert changed.status_code == 200, changed.text
    after = changed.json()["data"]["customer"]
    # The verified login stays until the new address is confirmed (tests/e2e/test_account_recovery.py).
    assert (after["email"], after["pendingEmail"], after["emailVerified"], after["phoneVerified"]) \
        == (customer["email"], new_email, True, False)
    assert login(service, new_email).status_code == 401
    assert login(service, customer["email"]).status_code == 200


def test_an_email_change_to_a_taken_address_is_409(service: Service, db: Any) -> None:
    first, second = service.create_customer(), service.create_customer()
    response = service.api("PUT", f"/v1/customers/{second['id']}",
                           json={"email": first["email"].upper(), "emailChangeReason": "merging accounts"})
    assert response.status_code == 409
    assert code(response) == "EMAIL_ALREADY_EXISTS"
    assert outbox_count(db, second["id"], "customers.profile.updated") == 0
