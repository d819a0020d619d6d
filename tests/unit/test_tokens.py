"""Token verification with each supported algorithm, and the attacks pinning one algorithm stops."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.auth import TokenVerifier
from domain.errors import DomainError, ErrorCode

CLAIMS = {"sub": "svc:x", "scope": "customers:read customers:write", "iss": "https://auth", "aud": "customer-service"}


def claims(**overrides: Any) -> dict[str, Any]:
    return {**CLAIMS, "exp": int(time.time()) + 60, **overrides}


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def verifier(algorithm: str, **keys: str) -> TokenVerifier:
    return TokenVerifier(algorithm=algorithm, secret=keys.get("secret"), public_key=keys.get("public_key"),
                         issuer="https://auth", audience="customer-service")


def rejected(v: TokenVerifier, token: str) -> None:
    with pytest.raises(DomainError) as raised:
        v.verify(f"Bearer {token}")
    assert raised.value.code is ErrorCode.UNAUTHENTICATED


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_tokens_verify_with_the_public_key(algorithm: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256" \
        else ec.generate_private_key(ec.SECP256R1())
    v = verifier(algorithm, public_key=public_pem(key))
    principal = v.verify("Bearer " + jwt.encode(claims(), key, algorithm=algorithm))
    assert principal.subject == "svc:x"
    assert principal.scopes == {"customers:read", "customers:write"}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256" \
        else ec.generate_private_key(ec.SECP256R1())
    rejected(v, jwt.encode(claims(), other, algorithm=algorithm))


def test_hs256_signed_with_the_public_key_is_rejected_by_an_rs256_verifier() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = public_pem(key)
    # The classic key-confusion forgery: an HMAC token keyed with the public key's PEM text.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header, payload = b64(b'{"alg":"HS256","typ":"JWT"}'), b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    rejected(verifier("RS256", public_key=pem), f"{header}.{payload}.{signature}")


def test_required_claims() -> None:
    secret = "s" * 40
    v = verifier("HS256", secret=secret)
    for missing in ("exp", "iss", "aud", "sub"):
        body = {k: val for k, val in claims().items() if k != missing}
        rejected(v, jwt.encode(body, secret, algorithm="HS256"))
    rejected(v, jwt.encode(claims(nbf=int(time.time()) + 300), secret, algorithm="HS256"))


def test_misconfiguration_fails_at_start() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        verifier("HS256", secret="short")
    with pytest.raises(ValueError, match="JWT_PUBLIC_KEY"):
        verifier("RS256")
    with pytest.raises(ValueError, match="unsupported"):
        verifier("none", secret="s" * 40)
