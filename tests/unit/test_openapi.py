"""The OpenAPI document as clients read it: the bearer scheme with the scope each operation needs, the
Idempotency-Key on the operations that honour it, the headers answers carry, and links from the
registration (the e2e and fuzz tiers check it against the running service)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import FastAPI
from jsonschema import Draft202012Validator

from api.auth import ADMIN, CREDENTIALS, READ, WRITE
from api.openapi import CUSTOMER_ID_FROM_REGISTRATION, ERASURE, complete
from api.routes import ROUTERS
from api.schemas import without_nul
from domain.validation import password_pattern


def document_routes() -> list[Any]:
    return [route for router in ROUTERS for route in router.routes]


@cache
def document() -> dict[str, Any]:
    return complete(FastAPI(routes=document_routes()).openapi(), password_min_length=8)


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, item in document()["paths"].items() for method, op in item.items()}


def test_the_bearer_scheme_is_declared() -> None:
    scheme = document()["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_every_api_operation_names_the_scope_it_needs() -> None:
    scopes = {key: op.get("security") for key, op in operations().items() if key[1].startswith("/v1/")}
    assert all(security is not None and len(security) == 1 and list(security[0]) == ["bearer"]
               and security[0]["bearer"][0] in (READ, WRITE, ADMIN, CREDENTIALS) for security in scopes.values()), \
        scopes
    assert scopes["GET", "/v1/customers/{customer_id}"] == [{"bearer": [READ]}]
    assert scopes["POST", "/v1/customers"] == [{"bearer": [WRITE]}]
    assert scopes["PUT", "/v1/customers/{customer_id}/segment"] == [{"bearer": [ADMIN]}]
    assert scopes["POST", "/v1/customers/password-resets"] == [{"bearer": [CREDENTIALS]}]
    assert all("security" not in op for (_, path), op in operations().items() if path.startswith("/health"))


def test_the_idempotency_key_is_declared_where_it_is_honoured() -> None:
    keyed = {key for key, op in operations().items()
             if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))}
    assert keyed == {
        ("POST", "/v1/customers"), ("DELETE", "/v1/customers/{customer_id}"),
        ("POST", "/v1/customers/{customer_id}/erasure"), ("PUT", "/v1/customers/{customer_id}/password"),
        ("POST", "/v1/customers/{customer_id}/reactivation"), ("POST", "/v1/customers/{customer_id}/suspension"),
        ("DELETE", "/v1/customers/{customer_id}/suspension"), ("POST", "/v1/customers/{customer_id}/verification"),
        ("POST", "/v1/customers/{customer_id}/addresses"), ("POST", "/v1/customers/password-resets/redemption"),
        ("POST", "/v1/customers/email-verifications/confirmation"),
    }


def headers(method: str, path: str, status: str) -> set[str]:
    return set(operations()[method, path]["responses"][status]["headers"])


def test_answers_declare_the_headers_they_carry() -> None:
    assert headers("POST", "/v1/customers", "201") == {"X-Correlation-ID", "RateLimit-Policy", "RateLimit", "ETag",
                                                        "Location"}
    assert headers("GET", "/v1/customers/{customer_id}", "200") == {"X-Correlation-ID", "RateLimit-Policy",
                                                                     "RateLimit", "ETag"}
    assert headers("GET", "/v1/customers/{customer_id}", "429") == {"X-Correlation-ID", "RateLimit-Policy",
                                                                     "RateLimit", "Retry-After"}
    assert headers("GET", "/health/live", "200") == {"X-Correlation-ID"}
    assert set(document()["components"]["headers"]) >= {"ETag", "Retry-After", "RateLimit", "RateLimit-Policy"}


def test_the_registration_links_to_every_operation_on_the_customer_it_created_but_its_erasure() -> None:
    links = operations()["POST", "/v1/customers"]["responses"]["201"]["links"]
    on_a_customer = {op["operationId"] for (method, path), op in operations().items()
                     if "{customer_id}" in path and (method.lower(), path) != ERASURE}
    assert on_a_customer <= set(links)
    assert len(on_a_customer) >= 19
    assert all(links[op]["parameters"] == {"customer_id": CUSTOMER_ID_FROM_REGISTRATION} for op in on_a_customer)


def test_links_lead_from_what_creates_a_resource_to_what_uses_it() -> None:
    """Every link names an operation of the document, and what it takes from a request body is a field
    the source's request body declares."""
    by_id = {op["operationId"]: key for key, op in operations().items()}
    schemas = document()["components"]["schemas"]
    followed = set()
    for (method, path), op in operations().items():
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                followed.add(by_id[link["operationId"]])
                body_fields = [value.removeprefix("$request.body#/") for value in link.get("requestBody", {}).values()
                               if isinstance(value, str) and value.startswith("$request.body#/")]
                if body_fields:
                    source = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
                    assert set(body_fields) <= set(schemas[source]["properties"]), (method, path, body_fields)
    assert {("GET", "/v1/customers/sessions/{session_id}"), ("POST", "/v1/customers/password-resets/redemption"),
            ("POST", "/v1/customers/email-verifications/confirmation"),
            ("PUT", "/v1/customers/{customer_id}/addresses/{address_id}"),
            ("POST", "/v1/customers/{customer_id}/reactivation")} <= followed


def test_new_passwords_state_the_rules_and_the_configured_length() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["CreateCustomerIn"]["properties"]["password"]["minLength"] == 8
    new_password = schemas["ChangePasswordIn"]["properties"]["newPassword"]
    assert new_password["pattern"] == without_nul(password_pattern(min_length=8))
    longer = complete(FastAPI(routes=document_routes()).openapi(), password_min_length=12)["components"]["schemas"]
    reset = longer["PasswordResetIn"]["properties"]["newPassword"]
    assert reset["pattern"] == without_nul(password_pattern(min_length=12))
    assert "minLength" not in schemas["ChangePasswordIn"]["properties"]["currentPassword"]


def test_the_spec_examples_in_the_document_are_valid_by_its_own_schemas() -> None:
    schemas = document()["components"]["schemas"]
    with_examples = {name: schema["examples"] for name, schema in schemas.items() if "examples" in schema}
    assert {"CreateCustomerIn", "AddressIn"} <= set(with_examples)
    for name, examples in with_examples.items():
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                          "components": document()["components"]})
        for example in examples:
            assert list(validator.iter_errors(example)) == [], name
