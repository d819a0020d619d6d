"""The service's error codes (the spec's table, plus the ones the API needs) and the domain error."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ErrorCode(Enum):
    """Each code with its HTTP status. Values are unique tuples so no two codes alias each other."""

    CUSTOMER_NOT_FOUND = ("CUSTOMER_NOT_FOUND", 404)
    EMAIL_ALREADY_EXISTS = ("EMAIL_ALREADY_EXISTS", 409)
    EXTERNAL_ID_ALREADY_EXISTS = ("EXTERNAL_ID_ALREADY_EXISTS", 409)
    INVALID_EMAIL_FORMAT = ("INVALID_EMAIL_FORMAT", 400)
    WEAK_PASSWORD = ("WEAK_PASSWORD", 400)
    ADDRESS_LIMIT_EXCEEDED = ("ADDRESS_LIMIT_EXCEEDED", 400)
    SEGMENT_UPDATE_FAILED = ("SEGMENT_UPDATE_FAILED", 500)
    ADDRESS_NOT_FOUND = ("ADDRESS_NOT_FOUND", 404)
    VALIDATION_FAILED = ("VALIDATION_FAILED", 400)
    MALFORMED_REQUEST = ("MALFORMED_REQUEST", 400)
    PAYLOAD_TOO_LARGE = ("PAYLOAD_TOO_LARGE", 413)
    UNSUPPORTED_MEDIA_TYPE = ("UNSUPPORTED_MEDIA_TYPE", 415)
    PRECONDITION_FAILED = ("PRECONDITION_FAILED", 412)
    CUSTOMER_NOT_ACTIVE = ("CUSTOMER_NOT_ACTIVE", 409)
    INVALID_STATUS_TRANSITION = ("INVALID_STATUS_TRANSITION", 409)
    UNAUTHENTICATED = ("UNAUTHENTICATED", 401)
    FORBIDDEN = ("FORBIDDEN", 403)
    INVALID_CREDENTIALS = ("INVALID_CREDENTIALS", 401)
    TOO_MANY_LOGIN_ATTEMPTS = ("TOO_MANY_LOGIN_ATTEMPTS", 429)
    RATE_LIMITED = ("RATE_LIMITED", 429)
    SESSION_NOT_FOUND = ("SESSION_NOT_FOUND", 404)
    # A reset or verification token that is unknown, used, superseded or expired: one answer for all. 404,
    # not 400: the request is well formed, and what it names (a live token) is not there, like a
    # customer id that names no customer.
    INVALID_TOKEN = ("INVALID_TOKEN", 404)
    NOTHING_TO_VERIFY = ("NOTHING_TO_VERIFY", 409)
    # The Idempotency-Key was used before with another request.
    IDEMPOTENCY_KEY_REUSED = ("IDEMPOTENCY_KEY_REUSED", 422)
    ROUTE_NOT_FOUND = ("ROUTE_NOT_FOUND", 404)
    METHOD_NOT_ALLOWED = ("METHOD_NOT_ALLOWED", 405)
    SERVICE_UNAVAILABLE = ("SERVICE_UNAVAILABLE", 503)
    INTERNAL_ERROR = ("INTERNAL_ERROR", 500)

    @property
    def http_status(self) -> int:
        status: int = self.value[1]
        return status


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class DomainError(Exception):
    """An expected rejection: it becomes the error envelope, never a stack trace."""

    code: ErrorCode
    message: str
    fields: list[FieldError] = field(default_factory=list)
    # HTTP headers the rejection carries (Retry-After, WWW-Authenticate).
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code.name, "message": self.message}
        if self.fields:
            body["details"] = [f.to_dict() for f in self.fields]
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> DomainError:
        return cls(
            ErrorCode[body["code"]],
            body["message"],
            [FieldError(d["field"], d["message"]) for d in body.get("details", [])],
        )


def not_found(customer_id: str) -> DomainError:
    return DomainError(ErrorCode.CUSTOMER_NOT_FOUND, f"customer {customer_id} does not exist")


def invalid_token() -> DomainError:
    return DomainError(ErrorCode.INVALID_TOKEN, "the token is invalid, used or expired")


def invalid(field_name: str, message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_FAILED, "request validation failed", [FieldError(field_name, message)])
