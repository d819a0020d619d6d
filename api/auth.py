"""JWT bearer authentication and the access rules.

Tokens are verified with one pinned algorithm (HS256 with a shared secret, or RS256/ES256 with a
public key), so neither `alg: none` nor an HS/RS key confusion can pass; `exp`, `iss`, `aud` and
`sub` are required. A token whose subject is a customer id is that customer's own token and reaches
only that customer; any other subject is a service token, and its scopes decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import jwt

from domain.errors import DomainError, ErrorCode
from domain.ids import CUSTOMER_PREFIX

log = logging.getLogger(__name__)

READ = "customers:read"
WRITE = "customers:write"
ADMIN = "customers:admin"
CREDENTIALS = "customers:credentials"


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

    def verify(self, authorization: str | None) -> Principal:
        """The token's principal. Every failure gets the same answer: which check failed would help
        only someone probing the verifier (it is logged at debug level for operators)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthenticated()
        token = authorization[7:].strip()
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], issuer=self._issuer, audience=self._audience,
                options={"require": ["exp", "iss", "aud", "sub"]}, leeway=10,
            )
        except jwt.InvalidTokenError as exc:
            log.debug("token refused: %s", type(exc).__name__)
            raise unauthenticated() from exc
        scope = claims.get("scope", claims.get("scopes", ""))
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        return Principal(str(claims["sub"]), frozenset(scopes))


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
