"""schemathesis hooks for bench.fuzz (loaded through SCHEMATHESIS_HOOKS): fresh values where the service
wants unique ones, and the spec's one 400 that a customer's state gives.

The spec's error table answers a full address book (10 addresses) with 400 ADDRESS_LIMIT_EXCEEDED, so a
schema-valid address can meet a 400 that depends on the book, not on the request, as 409 does for a
taken email. `schema_valid_requests_are_taken` is schemathesis's positive_data_acceptance with that one
code let through (bench/fuzz.py runs it instead of the built-in).

A generator draws emails from a small space ("0@0.AA" again and again), so all but the first registration
met 409 EMAIL_ALREADY_EXISTS, and the stateful phase had few customers to follow its links from. A
registration's email that matches the document's pattern gets a unique prefix on its local part (still a
match); one that does not is sent as generated, so a negative case stays negative. schemathesis itself
suggests this hook when conflicts dominate.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domain.validation import EMAIL_MAX_LENGTH, EMAIL_PATTERN

REGISTRATION = ("POST", "/v1/customers")
# 400s of the spec's error table that a customer's state gives, not the request's form.
STATE_400_CODES = frozenset({"ADDRESS_LIMIT_EXCEEDED"})


def _error_code(response: Any) -> str | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


@schemathesis.check
def schema_valid_requests_are_taken(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 400 and _error_code(response) in STATE_400_CODES:
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if (case.operation.method.upper(), case.operation.path) != REGISTRATION or not isinstance(case.body, dict):
        return
    email = case.body.get("email")
    if isinstance(email, str) and EMAIL_PATTERN.search(email):
        fresh = f"{uuid.uuid4().hex[:10]}.{email}"
        if len(fresh) <= EMAIL_MAX_LENGTH:
            case.body["email"] = fresh
