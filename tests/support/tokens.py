"""JWTs as the platform's auth service would issue them, signed with the test stack's settings."""

from __future__ import annotations

import time
from typing import Any

import jwt

SECRET = "e2e-test-secret-that-is-long-enough-0123456789"
ISSUER = "https://auth.test"
AUDIENCE = "customer-service"


# Modules mint their tokens when imported, at collection: each must outlive the whole test session (the
# first tier runs about 12 minutes; at 10 minutes test_timing's token expired mid-run, and its 401s were
# the token's, not the password's). Tests of expiry set `exp` themselves.
LIFETIME_SECONDS = 3600


def token(subject: str, *scopes: str, secret: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    body: dict[str, Any] = {"sub": subject, "scope": " ".join(scopes), "iss": ISSUER, "aud": AUDIENCE,
                            "exp": int(time.time()) + LIFETIME_SECONDS, **claims}
    return jwt.encode(body, secret, algorithm=algorithm)


def bearer(subject: str, *scopes: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject, *scopes, **claims)}"}
