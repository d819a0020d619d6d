"""Who may do what: JWT verification, scopes, own record, rate limit, credentials and sessions."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher

from domain.ids import customer_uuid, new_customer_id
from persistence.redis_keys import rate_limit_key, session_key
from tests.support.service import Service
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, bearer, token


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def get(service: Service, customer_id: str, headers: dict[str, str]) -> Any:
    return service.api("GET", f"/v1/customers/{customer_id}", token=headers)


def test_missing_expired_foreign_and_unsigned_tokens_are_401(service: Service) -> None:
    customer = service.create_customer()
    claims = {"sub": "svc:x", "scope": "customers:admin", "iss": ISSUER, "aud": AUDIENCE}
    unsigned = (base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode() + "."
                + base64.urlsafe_b64encode(json.dumps({**claims, "exp": int(time.time()) + 60}).encode())
                .rstrip(b"=").decode() + ".")
    cases = {
        "missing": {},
        "not bearer": {"Authorization": "Basic abc"},
        "expired": bearer("svc:x", "customers:admin", exp=int(time.time()) - 60),
        "wrong audience": bearer("svc:x", "customers:admin", aud="another-service"),
        "wrong issuer": bearer("svc:x", "customers:admin", iss="https://evil.example"),
        "wrong key": {"Authorization": "Bearer " + token("svc:x", "customers:admin", secret="x" * 40)},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "garbage": {"Authorization": "Bearer not.a.token"},
    }
    for name, headers in cases.items():
        response = get(service, customer["id"], headers)
        assert response.status_code == 401, name
        assert code(response) == "UNAUTHENTICATED", name
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_hs256_token_made_with_no_exp_is_rejected(service: Service) -> None:
    no_exp = jwt.encode({"sub": "svc:x", "scope": "customers:admin", "iss": ISSUER, "aud": AUDIENCE}, SECRET)
    assert get(service, new_customer_id(), {"Authorization": f"Bearer {no_exp}"}).status_code == 401


def test_a_customer_reaches_only_its_own_record(service: Service) -> None:
    me, other = service.create_customer(), service.create_customer()
    mine = bearer(me["id"], "customers:read", "customers:write")
    assert get(service, me["id"], mine).status_code == 200
    foreign = get(service, other["id"], mine)
    assert foreign.status_code == 403
    assert code(foreign) == "FORBIDDEN"
    assert service.api("PUT", f"/v1/customers/{other['id']}", token=mine, json={}).status_code == 403
    assert service.api("POST", "/v1/customers", token=mine,
                       json={"email": "x@example.com", "password": "securePassword123"}).status_code == 403


def test_scopes_are_required(service: Service) -> None:
    customer = service.create_customer()
    read_only = bearer(customer["id"], "customers:read")
    assert get(service, customer["id"], read_only).status_code == 200
    write = service.api("PUT", f"/v1/customers/{customer['id']}", token=read_only, json={"profile": {}})
    assert write.status_code == 403
    assert get(service, customer["id"], bearer(customer["id"])).status_code == 403
    assert service.api("DELETE", f"/v1/customers/{customer['id']}",
                       token=bearer("svc:order-service", "customers:write")).status_code == 403


def test_service_tokens_read_any_customer_and_admins_do_everything(service: Service) -> None:
    customer = service.create_customer()
    assert get(service, customer["id"], bearer("svc:order-service", "customers:read")).status_code == 200
    assert service.api("GET", f"/v1/customers/{customer['id']}/export",
                       token=bearer("svc:order-service", "customers:read")).status_code == 403
    assert service.api("GET", f"/v1/customers/{customer['id']}/export",
                       token=bearer("svc:dpo", "customers:admin")).status_code == 200


def test_more_than_1000_requests_a_minute_is_429_with_retry_after(service: Service) -> None:
    customer_id = new_customer_id()
    window = int(time.time() // 60)
    store = service.stack.redis_client()
    for minute in (window, window + 1):  # the minute may turn mid-test
        store.set(rate_limit_key(customer_id, "user", minute), 1000, ex=121)
    response = get(service, customer_id, bearer(customer_id, "customers:read"))
    assert response.status_code == 429
    assert code(response) == "RATE_LIMITED"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["RateLimit-Policy"] == '"user";q=1000;w=60'
    assert response.headers["RateLimit"].startswith('"user";r=0;t=')


def test_answers_carry_the_rate_limit_fields_counted_by_real_requests(service: Service) -> None:
    """Counted by the limiter's own script, request by request (tests/integration/test_ratelimit.py takes
    the same counting to its limits)."""
    if time.time() % 60 > 55:  # a minute's boundary would weigh the count by what is left of the window
        time.sleep(61 - time.time() % 60)
    customer = service.create_customer()
    caller = bearer(f"svc:counted-{uuid.uuid4().hex[:6]}", "customers:read")
    answers = [get(service, customer["id"], caller) for _ in range(3)]
    answers.append(get(service, new_customer_id(), caller))  # an error answer is counted and says so too
    assert [a.status_code for a in answers] == [200, 200, 200, 404]
    assert {a.headers["RateLimit-Policy"] for a in answers[:3]} == {'"customer";q=1000;w=60'}
    assert [a.headers["RateLimit"].split(";")[1] for a in answers[:3]] == ["r=999", "r=998", "r=997"]
    assert answers[3].headers["RateLimit"].split(";")[1] == "r=999"  # another customer's own budget


def test_a_service_is_limited_per_customer_it_acts_for_with_a_sliding_window(service: Service) -> None:
    busy, other = service.create_customer(), service.create_customer()
    subject = f"svc:busy-{uuid.uuid4().hex[:6]}"
    window = int(time.time() // 60)
    store = service.stack.redis_client()
    # The last minute's requests still weigh on this one: a fixed window would have reset at the minute.
    for minute in (window - 1, window):
        store.set(rate_limit_key(subject, f"for:{busy['id']}", minute), 10**6 if minute < window else 0,
                  ex=121)
    token = bearer(subject, "customers:read")
    assert get(service, busy["id"], token).status_code == 429
    assert get(service, other["id"], token).status_code == 200  # another customer's budget is untouched


CREDENTIALS = bearer("svc:auth-service", "customers:credentials")


def verify(service: Service, email: str, password: str) -> Any:
    return service.api("POST", "/v1/customers/credentials/verify", token=CREDENTIALS,
                       json={"email": email, "password": password})


def test_credentials_open_a_session_and_record_the_login(service: Service, db: Any) -> None:
    customer = service.create_customer()
    response = verify(service, customer["email"].upper(), "Sturdy-Passw0rd!")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["customerId"] == customer["id"]
    session_id = data["session"]["sessionId"]
    ttl = service.stack.redis_client().ttl(session_key(session_id))
    assert 1700 < ttl <= 1800

    fetched = service.api("GET", f"/v1/customers/sessions/{session_id}", token=CREDENTIALS)
    assert fetched.json()["data"]["session"]["customerId"] == customer["id"]
    assert service.api("GET", f"/v1/customers/{customer['id']}").json()["data"]["customer"]["lastLoginAt"]
    logins = db.execute("SELECT count(*) FROM customer_activities WHERE customer_id = %s AND activity_type = 'login'",
                        (customer_uuid(customer["id"]),)).fetchone()[0]
    assert logins == 1
    assert service.api("DELETE", f"/v1/customers/sessions/{session_id}", token=CREDENTIALS).status_code == 204
    gone = service.api("GET", f"/v1/customers/sessions/{session_id}", token=CREDENTIALS)
    assert gone.status_code == 404
    assert code(gone) == "SESSION_NOT_FOUND"


def test_wrong_password_and_unknown_email_look_the_same_and_are_throttled(service: Service) -> None:
    customer = service.create_customer()
    unknown = verify(service, f"nobody-{uuid.uuid4().hex[:6]}@example.com", "Sturdy-Passw0rd!")
    wrong = verify(service, customer["email"], "Wrong-Passw0rd!")
    assert unknown.status_code == wrong.status_code == 401
    assert code(unknown) == code(wrong) == "INVALID_CREDENTIALS"
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    for _ in range(4):
        verify(service, customer["email"], "Wrong-Passw0rd!")
    throttled = verify(service, customer["email"], "Sturdy-Passw0rd!")  # right password, too late
    assert throttled.status_code == 429
    assert code(throttled) == "TOO_MANY_LOGIN_ATTEMPTS"
    assert int(throttled.headers["Retry-After"]) > 0


def test_credentials_need_their_scope(service: Service) -> None:
    response = service.api("POST", "/v1/customers/credentials/verify", token=bearer("svc:x", "customers:read"),
                           json={"email": "a@example.com", "password": "x"})
    assert response.status_code == 403


def test_a_hash_with_old_argon2_parameters_is_upgraded_at_login(service: Service, db: Any) -> None:
    customer = service.create_customer()
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Sturdy-Passw0rd!")
    db.execute("UPDATE customers SET password_hash = %s WHERE id = %s", (old, customer_uuid(customer["id"])))
    assert verify(service, customer["email"], "Sturdy-Passw0rd!").status_code == 200
    upgraded = db.execute("SELECT password_hash FROM customers WHERE id = %s",
                          (customer_uuid(customer["id"]),)).fetchone()[0]
    assert upgraded != old
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert verify(service, customer["email"], "Sturdy-Passw0rd!").status_code == 200
