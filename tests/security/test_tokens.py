"""Hostile tokens through daprd: forged, confused, expired, not yet valid, for someone else, with
look-alike scopes. Every one is refused with the same generic answer, and no route lets one customer
reach another's record."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute

from api.routes import ROUTERS
from tests.support.service import Service
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, bearer, token

GENERIC_401 = "a valid bearer token is required"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def hs256(payload: dict[str, Any], key: bytes) -> str:
    """Signed by hand: PyJWT refuses to use a PEM public key as an HMAC secret, an attacker does not."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}".encode()
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return f"{signing_input.decode()}.{signature.decode()}"


def claims(**overrides: Any) -> dict[str, Any]:
    return {"sub": "svc:attacker", "scope": "customers:admin", "iss": ISSUER, "aud": AUDIENCE,
            "exp": int(time.time()) + 600, **overrides}


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

HOSTILE_TOKENS = {
    "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.",
    "alg None": f"{b64({'alg': 'None', 'typ': 'JWT'})}.{b64(claims())}.",
    "RS256 from another key": jwt.encode(claims(), RSA_KEY, algorithm="RS256"),
    "HS256 keyed with a public key": hs256(claims(), RSA_PUBLIC_PEM),
    "HS512 with our secret": jwt.encode(claims(), SECRET, algorithm="HS512"),
    "expired": jwt.encode(claims(exp=int(time.time()) - 120), SECRET, algorithm="HS256"),
    "not yet valid": jwt.encode(claims(nbf=int(time.time()) + 3600), SECRET, algorithm="HS256"),
    "wrong issuer": jwt.encode(claims(iss="https://evil.example"), SECRET, algorithm="HS256"),
    "wrong audience": jwt.encode(claims(aud="another-service"), SECRET, algorithm="HS256"),
    "no subject": jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET, algorithm="HS256"),
    "jku to an attacker's keys": jwt.encode(claims(), RSA_KEY, algorithm="RS256",
                                            headers={"jku": "https://evil.example/jwks.json", "kid": "evil"}),
    "kid path traversal": jwt.encode(claims(), "x" * 40, algorithm="HS256", headers={"kid": "../../dev/null"}),
    "signature stripped": ".".join(jwt.encode(claims(), SECRET, algorithm="HS256").split(".")[:2]) + ".",
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TOKENS))
def test_hostile_tokens_get_one_generic_401(service: Service, name: str) -> None:
    customer = service.create_customer()
    response = service.api("GET", f"/v1/customers/{customer['id']}",
                           token={"Authorization": f"Bearer {HOSTILE_TOKENS[name]}"})
    assert response.status_code == 401, (name, response.text)
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("UNAUTHENTICATED", GENERIC_401), name
    assert customer["email"] not in response.text


@pytest.mark.parametrize("scope", ["customers:admins", "customers:admin:x", "CUSTOMERS:ADMIN", "customers:*",
                                   "customers:admin,customers:read", "xcustomers:admin", "customers"])
def test_scope_look_alikes_grant_nothing(service: Service, scope: str) -> None:
    customer = service.create_customer()
    response = service.api("GET", f"/v1/customers/{customer['id']}", token=bearer("svc:x", scope))
    assert response.status_code == 403, (scope, response.text)
    assert customer["email"] not in response.text


def customer_routes() -> list[tuple[str, str]]:
    return sorted((method, route.path_format) for router in ROUTERS for route in router.routes
                  if isinstance(route, APIRoute) and "{customer_id}" in route.path_format
                  for method in route.methods or ())


@pytest.mark.parametrize(("method", "path"), customer_routes())
def test_a_customer_token_never_reaches_another_customer(service: Service, method: str, path: str) -> None:
    victim = service.create_customer()
    attacker = bearer(f"cust_{uuid.uuid4().hex}", "customers:read", "customers:write")
    url = re.sub(r"\{address_id\}", f"addr_{uuid.uuid4().hex}", path.replace("{customer_id}", victim["id"]))
    body = {"profile": {"firstName": "Mallory"}} if method in ("PUT", "POST") else None
    response = service.api(method, url, token=attacker, json=body)
    assert response.status_code == 403, (method, path, response.text)
    assert victim["email"] not in response.text
    assert service.api("GET", f"/v1/customers/{victim['id']}").json()["data"]["customer"]["profile"][
        "firstName"] == "Ada"


def test_a_valid_token_still_works(service: Service) -> None:
    customer = service.create_customer()
    own = {"Authorization": f"Bearer {token(customer['id'], 'customers:read')}"}
    assert service.api("GET", f"/v1/customers/{customer['id']}", token=own).status_code == 200
