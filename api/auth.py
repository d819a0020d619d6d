"""JWT bearer authentication and the access rules.

Tokens are verified with one pinned algorithm (HS256 with a shared secret, or RS256/ES256 with a
public key), so neither `alg: none` nor an HS/RS key confusion can pass; `exp`, `iss`, `aud` and
`sub` are required. A token whose subject is a customer id is that customer's own token and reaches
only that customer; any other subject is a service token, and its scopes decide.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import jwt

from domain.errors import DomainError, ErrorCode
from domain.ids import CUSTOMER_PREFIX

log = logging.getLogger(__name__)

READ = "customers:read"
WRITE = "customers:write"
ADMIN = "customers:admin"
CREDENTIALS = "customers:credentials"

LEEWAY_SECONDS = 10  # clock skew allowed on exp (and nbf)
VERIFIED_TOKENS_KEPT = 10_000


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    @property
    def is_customer(self) -> bool:
        return self.subject.startswith(CUSTOMER_PREFIX)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


class TokenVerifier:
    def __init__(self, *, algorithm: str, secret: str | None, public_key: str | None, issuer: str,
                 audience: str) -> None:
        if algorithm.startswith("HS"):
            if not secret or len(secret) < 32:
                raise ValueError("JWT_SECRET must be at least 32 characters for HMAC algorithms")
            self._key: str = secret
        elif algorithm in ("RS256", "ES256"):
            if not public_key:
                raise ValueError(f"JWT_PUBLIC_KEY is required for {algorithm}")
            self._key = public_key
        else:
            raise ValueError(f"unsupported JWT algorithm {algorithm!r}")
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        # Verified tokens and their expiry: a client sends the same token for its whole lifetime, and
        # verifying it again on every request was a tenth of the cached read's cost (bench/, py-spy).
        # Only a token that passed every check is kept, and it is refused again once expired.
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, authorization: str | None) -> Principal:
        """The token's principal. Every failure gets the same answer: which check failed would help
        only someone probing the verifier (it is logged at debug level for operators)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthenticated()
        token = authorization[7:].strip()
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            del self._verified[token]
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], issuer=self._issuer, audience=self._audience,
                options={"require": ["exp", "iss", "aud", "sub"]}, leeway=LEEWAY_SECONDS,
            )
        except jwt.InvalidTokenError as exc:
            log.debug("token refused: %s", type(exc).__name__)
            raise unauthenticated() from exc
        scope = claims.get("scope", claims.get("scopes", ""))
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        principal = Principal(str(claims["sub"]), frozenset(scopes))
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # simpler than LRU, and as cheap: a burst of new tokens re-verifies once
        self._verified[token] = (principal, float(claims["exp"]) + LEEWAY_SECONDS)
        return principal


def unauthenticated() -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, "a valid bearer token is required",
                       headers={"WWW-Authenticate": 'Bearer realm="customer-service"'})


def forbidden(message: str) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes and not principal.is_admin:
        raise forbidden(f"the token lacks the {scope} scope")


def authorize_customer(principal: Principal, customer_id: str, scope: str, *, services: bool = True) -> None:
    """Own record with `scope`; any record for admins, and for service tokens with `scope` if allowed."""
    if principal.is_admin:
        return
    require_scope(principal, scope)
    if principal.is_customer:
        if principal.subject != customer_id:
            raise forbidden("a customer token reaches only its own record")
    elif not services:
        raise forbidden("this operation needs the customer's own token or customers:admin")
