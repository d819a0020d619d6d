"""Attacks on the credential flows: parallel guessing, spraying, guessing through the password change,
sessions outliving a password, and telling registered emails apart by timing."""

from __future__ import annotations

import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.service import Service
from tests.support.tokens import bearer

CREDENTIALS = bearer("svc:auth-service", "customers:credentials")
PASSWORD = "Sturdy-Passw0rd!"
MAX_LOGIN_ATTEMPTS = 5  # LOGIN_MAX_FAILURES' default
MAX_PER_CLIENT = 20  # LOGIN_MAX_ATTEMPTS_PER_CLIENT's default


def verify(service: Service, email: str, password: str, **extra: Any) -> httpx.Response:
    return service.api("POST", "/v1/customers/credentials/verify", token=CREDENTIALS,
                       json={"email": email, "password": password, **extra})


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_thirty_parallel_guesses_evaluate_at_most_the_limit(service: Service, db: Any) -> None:
    customer = service.create_customer()
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda i: verify(service, customer["email"], f"Wrong-Passw0rd-{i}!"), range(30)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) <= MAX_LOGIN_ATTEMPTS, statuses
    assert set(statuses) <= {401, 429}, statuses
    assert all(code(a) == "TOO_MANY_LOGIN_ATTEMPTS" for a in answers if a.status_code == 429)
    # Even the right password waits out the window now.
    assert verify(service, customer["email"], PASSWORD).status_code == 429


def test_spraying_one_password_across_accounts_from_one_client_is_throttled(service: Service) -> None:
    client = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    answers = [verify(service, f"victim-{uuid.uuid4().hex[:8]}@example.com", "Summer2026!", clientAddress=client)
               for _ in range(MAX_PER_CLIENT + 3)]
    statuses = [a.status_code for a in answers]
    assert statuses[:MAX_PER_CLIENT] == [401] * MAX_PER_CLIENT
    assert statuses[MAX_PER_CLIENT:] == [429] * 3
    # Another client is not held back by this one.
    other = verify(service, f"victim-{uuid.uuid4().hex[:8]}@example.com", "Summer2026!", clientAddress="198.51.100.7")
    assert other.status_code == 401


def test_the_password_change_cannot_be_used_to_guess(service: Service) -> None:
    customer = service.create_customer()
    own = bearer(customer["id"], "customers:read", "customers:write")
    path = f"/v1/customers/{customer['id']}/password"
    statuses = [service.api("PUT", path, token=own, json={"currentPassword": f"Guess-{i}-Passw0rd!",
                                                          "newPassword": "Another-Passw0rd!"}).status_code
                for i in range(MAX_LOGIN_ATTEMPTS + 2)]
    assert statuses == [401] * MAX_LOGIN_ATTEMPTS + [429, 429]


def login(service: Service, email: str, password: str = PASSWORD) -> str:
    response = verify(service, email, password)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["session"]["sessionId"])


def session_alive(service: Service, session_id: str) -> bool:
    return service.api("GET", f"/v1/customers/sessions/{session_id}", token=CREDENTIALS).status_code == 200


def test_sessions_end_with_a_password_change(service: Service) -> None:
    customer = service.create_customer()
    sessions = [login(service, customer["email"]) for _ in range(2)]
    own = bearer(customer["id"], "customers:read", "customers:write")
    changed = service.api("PUT", f"/v1/customers/{customer['id']}/password", token=own,
                          json={"currentPassword": PASSWORD, "newPassword": "Another-Passw0rd!"})
    assert changed.status_code == 204
    assert not any(session_alive(service, s) for s in sessions)
    assert session_alive(service, login(service, customer["email"], "Another-Passw0rd!"))


def test_sessions_end_with_deactivation_and_erasure(service: Service) -> None:
    deactivated, erased = service.create_customer(), service.create_customer()
    first, second = login(service, deactivated["email"]), login(service, erased["email"])
    assert service.api("DELETE", f"/v1/customers/{deactivated['id']}").status_code == 200
    assert service.api("POST", f"/v1/customers/{erased['id']}/erasure").status_code == 200
    assert not session_alive(service, first)
    assert not session_alive(service, second)


def timed(service: Service, email: str) -> float:
    started = time.perf_counter()
    response = verify(service, email, "Wrong-Passw0rd!", clientAddress=f"192.0.2.{uuid.uuid4().int % 250 + 1}")
    elapsed = time.perf_counter() - started
    assert response.status_code == 401
    return elapsed


def test_login_time_does_not_tell_whether_an_email_is_registered(service: Service) -> None:
    known = [service.create_customer()["email"] for _ in range(12)]
    unknown = [f"nobody-{uuid.uuid4().hex[:8]}@example.com" for _ in range(12)]
    timed(service, unknown[0])  # warm both paths once
    timed(service, known[0])
    known_median = statistics.median(timed(service, e) for e in known)
    unknown_median = statistics.median(timed(service, e) for e in unknown)
    # Both paths verify one argon2 hash; the known path adds an actor call, a few milliseconds.
    assert abs(known_median - unknown_median) < 0.25 * max(known_median, unknown_median), \
        (known_median, unknown_median)


def test_one_customers_guesses_do_not_hold_back_anothers_password_change(service: Service) -> None:
    """Password changes arrive from the caller's sidecar, one address for everyone: counted per account."""
    for _ in range(MAX_PER_CLIENT // (MAX_LOGIN_ATTEMPTS - 1)):
        guesser = service.create_customer()
        for i in range(MAX_LOGIN_ATTEMPTS - 1):
            service.api("PUT", f"/v1/customers/{guesser['id']}/password",
                        token=bearer(guesser["id"], "customers:write"),
                        json={"currentPassword": f"Guess-{i}-Passw0rd!", "newPassword": "Another-Passw0rd!"})
    customer = service.create_customer()
    changed = service.api("PUT", f"/v1/customers/{customer['id']}/password",
                          token=bearer(customer["id"], "customers:write"),
                          json={"currentPassword": PASSWORD, "newPassword": "Another-Passw0rd!"})
    assert changed.status_code == 204, changed.text
