"""The Idempotency-Key header: a retried request is answered as its first attempt was.

A key names a request id, the one the customer's actor already knows repeats by (actors/turn.py): the
turn answers a committed command's repeat from its recent answers, and after a restart or a move from
`actor_replies`, written in the command's transaction and kept for `IDEMPOTENCY_WINDOW`. So a retry is
answered by the same code that answers daprd's own retries, on any replica, with the first answer's
status, body, ETag and Location (all derived from the actor's answer).

- Scope: the request id is a hash of the caller (the token's subject) and the key, so two callers'
  keys never meet. A registration has no customer yet: its customer id is derived the same way, so the
  retry reaches the actor that holds the first attempt's answer.
- Reuse: the command carries a fingerprint of the route and the body; a repeat whose fingerprint differs
  is refused with 422 IDEMPOTENCY_KEY_REUSED. Fields that hold secrets are left out of the fingerprint
  (api/schemas.py `secret`): a fast hash of a password must not be kept beside its argon2 hash, so a
  retry that differs only in a password is answered as the first attempt.
- Not offered where the answer holds a secret (a login's session, a reset or verification token):
  replaying it would mean keeping it. Retrying those issues a new secret, which supersedes the last.
- Without the header, each request is new, as before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute

from api.auth import Principal
from api.schemas import Body
from domain.ids import CUSTOMER_PREFIX

# How long a key is honoured: actor_replies rows are pruned after this (service/maintenance.py).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Idempotency:
    """The request's Idempotency-Key (None: none sent), and the route it came to."""

    key: str | None
    route: str

    def command(self, principal: Principal, body: Body | None = None) -> dict[str, Any]:
        """The request id and fingerprint for the request's actor command, or nothing without a key."""
        if self.key is None:
            return {}
        fingerprint = _digest(self.route, json.dumps(None if body is None else body.without_secrets(),
                                                     sort_keys=True, separators=(",", ":")))
        return {"request_id": "idem_" + _digest(principal.subject, self.key)[:40], "fingerprint": fingerprint}

    def customer_id(self, principal: Principal) -> str | None:
        """A registration's customer id under the key: the same for every retry of the caller's request."""
        if self.key is None:
            return None
        return CUSTOMER_PREFIX + _digest("customer", principal.subject, self.key)[:32]


KEY_HEADER = Header(
    alias="Idempotency-Key", pattern=r"^[\x21-\x7e]{1,255}$",  # visible ASCII, as the IETF draft allows
    description="Makes a retry safe: the same key and body within 24 h replay the first answer; the same key "
                "with another body is 422 IDEMPOTENCY_KEY_REUSED. Keys are scoped to the caller.")


async def idempotency(request: Request,
                      idempotency_key: Annotated[str | None, KEY_HEADER] = None) -> Idempotency:
    route = request.scope.get("route")
    return Idempotency(idempotency_key,
                       f"{request.method} {route.path_format if isinstance(route, APIRoute) else ''}")


IdempotencyKey = Annotated[Idempotency, Depends(idempotency)]
