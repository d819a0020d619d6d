"""schemathesis hooks for bench.fuzz (loaded through SCHEMATHESIS_HOOKS): fresh values where the service
wants unique ones.

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

from domain.validation import EMAIL_MAX_LENGTH, EMAIL_PATTERN

REGISTRATION = ("POST", "/v1/customers")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if (case.operation.method.upper(), case.operation.path) != REGISTRATION or not isinstance(case.body, dict):
        return
    email = case.body.get("email")
    if isinstance(email, str) and EMAIL_PATTERN.search(email):
        fresh = f"{uuid.uuid4().hex[:10]}.{email}"
        if len(fresh) <= EMAIL_MAX_LENGTH:
            case.body["email"] = fresh
