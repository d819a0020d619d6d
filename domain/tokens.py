"""Single-use tokens that prove control of an email address: password reset and email verification.

A token is 256 random bits, shown once to the trusted service that mails it, and kept only as its
SHA-256 (a token has the entropy a password lacks, so a fast hash is enough). There is one live token
per customer and purpose: a newer one replaces the older. Redeeming one deletes it in the transaction
of the change it authorises, so it works once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
    EMAIL_VERIFICATION = "email_verification"


# Readable in a support ticket or a leaked log line: which kind of token it is, never whose.
PREFIXES = {TokenPurpose.PASSWORD_RESET: "pwreset_", TokenPurpose.EMAIL_VERIFICATION: "emailverify_"}
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 64  # prefix + 43 base64url characters, with room


def new_token(purpose: TokenPurpose) -> str:
    return PREFIXES[purpose] + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class IssuedToken:
    """A token to store (as its hash) for the customer; `email` is the address a verification confirms."""

    purpose: TokenPurpose
    token_hash: bytes
    expires_at: datetime
    email: str | None = None


@dataclass(frozen=True)
class TokenRedemption:
    """A token presented for a change: valid if it is the customer's live token for `purpose`, unexpired
    at `at`, and (verification) for `email`. The store checks and deletes it with the change."""

    purpose: TokenPurpose
    token_hash: bytes
    at: datetime
    email: str | None = None
