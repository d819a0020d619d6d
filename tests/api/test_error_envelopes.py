"""Every kind of failure answers the spec's error envelope with its own status and code, the request's
correlation id, the headers it promises, and nothing else: no exception text, no stack trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actors.client import ActorUnavailable
from domain.errors import DomainError, ErrorCode
from domain.ids import new_customer_id
from tests.api.conftest import InProcess
from tests.support.tokens import bearer

ADMIN = bearer("svc:admin", "customers:admin")
CUSTOMER = "/v1/customers/" + new_customer_id()


def refuse(error: Exception) -> Callable[[InProcess], None]:
    def setup(api: InProcess) -> None:
        async def failing(*_: Any, **__: Any) -> Any:
            raise error

        api.actors.call = failing  # type: ignore[method-assign]
    return setup


def no_token_owner(api: InProcess) -> None:
    api.records.tokens_known = False


# name: (setup, method, path, request kwargs, status, code, headers the answer must carry)
CASES: dict[str, tuple[Callable[[InProcess], None] | None, str, str, dict[str, Any], int, str, set[str]]] = {
    "no token": (None, "GET", CUSTOMER, {"headers": {}}, 401, "UNAUTHENTICATED", {"www-authenticate"}),
    "no scope": (None, "GET", CUSTOMER, {"headers": bearer("svc:x", "customers:other")}, 403, "FORBIDDEN", set()),
    "no route": (None, "GET", "/v1/nowhere", {}, 404, "ROUTE_NOT_FOUND", set()),
    "wrong method": (None, "PATCH", CUSTOMER, {}, 405, "METHOD_NOT_ALLOWED", {"allow"}),
    "unknown field": (None, "PUT", CUSTOMER, {"json": {"nickname": "x"}}, 400, "VALIDATION_FAILED", set()),
    "not JSON": (None, "PUT", CUSTOMER, {"content": b"{", "headers": {**ADMIN, "content-type": "application/json"}},
                 400, "MALFORMED_REQUEST", set()),
    "too large": (None, "PUT", CUSTOMER, {"content": b"x" * 70_000}, 413, "PAYLOAD_TOO_LARGE", set()),
    "bad email": (None, "POST", "/v1/customers", {"json": {"email": "nope", "password": "Sturdy-Passw0rd!"}},
                  400, "INVALID_EMAIL_FORMAT", set()),
    "weak password": (None, "POST", "/v1/customers", {"json": {"email": "a@example.com", "password": "password"}},
                      400, "WEAK_PASSWORD", set()),
    "no such customer": (refuse(DomainError(ErrorCode.CUSTOMER_NOT_FOUND, "customer x does not exist")),
                         "GET", CUSTOMER, {}, 404, "CUSTOMER_NOT_FOUND", set()),
    "key reused": (refuse(DomainError(ErrorCode.IDEMPOTENCY_KEY_REUSED, "used with another request")),
                   "DELETE", CUSTOMER, {"headers": {**ADMIN, "Idempotency-Key": "k1"}}, 422,
                   "IDEMPOTENCY_KEY_REUSED", set()),
    "bad key": (None, "DELETE", CUSTOMER, {"headers": {**ADMIN, "Idempotency-Key": "two words"}}, 400,
                "VALIDATION_FAILED", set()),
    "unknown token": (no_token_owner, "POST", "/v1/customers/email-verifications/confirmation",
                      {"json": {"token": "emailverify_x"}}, 404, "INVALID_TOKEN", set()),
    "actor unavailable": (refuse(ActorUnavailable("daprd did not answer")), "GET", CUSTOMER, {}, 503,
                          "SERVICE_UNAVAILABLE", {"retry-after"}),
    "a bug": (refuse(RuntimeError("secret detail")), "GET", CUSTOMER, {}, 500, "INTERNAL_ERROR", set()),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_each_failure_answers_the_envelope(api: InProcess, name: str) -> None:
    setup, method, path, kwargs, status, code, headers = CASES[name]
    if setup is not None:
        setup(api)
    kwargs = {"headers": ADMIN, **kwargs}
    kwargs["headers"] = {**kwargs["headers"], "X-Correlation-ID": f"corr-{len(name)}"}
    response = await api.client.request(method, path, **kwargs)
    body = response.json()
    assert (response.status_code, body["success"], body["error"]["code"]) == (status, False, code), body
    assert body["error"]["correlationId"] == f"corr-{len(name)}"
    assert set(body) == {"success", "error"}
    assert set(body["error"]) <= {"code", "message", "details", "correlationId"}
    assert headers <= set(response.headers)
    assert response.headers["x-correlation-id"] == f"corr-{len(name)}"
    for leak in ("Traceback", "secret detail", "daprd did not answer", "RuntimeError"):
        assert leak not in response.text


async def test_a_fixed_path_lists_its_own_methods_not_those_of_the_customer_path_it_shadows(api: InProcess) -> None:
    for path, allowed in (("/v1/customers/password-resets", "POST"), (CUSTOMER, "DELETE, GET, PUT")):
        response = await api.client.request("OPTIONS", path, headers=ADMIN)
        assert (response.status_code, response.headers["allow"]) == (405, allowed), path
