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
REGISTRATION = ("post", "/v1/customers")


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


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (FastAPI's) with the public paths only, their answers' headers, daprd's own 400s, and the
    registration's links."""
    document["paths"] = {path: item for path, item in document["paths"].items() if is_public(path)}
    document.setdefault("components", {})["headers"] = HEADERS
    document["components"].setdefault("schemas", {})["DaprError"] = DAPR_ERROR
    links = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            secured = "security" in operation
            for status, response in operation.get("responses", {}).items():
                response["headers"] = _headers_of(method, path, status, response, secured)
                if status == "400":
                    _with_daprs_refusal(response)
            if "{customer_id}" in path:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {"customer_id": CUSTOMER_ID_FROM_REGISTRATION}}
    method, path = REGISTRATION
    document["paths"][path][method]["responses"]["201"]["links"] = links
    return document
