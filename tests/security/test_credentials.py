"""Attacks on the credential flows: parallel guessing, spraying, guessing through the password change,
sessions outliving a password, replaying used tokens, and secrets in the logs. Telling registered
emails apart by timing is tests/security/test_timing.py."""

from __future__ import annotations

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


def test_a_used_reset_token_cannot_be_replayed_under_an_idempotency_key(service: Service) -> None:
    """A redeemed token stays on record (for its own caller's retries): another request under a key of the
    attacker's own finds it used."""
    customer = service.create_customer()
    token = service.api("POST", "/v1/customers/password-resets", token=CREDENTIALS,
                        json={"email": customer["email"]}).json()["data"]["token"]
    redemption = {"token": token, "newPassword": "Owners-New-Passw0rd!"}
    assert service.api("POST", "/v1/customers/password-resets/redemption", token=CREDENTIALS,
                       json=redemption).status_code == 204
    replay = service.api("POST", "/v1/customers/password-resets/redemption",
                         token=bearer("svc:intruder", "customers:credentials"),
                         headers={"Idempotency-Key": f"attack-{uuid.uuid4().hex}"},
                         json={"token": token, "newPassword": "Attackers-Passw0rd!"})
    assert (replay.status_code, code(replay)) == (404, "INVALID_TOKEN")
    assert verify(service, customer["email"], "Owners-New-Passw0rd!").status_code == 200


def test_tokens_and_new_passwords_never_reach_the_logs(service: Service) -> None:
    logs = [service.stack.config.log_dir / f"customer-service{suffix}.log" for suffix in ("", "-daprd")]
    offsets = [log.stat().st_size for log in logs]
    customer = service.create_customer()
    new_password = f"Logged-{uuid.uuid4().hex[:8]}-X9!"
    reset = service.api("POST", "/v1/customers/password-resets", token=CREDENTIALS,
                        json={"email": customer["email"]}).json()["data"]["token"]
    assert service.api("POST", "/v1/customers/password-resets/redemption", token=CREDENTIALS,
                       json={"token": reset, "newPassword": new_password}).status_code == 204
    verification = service.api("POST", "/v1/customers/email-verifications", token=CREDENTIALS,
                               json={"customerId": customer["id"]}).json()["data"]["token"]
    assert service.api("POST", "/v1/customers/email-verifications/confirmation", token=CREDENTIALS,
                       json={"token": verification}).status_code == 200
    written = "".join(log.read_text()[offset:] for log, offset in zip(logs, offsets, strict=True))
    assert "password-resets/redemption" in written  # the access log saw the requests
    for secret in (reset, verification, new_password):
        assert secret not in written
