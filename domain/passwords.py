"""Password hashing with argon2id. CPU only, no I/O: callers run it off the event loop."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# Verified against for unknown emails, so "no such account" costs the same time as "wrong password".
_DUMMY_HASH = _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """False for a wrong password; None (no account) costs the same work as a wrong one and is False."""
    try:
        return _hasher.verify(_DUMMY_HASH if password_hash is None else password_hash, password) \
            and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other argon2 parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)

