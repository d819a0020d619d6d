"""Customer accounts end to end through daprd: every endpoint, every error code, events on pub/sub."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from devstack.servers import LocalPostgres
from domain.ids import customer_uuid, new_customer_id
from persistence.redis_keys import profile_key
from tests.support.service import Service, admin, outbox_count, wait_for, wait_for_events
from tests.support.tokens import bearer


def new_email() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}@example.com"


def error_code(response: Any) -> str:
    body = response.json()
    assert body["success"] is False
    return str(body["error"]["code"])


def test_create_returns_the_spec_shape_and_publishes_customer_created(service: Service) -> None:
    correlation = f"corr_test_{uuid.uuid4().hex[:8]}"
    response = service.api("POST", "/v1/customers", headers={"X-Correlation-ID": correlation}, json={
        "email": new_email(), "password": "securePassword123",
        "profile": {"firstName": "Jane", "lastName": "Smith", "phone": "+1-555-0125"},
        "preferences": {"language": "en", "currency": "USD", "marketing": {"emailOptIn": True}},
    })
    assert response.status_code == 201
    customer = response.json()["data"]["customer"]
    assert response.headers["Location"] == f"/v1/customers/{customer['id']}"
    assert response.headers["ETag"] == '"1"'
    assert customer["profile"] == {"firstName": "Jane", "lastName": "Smith", "dateOfBirth": None, "gender": None,
                                   "phone": "+1-555-0125", "avatar": None}
    assert customer["segment"] == {"tier": "regular", "segment": "new_customer", "loyaltyPoints": 0,
                                   "totalSpent": 0.0, "orderCount": 0, "averageOrderValue": 0.0}
    assert customer["preferences"]["marketing"] == {"emailOptIn": True, "smsOptIn": False, "pushOptIn": False}
    assert customer["status"] == "active"
    assert "password" not in json.dumps(response.json()).lower()

    [event] = wait_for_events(service, "customers.customer.created", customer["id"])
    assert event["eventType"] == "CustomerCreated"
    assert event["version"] == "1.0"
    assert event["source"] == "customer-service"
    assert event["eventId"].startswith("evt_")
    assert event["metadata"]["correlationId"] == correlation
    assert event["data"]["segment"] == {"tier": "regular", "segment": "new_customer"}
    assert "password" not in json.dumps(event).lower()


def test_get_reads_back_and_caches_without_the_password_hash(service: Service) -> None:
    customer = service.create_customer()
    response = service.api("GET", f"/v1/customers/{customer['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["customer"] == customer
    cached = service.stack.redis_client().get(profile_key(customer["id"]))
    assert cached is not None
    assert b"argon2" not in cached
    assert b"password" not in cached.lower()


def test_create_rejects_bad_email_and_weak_password(service: Service) -> None:
    bad_email = service.api("POST", "/v1/customers", json={"email": "not-an-email", "password": "securePassword123"})
    assert bad_email.status_code == 400
    assert error_code(bad_email) == "INVALID_EMAIL_FORMAT"
    weak = service.api("POST", "/v1/customers", json={"email": new_email(), "password": "password123"})
    assert weak.status_code == 400
    assert error_code(weak) == "WEAK_PASSWORD"
    assert weak.json()["error"]["details"][0]["field"] == "password"


def test_duplicate_email_is_409_whatever_the_case(service: Service) -> None:
    email = new_email()
    service.create_customer(email=email)
    again = service.api("POST", "/v1/customers", json={"email": email.upper().replace("@EXAMPLE.COM", "@example.com"),
                                                        "password": "securePassword123"})
    assert again.status_code == 409
    assert error_code(again) == "EMAIL_ALREADY_EXISTS"


def test_two_racing_registrations_of_one_email_make_one_account(service: Service, db: Any) -> None:
    email = new_email()

    def register(_: int) -> tuple[int, str]:
        response = service.api("POST", "/v1/customers", json={"email": email, "password": "securePassword123"})
        return response.status_code, response.text

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(register, range(6)))
    assert sorted(status for status, _ in results) == [201, 409, 409, 409, 409, 409], results
    assert db.execute("SELECT count(*) FROM customers WHERE lower(email) = %s", (email,)).fetchone()[0] == 1


def test_bad_requests_get_clear_4xx(service: Service) -> None:
    malformed = service.api("POST", "/v1/customers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert error_code(malformed) == "MALFORMED_REQUEST"

    wrong_type = service.api("POST", "/v1/customers", json={"email": 42, "password": ["x"]})
    assert wrong_type.status_code == 400
    assert error_code(wrong_type) == "VALIDATION_FAILED"
    assert {d["field"] for d in wrong_type.json()["error"]["details"]} == {"email", "password"}

    unknown_field = service.api("PUT", f"/v1/customers/{new_customer_id()}", json={"profile": {"shoeSize": 44}})
    assert unknown_field.status_code == 400

    oversized = service.api("POST", "/v1/customers", content=b'{"email": "' + b"a" * 70_000 + b'"}',
                            headers={"Content-Type": "application/json"})
    assert oversized.status_code == 413
    assert error_code(oversized) == "PAYLOAD_TOO_LARGE"

    expected = {f"/v1/customers/{new_customer_id()}": "CUSTOMER_NOT_FOUND", "/v1/customers/cust_456":
                "CUSTOMER_NOT_FOUND", "/v1/customers/456": "ROUTE_NOT_FOUND", "/v1/customers/../etc": "ROUTE_NOT_FOUND"}
    for path, code in expected.items():
        missing = service.api("GET", path)
        assert (missing.status_code, error_code(missing)) == (404, code), path
    assert error_code(service.api("GET", f"/v1/customers/{new_customer_id()}")) == "CUSTOMER_NOT_FOUND"
    assert error_code(service.api("GET", "/v1/nothing-here")) == "ROUTE_NOT_FOUND"
    assert error_code(service.api("PATCH", f"/v1/customers/{new_customer_id()}")) == "METHOD_NOT_ALLOWED"


def test_partial_update_merges_preferences_records_consent_and_publishes(service: Service, db: Any) -> None:
    customer = service.create_customer(preferences={"marketing": {"emailOptIn": True}})
    response = service.api("PUT", f"/v1/customers/{customer['id']}", json={
        "profile": {"phone": "+1-555-0124", "dateOfBirth": "1985-06-15"},
        "preferences": {"marketing": {"smsOptIn": True}, "timezone": "America/New_York"},
    })
    assert response.status_code == 200
    updated = response.json()["data"]["customer"]
    assert response.headers["ETag"] == '"2"'
    assert updated["profile"]["firstName"] == "Ada"
    assert updated["profile"]["dateOfBirth"] == "1985-06-15"
    assert updated["preferences"]["marketing"] == {"emailOptIn": True, "smsOptIn": True, "pushOptIn": False}
    assert updated["preferences"]["timezone"] == "America/New_York"

    [event] = wait_for_events(service, "customers.profile.updated", customer["id"])
    assert set(event["data"]["changedFields"]) == {"profile.phone", "profile.dateOfBirth",
                                                   "preferences.marketing.smsOptIn", "preferences.timezone"}
    history = db.execute("SELECT channel, granted, source FROM customer_consents WHERE customer_id = %s ORDER BY id",
                         (customer_uuid(customer["id"]),)).fetchall()
    # Who decided: the admin service token that made the update, the one that registered the customer.
    assert history[-1] == ("sms", True, "update:service:svc:e2e-admin")
    assert ("email", True, "registration:service:svc:e2e-admin") in history


def test_stale_if_match_is_412_and_changes_nothing(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    first = service.api("PUT", path, headers={"If-Match": '"1"'}, json={"profile": {"firstName": "Bea"}})
    assert first.status_code == 200
    stale = service.api("PUT", path, headers={"If-Match": '"1"'}, json={"profile": {"firstName": "Cleo"}})
    assert stale.status_code == 412
    assert error_code(stale) == "PRECONDITION_FAILED"
    assert service.api("GET", path).json()["data"]["customer"]["profile"]["firstName"] == "Bea"


def test_deactivation_is_idempotent_and_published_once(service: Service, db: Any) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    for _ in range(2):
        response = service.api("DELETE", path)
        assert response.status_code == 200
        assert response.json()["data"]["customer"]["status"] == "inactive"
    wait_for_events(service, "customers.customer.deactivated", customer["id"])
    blocked = service.api("PUT", path, json={"profile": {"firstName": "Again"}})
    assert blocked.status_code == 409
    assert error_code(blocked) == "CUSTOMER_NOT_ACTIVE"
    assert outbox_count(db, customer["id"], "customers.customer.deactivated") == 1


def test_export_holds_every_piece_of_personal_data(service: Service) -> None:
    customer = service.create_customer(preferences={"marketing": {"pushOptIn": True}})
    service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"phone": "+44 20 7946 0958"}})
    export = service.api("GET", f"/v1/customers/{customer['id']}/export").json()["data"]["export"]
    assert export["customer"]["email"] == customer["email"]
    assert export["customer"]["phone"] == "+44 20 7946 0958"
    assert "password_hash" not in export["customer"]
    assert export["customer"]["preferences"]["marketing"]["pushOptIn"] is True
    assert {(c["channel"], c["granted"]) for c in export["consentHistory"]} >= {("push", True), ("email", False)}
    assert export["segment"]["tier"] == "regular"
    assert [a["activity_type"] for a in export["activities"]] == ["registration", "profile_updated"]
    assert export["addresses"] == []


def test_erasure_anonymises_purges_and_announces(service: Service, db: Any) -> None:
    customer = service.create_customer(profile={"firstName": "Erin", "lastName": "Erased", "phone": "+1-555-0100"})
    response = service.api("POST", f"/v1/customers/{customer['id']}/erasure")
    assert response.status_code == 200
    assert response.json()["data"]["erased"] is True

    row = db.execute("SELECT email, first_name, last_name, phone, status, password_hash FROM customers WHERE id = %s",
                     (customer_uuid(customer["id"]),)).fetchone()
    assert row[0].endswith("@erased.invalid")
    assert row[1:4] == (None, None, None)
    assert row[4:] == ("deleted", "erased")
    activity_data = db.execute("SELECT activity_data FROM customer_activities WHERE customer_id = %s",
                               (customer_uuid(customer["id"]),)).fetchall()
    assert all(data == {} for (data,) in activity_data)
    assert service.actor_state(customer["id"], "customer").status_code == 204
    assert service.stack.redis_client().get(profile_key(customer["id"])) is None
    wait_for_events(service, "customers.customer.erased", customer["id"])
    gone = service.api("GET", f"/v1/customers/{customer['id']}")
    assert gone.status_code == 404
    assert service.api("POST", f"/v1/customers/{customer['id']}/erasure").status_code == 200  # idempotent


def test_no_customer_data_is_written_to_dapr_state(service: Service) -> None:
    """PostgreSQL is the one durable copy: the actor keeps its working copy in memory, so nothing of the
    customer goes to the actor state store through daprd, whatever the change."""
    customer = service.create_customer(profile={"firstName": "Rhea"})
    assert service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"lastName": "Kept"}}
                       ).status_code == 200
    added = service.api("POST", f"/v1/customers/{customer['id']}/addresses", json={
        "type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"})
    assert added.status_code == 201
    assert service.api("GET", f"/v1/customers/{customer['id']}/segment").status_code == 200
    store = service.stack.redis_client()
    assert list(store.scan_iter(f"*CustomerActor||{customer['id']}||*")) == []


def test_password_change_needs_the_current_password(service: Service) -> None:
    customer = service.create_customer()
    own = bearer(customer["id"], "customers:write")
    path = f"/v1/customers/{customer['id']}/password"
    wrong = service.api("PUT", path, token=own, json={"currentPassword": "nope", "newPassword": "An0ther-Secret!"})
    assert wrong.status_code == 401
    assert error_code(wrong) == "INVALID_CREDENTIALS"
    weak = service.api("PUT", path, token=own, json={"currentPassword": "Sturdy-Passw0rd!", "newPassword": "short"})
    assert error_code(weak) == "WEAK_PASSWORD"
    changed = service.api("PUT", path, token=own,
                          json={"currentPassword": "Sturdy-Passw0rd!", "newPassword": "An0ther-Secret!"})
    assert changed.status_code == 204


def test_openapi_describes_every_route_in_camel_case(service: Service) -> None:
    spec = service.api("GET", "/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/customers", "/v1/customers/{customer_id}", "/v1/customers/{customer_id}/addresses",
                 "/v1/customers/{customer_id}/addresses/{address_id}", "/v1/customers/{customer_id}/segment",
                 "/v1/customers/segments", "/v1/customers/{customer_id}/export",
                 "/v1/customers/{customer_id}/erasure", "/v1/customers/credentials/verify",
                 "/v1/customers/{customer_id}/orders/summary", "/v1/customers/{customer_id}/analytics"):
        assert path in paths, path
    schemas = spec["components"]["schemas"]
    assert {"firstName", "lastName", "dateOfBirth"} <= set(schemas["ProfileIn"]["properties"])
    assert {"emailOptIn", "smsOptIn", "pushOptIn"} <= set(schemas["MarketingIn"]["properties"])
    assert "zipCode" in schemas["AddressIn"]["properties"]
    created = paths["/v1/customers"]["post"]["responses"]
    assert {"201", "400", "409"} <= set(created)


def test_a_write_while_postgres_is_down_is_503_and_changes_nothing(service: Service,
                                                                  local_postgres: LocalPostgres) -> None:
    customer = service.create_customer(profile={"firstName": "Before"})
    path = f"/v1/customers/{customer['id']}"
    local_postgres.stop()
    try:
        during = service.api("PUT", path, json={"profile": {"firstName": "During"}})
        assert during.status_code == 503
        assert error_code(during) == "SERVICE_UNAVAILABLE"
        assert during.headers["Retry-After"] == "1"
        read = service.api("GET", path)  # the active actor's copy still answers
        assert read.status_code == 200
        assert read.json()["data"]["customer"]["profile"]["firstName"] == "Before"
    finally:
        local_postgres.start()
    after = wait_for(lambda: (r := service.api("GET", path)).status_code == 200 and r, what="PostgreSQL back")
    assert after.json()["data"]["customer"]["profile"]["firstName"] == "Before"
    assert after.headers["ETag"] == '"1"'


def test_a_wrong_method_names_every_allowed_one_and_no_path_redirects(service: Service) -> None:
    customer = service.create_customer()
    wrong = service.api("PATCH", f"/v1/customers/{customer['id']}", json={})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert wrong.headers["Allow"] == "DELETE, GET, PUT"  # three routes serve the path, not just the first
    # daprd drops a trailing slash before the app sees it; "/?" once reached the app, which redirected to
    # its own loopback address. The app itself redirects nothing either.
    through_daprd = service.api("GET", "/v1/customers/sessions/?", follow_redirects=False)
    direct = httpx.get(f"http://127.0.0.1:{service.app.ports.app}/v1/customers/sessions/", headers=admin())
    for slashed in (through_daprd, direct):  # "sessions" is not a customer id (api/access.py's convertor)
        assert (slashed.status_code, slashed.json()["error"]["code"]) == (404, "ROUTE_NOT_FOUND")
        assert "location" not in slashed.headers
