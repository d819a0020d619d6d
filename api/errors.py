"""One error envelope for every failure: {"success": false, "error": {"code", "message", ...}}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from actors.client import ActorUnavailable
from api.middleware import CORRELATION_HEADER
from domain.errors import DomainError, ErrorCode, FieldError
from persistence.store import StoreUnavailable

log = logging.getLogger(__name__)


def error_response(error: DomainError, request: Request, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "error": error.to_dict()}
    correlation_id = getattr(request.state, "correlation_id", None)
    if correlation_id:
        body["error"]["correlationId"] = correlation_id
    return JSONResponse(body, status_code=error.code.http_status, headers=headers)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc, request, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(DomainError(ErrorCode.MALFORMED_REQUEST, "request body is not valid JSON"), request)
    fields = [FieldError(_field_name(tuple(e.get("loc", ()))), str(e.get("msg", "is invalid"))) for e in errors]
    return error_response(DomainError(ErrorCode.VALIDATION_FAILED, "request validation failed", fields), request)


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """Every method the document declares at the request's path. Starlette's 405 names only the methods of
    the first route whose path matched, and a path here is often served by several (GET, PUT and DELETE of
    /v1/customers/{customer_id} are three routes). A fixed path (/v1/customers/password-resets) also
    matches /v1/customers/{customer_id}; its own routes are the ones it declares."""
    matching = [route for route in routes if isinstance(route, Route) and route.methods
                and route.matches(scope)[0] is not Match.NONE]
    fixed = [route for route in matching if not route.param_convertors]
    return ", ".join(sorted({method for route in (fixed or matching) for method in route.methods or ()}))


def _http_error(routes: Sequence[BaseRoute]) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: ErrorCode.ROUTE_NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED, 413: ErrorCode.PAYLOAD_TOO_LARGE,
                415: ErrorCode.UNSUPPORTED_MEDIA_TYPE, 401: ErrorCode.UNAUTHENTICATED,
                403: ErrorCode.FORBIDDEN}.get(exc.status_code, ErrorCode.MALFORMED_REQUEST)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(routes, request.scope)
        return error_response(DomainError(code, str(exc.detail)), request, headers)

    return http_error


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable on %s %s: %s", request.method, request.url.path, exc)
    response = error_response(
        DomainError(ErrorCode.SERVICE_UNAVAILABLE, "the service is temporarily unavailable; retry shortly"),
        request,
    )
    response.headers["Retry-After"] = "1"
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # Answered by Starlette's outermost layer, outside the one that puts the correlation id on every answer.
    correlation_id = getattr(request.state, "correlation_id", None)
    return error_response(DomainError(ErrorCode.INTERNAL_ERROR, "internal error; it has been logged"), request,
                          {CORRELATION_HEADER: correlation_id} if correlation_id else None)


def install_error_handlers(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """`routes`: the REST API's, whose methods a 405 lists."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error(routes))
    app.add_exception_handler(ActorUnavailable, _unavailable)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
