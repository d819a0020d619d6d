"""The OpenAPI document as clients read it: what FastAPI derives from the routes, plus what it cannot see.

FastAPI writes each operation's parameters, bodies, response models, error envelopes (`api.schemas.ERRORS`)
and, from the access dependencies, the bearer scheme with the scope each operation needs. Added here:
the headers every answer carries (correlation id, the rate limit's fields, `Retry-After` on 429 and
503, `ETag` on a customer's representation, `Location` on what a POST creates) and links from the
registration to every operation on the customer it created, so a generated client or a stateful fuzzer
follows a real id. Only the public API is described: the Dapr SDK's routes are daprd's business.
"""

from __future__ import annotations

from typing import Any

from api.boundary import is_public
from api.schemas import NEW_PASSWORD, without_nul
from domain.validation import password_pattern

CUSTOMER_ID_FROM_REGISTRATION = "$response.body#/data/customer/id"
HEADERS: dict[str, dict[str, Any]] = {
    "X-Correlation-ID": {"description": "The request's correlation id (the caller's, if it sent a plain id), as "
                                        "its events and log lines carry it", "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": 'The tightest budget the request was counted against (IETF), e.g. '
                                        '"customer";q=1000;w=60', "schema": {"type": "string"}},
    "RateLimit": {"description": 'What is left of it (IETF), e.g. "customer";r=997;t=41: requests left, seconds '
                                 "until the minute's count stops weighing", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
    "ETag": {"description": "The customer's version; send it back in If-Match", "schema": {"type": "string"}},
    "Location": {"description": "Where the created resource is", "schema": {"type": "string"}},
}
CREATES = {("post", "/v1/customers"), ("post", "/v1/customers/{customer_id}/addresses")}
REGISTRATION = ("post", "/v1/customers", "201")
# A password that meets the rules, for the links that set one (a generated client fills in its own).
EXAMPLE_NEW_PASSWORD = "Fresh-Passw0rd-2!"  # noqa: S105 - an example in the document, no secret
SAME_CUSTOMER = {"customer_id": "$request.path.customer_id"}
# Not linked from the registration: after it every other operation on the customer is rightly a 404, which
# a stateful fuzzer following the links reads as "a resource it just created is gone" (it cannot know that
# this POST deletes). Clients find it in the document; the e2e and security tiers cover it.
ERASURE = ("post", "/v1/customers/{customer_id}/erasure")
# From an answer to the operations that use what it gave: (method, path, status) -> link name -> target
# (method, path) with the parameters and the body it takes from the request or the answer. Besides these,
# the registration links to every operation on the customer it created (complete()).
LINKS: dict[tuple[str, str, str], dict[str, tuple[tuple[str, str], dict[str, Any]]]] = {
    REGISTRATION: {
        "login": (("post", "/v1/customers/credentials/verify"), {"requestBody": {
            "email": "$request.body#/email", "password": "$request.body#/password"}}),
        "changePassword": (("put", "/v1/customers/{customer_id}/password"), {
            "parameters": {"customer_id": CUSTOMER_ID_FROM_REGISTRATION}, "requestBody": {
                "currentPassword": "$request.body#/password", "newPassword": EXAMPLE_NEW_PASSWORD}}),
        "requestPasswordReset": (("post", "/v1/customers/password-resets"), {"requestBody": {
            "email": "$request.body#/email"}}),
        "issueEmailVerification": (("post", "/v1/customers/email-verifications"), {"requestBody": {
            "customerId": CUSTOMER_ID_FROM_REGISTRATION}}),
    },
    ("post", "/v1/customers/credentials/verify", "200"): {
        name: ((method, "/v1/customers/sessions/{session_id}"), {
            "parameters": {"session_id": "$response.body#/data/session/sessionId"}})
        for name, method in (("getSession", "get"), ("endSession", "delete"))},
    ("post", "/v1/customers/password-resets", "202"): {
        "redeem": (("post", "/v1/customers/password-resets/redemption"), {"requestBody": {
            "token": "$response.body#/data/token", "newPassword": EXAMPLE_NEW_PASSWORD}})},
    ("post", "/v1/customers/email-verifications", "201"): {
        "confirm": (("post", "/v1/customers/email-verifications/confirmation"), {"requestBody": {
            "token": "$response.body#/data/token"}})},
    ("post", "/v1/customers/{customer_id}/addresses", "201"): {
        name: ((method, "/v1/customers/{customer_id}/addresses/{address_id}"), {"parameters": {
            **SAME_CUSTOMER, "address_id": "$response.body#/data/address/id"}})
        for name, method in (("updateAddress", "put"), ("removeAddress", "delete"))},
    ("delete", "/v1/customers/{customer_id}", "200"): {
        "reactivate": (("post", "/v1/customers/{customer_id}/reactivation"), {"parameters": SAME_CUSTOMER})},
    ("post", "/v1/customers/{customer_id}/suspension", "200"): {
        "liftSuspension": (("delete", "/v1/customers/{customer_id}/suspension"), {"parameters": SAME_CUSTOMER})},
    ("put", "/v1/customers/{customer_id}/segment", "200"): {
        "clearOverride": (("delete", "/v1/customers/{customer_id}/segment/override"), {"parameters": SAME_CUSTOMER})},
}

def _headers_of(method: str, path: str, status: str, response: dict[str, Any], secured: bool) -> dict[str, Any]:
    names = ["X-Correlation-ID"]
    if secured:
        names += ["RateLimit-Policy", "RateLimit"]
    if status in ("429", "503"):
        names.append("Retry-After")
    schema_ref = str(response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", ""))
    if status.startswith("2") and schema_ref.endswith("Envelope_CustomerData_"):
        names.append("ETag")
    if status == "201" and (method, path) in CREATES:
        names.append("Location")
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


# Through daprd, a request daprd itself refuses (a control character in the path, say) is answered 400 by
# daprd, in its own error shape, before the app sees it.
DAPR_ERROR = {"type": "object", "required": ["errorCode", "message"], "title": "DaprError",
              "properties": {"errorCode": {"type": "string"}, "message": {"type": "string"},
                             "details": {"type": "array", "items": {"type": "object"}}}}
ERROR_ENVELOPE = "#/components/schemas/ErrorEnvelope"


def _with_daprs_refusal(response: dict[str, Any]) -> None:
    content = response.get("content", {}).get("application/json", {})
    if content.get("schema", {}).get("$ref") == ERROR_ENVELOPE:
        content["schema"] = {"anyOf": [{"$ref": ERROR_ENVELOPE}, {"$ref": "#/components/schemas/DaprError"}]}


def _with_password_min_length(schemas: dict[str, Any], min_length: int) -> None:
    """The configured PASSWORD_MIN_LENGTH on every password being set (api.schemas.NEW_PASSWORD)."""
    for schema in schemas.values():
        for field in schema.get("properties", {}).values():
            if field.get("format") == NEW_PASSWORD["format"] and "minLength" in field:
                field.update(minLength=min_length, pattern=without_nul(password_pattern(min_length=min_length)))


def complete(document: dict[str, Any], *, password_min_length: int) -> dict[str, Any]:
    """`document` (FastAPI's) with the public paths only, their answers' headers, daprd's own 400s, the
    configured password length and the links from what creates a resource to what uses it."""
    _with_password_min_length(document.get("components", {}).get("schemas", {}), password_min_length)
    document["paths"] = {path: item for path, item in document["paths"].items() if is_public(path)}
    document.setdefault("components", {})["headers"] = HEADERS
    document["components"].setdefault("schemas", {})["DaprError"] = DAPR_ERROR
    registration_links = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            secured = "security" in operation
            for status, response in operation.get("responses", {}).items():
                response["headers"] = _headers_of(method, path, status, response, secured)
                if status == "400":
                    _with_daprs_refusal(response)
            if "{customer_id}" in path and (method, path) != ERASURE:
                registration_links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"customer_id": CUSTOMER_ID_FROM_REGISTRATION}}
    _link(document, REGISTRATION, registration_links)
    for source, links in LINKS.items():
        _link(document, source, {name: {"operationId": document["paths"][path][method]["operationId"], **fields}
                                 for name, ((method, path), fields) in links.items()})
    return document


def _link(document: dict[str, Any], source: tuple[str, str, str], links: dict[str, Any]) -> None:
    method, path, status = source
    document["paths"][path][method]["responses"][status].setdefault("links", {}).update(links)
