"""Account self-service through daprd (issue 21): password reset, email verification, the guarded email
change and Idempotency-Key retries, each with its abuse cases: expired, reused, superseded, foreign and
forged tokens, and a key reused with another body."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from domain.ids import customer_uuid, new_customer_id
from tests.support.service import Service, wait_for_events
from tests.support.tokens import bearer

CREDENTIALS = bearer("svc:auth-service", "customers:credentials")
PASSWORD = "Sturdy-Passw0rd!"
NEW_PASSWORD = "Another-Passw0rd!"
RESETS = "/v1/customers/password-resets"
ISSUE = "/v1/customers/email-verifications"
CONFIRM = f"{ISSUE}/confirmation"


def own(customer: dict[str, Any]) -> dict[str, str]:
    return bearer(customer["id"], "customers:read", "customers:write")


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def login(service: Service, email: str, password: str = PASSWORD) -> Any:
    return service.api("POST", "/v1/customers/credentials/verify", token=CREDENTIALS,
                       json={"email": email, "password": password})


def new_email() -> str:
    return f"self-{uuid.uuid4().hex[:12]}@example.com"


def reset_token(service: Service, email: str) -> str:
    response = service.api("POST", RESETS, token=CREDENTIALS, json={"email": email})
    assert response.status_code == 202, response.text
    return str(response.json()["data"]["token"])


def redeem(service: Service, token: str, password: str = NEW_PASSWORD, **headers: str) -> Any:
    return service.api("POST", f"{RESETS}/redemption", token=CREDENTIALS, headers=headers,
                       json={"token": token, "newPassword": password})


# -- password reset ----------------------------------------------------------------------------------------
def test_a_reset_request_answers_alike_for_known_and_unknown_addresses(service: Service) -> None:
    customer = service.create_customer()
    known = service.api("POST", RESETS, token=CREDENTIALS, json={"email": customer["email"]})
    unknown = service.api("POST", RESETS, token=CREDENTIALS, json={"email": new_email()})
    assert (known.status_code, unknown.status_code) == (202, 202)
    shapes = [(sorted(r.json()["data"]), r.json()["data"]["email"], len(r.json()["data"]["token"]),
               r.json()["data"]["token"][:8]) for r in (known, unknown)]
    assert shapes[0] == shapes[1] == (["email", "expiresAt", "token"], None, 51, "pwreset_")
    assert code(redeem(service, unknown.json()["data"]["token"])) == "INVALID_TOKEN"  # stored nowhere


def test_a_reset_sets_the_password_once_ends_sessions_and_announces_no_secret(service: Service) -> None:
    customer = service.create_customer()
    session_id = login(service, customer["email"]).json()["data"]["session"]["sessionId"]
    token = reset_token(service, customer["email"])
    weak = redeem(service, token, password="password")
    assert (weak.status_code, code(weak)) == (400, "WEAK_PASSWORD")  # refused, and the token still works
    done = redeem(service, token)
    assert done.status_code == 204, done.text
    assert login(service, customer["email"], NEW_PASSWORD).status_code == 200
    assert login(service, customer["email"], PASSWORD).status_code == 401
    assert service.api("GET", f"/v1/customers/sessions/{session_id}", token=CREDENTIALS).status_code == 404
    again = redeem(service, token, password="Third-Passw0rd!")
    assert (again.status_code, code(again)) == (404, "INVALID_TOKEN")
    assert login(service, customer["email"], NEW_PASSWORD).status_code == 200
    [event] = wait_for_events(service, "customers.customer.password_reset", customer["id"])
    assert set(event["data"]) == {"customerId", "resetAt"}
    assert token not in str(event)


def test_expired_superseded_forged_and_foreign_reset_tokens_are_refused(service: Service, db: Any) -> None:
    customer = service.create_customer()
    first = reset_token(service, customer["email"])
    second = reset_token(service, customer["email"])
    forged = "pwreset_" + secrets.token_urlsafe(32)
    verification = service.api("POST", ISSUE, token=CREDENTIALS, json={"customerId": customer["id"]})
    assert verification.status_code == 201, verification.text
    foreign = verification.json()["data"]["token"]  # a real token, for another purpose
    gone = (404, "INVALID_TOKEN")
    expected = {first: gone, forged: gone, foreign: gone, "": gone, "x" * 65: (400, "VALIDATION_FAILED")}
    for token, answer in expected.items():
        refused = redeem(service, token)
        assert (refused.status_code, code(refused)) == answer, token
    db.execute("UPDATE customer_tokens SET expires_at = now() - interval '1 second' "
               "WHERE customer_id = %s AND purpose = 'password_reset'", (customer_uuid(customer["id"]),))
    assert code(redeem(service, second)) == "INVALID_TOKEN"
    assert login(service, customer["email"]).status_code == 200  # the password never moved


def test_only_a_credentials_service_asks_for_or_redeems_a_reset(service: Service) -> None:
    customer = service.create_customer()
    for caller in (own(customer), bearer("svc:storefront", "customers:read", "customers:write")):
        response = service.api("POST", RESETS, token=caller, json={"email": customer["email"]})
        assert (response.status_code, code(response)) == (403, "FORBIDDEN")
        response = service.api("POST", f"{RESETS}/redemption", token=caller,
                               json={"token": reset_token(service, customer["email"]), "newPassword": NEW_PASSWORD})
        assert (response.status_code, code(response)) == (403, "FORBIDDEN")


def test_reset_requests_are_throttled_per_address_alike_for_known_and_unknown(service: Service) -> None:
    caller = bearer(f"svc:notify-{uuid.uuid4().hex[:6]}", "customers:credentials")
    for email in (service.create_customer()["email"], new_email()):
        answers = [service.api("POST", RESETS, token=caller, json={"email": email}).status_code for _ in range(6)]
        assert answers == [202] * 5 + [429], email


def test_an_erasure_voids_a_reset_token(service: Service) -> None:
    customer = service.create_customer()
    token = reset_token(service, customer["email"])
    assert service.api("POST", f"/v1/customers/{customer['id']}/erasure").status_code == 200
    assert code(redeem(service, token)) == "INVALID_TOKEN"


# -- email verification and the guarded email change -------------------------------------------------------
def verification_token(service: Service, customer_id: str) -> dict[str, Any]:
    response = service.api("POST", ISSUE, token=CREDENTIALS, json={"customerId": customer_id})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_a_new_account_confirms_its_address_with_a_single_use_token(service: Service) -> None:
    customer = service.create_customer()
    issued = verification_token(service, customer["id"])
    assert issued["email"] == customer["email"]
    confirmed = service.api("POST", CONFIRM, token=CREDENTIALS, json={"token": issued["token"]})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["data"]["customer"]["emailVerified"] is True
    assert confirmed.headers["ETag"] == '"2"'
    assert code(service.api("POST", CONFIRM, token=CREDENTIALS, json={"token": issued["token"]})) == "INVALID_TOKEN"
    nothing = service.api("POST", ISSUE, token=CREDENTIALS, json={"customerId": customer["id"]})
    assert (nothing.status_code, code(nothing)) == (409, "NOTHING_TO_VERIFY")
    [event] = wait_for_events(service, "customers.customer.verified", customer["id"])
    assert event["data"]["channel"] == "email"


def test_verification_tokens_are_for_existing_customers_and_credentials_services_only(service: Service) -> None:
    customer = service.create_customer()
    for customer_id in (new_customer_id(), "cust_not-an-id"):
        missing = service.api("POST", ISSUE, token=CREDENTIALS, json={"customerId": customer_id})
        assert (missing.status_code, code(missing)) == (404, "CUSTOMER_NOT_FOUND"), customer_id
    for caller in (own(customer), bearer("svc:storefront", "customers:write")):
        refused = service.api("POST", ISSUE, token=caller, json={"customerId": customer["id"]})
        assert (refused.status_code, code(refused)) == (403, "FORBIDDEN")


def test_a_stolen_session_cannot_move_the_login(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    target = new_email()
    bare = service.api("PUT", path, token=own(customer), json={"email": target})
    assert (bare.status_code, code(bare)) == (400, "VALIDATION_FAILED")
    assert bare.json()["error"]["details"][0]["field"] == "currentPassword"
    wrong = service.api("PUT", path, token=own(customer), json={"email": target, "currentPassword": "Wrong-Passw0rd!"})
    assert (wrong.status_code, code(wrong)) == (401, "INVALID_CREDENTIALS")
    storefront = service.api("PUT", path, token=bearer("svc:storefront", "customers:write"),
                             json={"email": target, "emailChangeReason": "asked by phone"})
    assert (storefront.status_code, code(storefront)) == (403, "FORBIDDEN")
    own_reason = service.api("PUT", path, token=own(customer), json={"email": target, "emailChangeReason": "mine"})
    assert (own_reason.status_code, code(own_reason)) == (403, "FORBIDDEN")  # a reason is a privileged caller's
    unchanged = service.api("GET", path).json()["data"]["customer"]
    assert (unchanged["email"], unchanged["pendingEmail"]) == (customer["email"], None)


def test_resending_the_unchanged_email_is_neither_guarded_nor_counted(service: Service) -> None:
    """A client that PUTs the whole representation sends the email it has: no password needed, and no
    attempt counted against the login throttle however often it does."""
    customer = service.create_customer()
    for _ in range(7):  # past LOGIN_MAX_FAILURES (5)
        same = service.api("PUT", f"/v1/customers/{customer['id']}", token=own(customer),
                           json={"email": customer["email"], "profile": {"firstName": "Ada"}})
        assert same.status_code == 200, same.text
    assert login(service, customer["email"]).status_code == 200


def test_an_email_change_waits_for_the_new_address_and_tells_the_old_one(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    target = new_email()
    asked = service.api("PUT", path, token=own(customer), json={"email": target, "currentPassword": PASSWORD})
    assert asked.status_code == 200, asked.text
    pending = asked.json()["data"]["customer"]
    assert (pending["email"], pending["pendingEmail"]) == (customer["email"], target)
    [told] = wait_for_events(service, "customers.customer.email_change_requested", customer["id"])
    assert (told["data"]["currentEmail"], told["data"]["newEmail"]) == (customer["email"], target)
    assert login(service, target).status_code == 401  # not the login until confirmed
    assert login(service, customer["email"]).status_code == 200
    export = service.api("GET", f"{path}/export").json()["data"]["export"]
    assert export["customer"]["pending_email"] == target  # personal data: in the GDPR export too
    issued = verification_token(service, customer["id"])
    assert issued["email"] == target
    confirmed = service.api("POST", CONFIRM, token=CREDENTIALS, json={"token": issued["token"]})
    assert confirmed.status_code == 200, confirmed.text
    after = confirmed.json()["data"]["customer"]
    assert (after["email"], after["pendingEmail"], after["emailVerified"]) == (target, None, True)
    assert login(service, target).status_code == 200
    assert login(service, customer["email"]).status_code == 401


def test_a_newer_change_voids_the_token_of_the_older_one(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    admin_change = {"emailChangeReason": "support ticket 9"}
    assert service.api("PUT", path, json={"email": new_email(), **admin_change}).status_code == 200
    older = verification_token(service, customer["id"])
    newer_address = new_email()
    assert service.api("PUT", path, json={"email": newer_address, **admin_change}).status_code == 200
    assert code(service.api("POST", CONFIRM, token=CREDENTIALS, json={"token": older["token"]})) == "INVALID_TOKEN"
    assert service.api("GET", path).json()["data"]["customer"]["pendingEmail"] == newer_address


def test_a_pending_address_is_claimed_against_other_changes_and_registrations(service: Service) -> None:
    first, second = service.create_customer(), service.create_customer()
    claimed = new_email()
    reason = {"emailChangeReason": "support ticket 11"}
    assert service.api("PUT", f"/v1/customers/{first['id']}", json={"email": claimed, **reason}).status_code == 200
    taken = service.api("PUT", f"/v1/customers/{second['id']}", json={"email": claimed.upper(), **reason})
    assert (taken.status_code, code(taken)) == (409, "EMAIL_ALREADY_EXISTS")
    registration = service.api("POST", "/v1/customers", json={"email": claimed, "password": PASSWORD})
    assert (registration.status_code, code(registration)) == (409, "EMAIL_ALREADY_EXISTS")


# -- Idempotency-Key ------------------------------------------------------------------------------------------
def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}


def test_a_retried_registration_returns_the_same_customer_even_after_a_restart(service: Service, db: Any) -> None:
    headers = key()
    body = {"email": new_email(), "password": PASSWORD, "profile": {"firstName": "Retry"}}
    first = service.api("POST", "/v1/customers", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = service.api("POST", "/v1/customers", json=body, headers=headers)
    service.restart_app()
    after_restart = service.api("POST", "/v1/customers", json=body, headers=headers)
    for retry in (again, after_restart):
        assert (retry.status_code, retry.json(), retry.headers["ETag"], retry.headers["Location"]) \
            == (201, first.json(), first.headers["ETag"], first.headers["Location"])
    assert db.execute("SELECT count(*) FROM customers WHERE email = %s", (body["email"],)).fetchone() == (1,)
    other = service.api("POST", "/v1/customers", json={**body, "email": new_email()}, headers=headers)
    assert (other.status_code, code(other)) == (422, "IDEMPOTENCY_KEY_REUSED")
    # Keys are the caller's own: another caller's same key is another request.
    theirs = service.api("POST", "/v1/customers", json={**body, "email": new_email()}, headers=headers,
                         token=bearer("svc:another-admin", "customers:admin"))
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["data"]["customer"]["id"] != first.json()["data"]["customer"]["id"]


def test_a_retried_address_add_adds_one_address(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/addresses"
    headers = key()
    address = {"type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"}
    answers = [service.api("POST", path, json=address, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert len(service.api("GET", path).json()["data"]["addresses"]) == 1
    moved = service.api("POST", path, json={**address, "street": "2 Main St"}, headers=headers)
    assert (moved.status_code, code(moved)) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_retried_lifecycle_and_password_operations_answer_as_the_first(service: Service, db: Any) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    assert service.api("DELETE", path).status_code == 200
    headers = key()
    body = {"password": PASSWORD}
    first = service.api("POST", f"{path}/reactivation", token=own(customer), json=body, headers=headers)
    again = service.api("POST", f"{path}/reactivation", token=own(customer), json=body, headers=headers)
    assert (first.status_code, again.status_code, again.json()) == (200, 200, first.json())  # not a 409
    unkeyed = service.api("POST", f"{path}/reactivation", token=own(customer), json=body)
    assert (unkeyed.status_code, code(unkeyed)) == (409, "INVALID_STATUS_TRANSITION")
    change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    password_key = key()
    answers = [service.api("PUT", f"{path}/password", token=own(customer), json=change, headers=password_key)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [204, 204]  # the retry's current password is no longer right
    reset = reset_token(service, customer["email"])
    reset_key = key()
    assert redeem(service, reset, "Third-Passw0rd!", **reset_key).status_code == 204
    assert redeem(service, reset, "Third-Passw0rd!", **reset_key).status_code == 204  # its retry, not a reuse
    assert code(redeem(service, reset, "Third-Passw0rd!")) == "INVALID_TOKEN"
    assert login(service, customer["email"], "Third-Passw0rd!").status_code == 200
    # Decided once: one reactivation in the outbox, written in the transaction of the change.
    assert db.execute("SELECT count(*) FROM outbox WHERE customer_id = %s AND topic = 'customers.customer.reactivated'",
                      (customer_uuid(customer["id"]),)).fetchone() == (1,)


def test_a_malformed_key_is_a_400(service: Service) -> None:
    response = service.api("POST", "/v1/customers", json={"email": new_email(), "password": PASSWORD},
                           headers={"Idempotency-Key": "has space"})
    assert (response.status_code, code(response)) == (400, "VALIDATION_FAILED")
