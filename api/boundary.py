"""The Dapr boundary: routes only daprd may call.

daprd calls the app with the app token (`APP_API_TOKEN`, sent as `dapr-api-token`) on every request,
service invocations included. Everything outside the public REST API (/v1/...), the health probes
and the API docs is Dapr-facing: actor methods and lifecycle, `/dapr/*` configuration and
subscriptions, event deliveries. Those routes answer 401 without the right token, compared in
constant time.

A Dapr-facing route reached by service invocation from another app (daprd marks those with the
callee's app id) is refused: the runtime calls these routes itself, nobody invokes them. Routes of
actor types this service does not host answer 404 (the SDK would answer 500).

Actor methods also need the authenticated caller to be this service: daprd stamps the caller's app
id (`dapr-caller-app-id`, from its mTLS identity for remote callers) on actor calls, and Dapr's access
control policies do not apply to actor calls, so another app of the mesh could otherwise call a
customer's actor through its own sidecar.

A Dapr-facing route that fails answers the error envelope, never the SDK's exception text.
"""

from __future__ import annotations

import hmac
import json
import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

TOKEN_HEADER = b"dapr-api-token"
CALLER_HEADER = b"dapr-caller-app-id"
# Set by daprd on service invocations from another app: a Dapr-facing route reached this way was
# invoked, not called by the runtime.
CALLEE_HEADER = b"dapr-callee-app-id"
PUBLIC_PREFIXES = ("/v1/", "/health/")
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
# PUT /actors/{type}/{id}/method/{name}: a call of an actor method (reminders and timers are
# method/remind/... and method/timer/..., fired by this service's own sidecar).
ACTOR_METHOD = re.compile(r"^/actors/[^/]+/[^/]+/method/(?!remind/|timer/)")
ACTOR_ROUTE = re.compile(r"^/actors/(?P<type>[^/]+)/")


def _envelope(code: str, message: str) -> bytes:
    return json.dumps({"success": False, "error": {"code": code, "message": message}}).encode()


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


class DaprBoundary:
    def __init__(self, app: ASGIApp, *, app_token: str, app_id: str, actor_types: frozenset[str]) -> None:
        self.app = app
        self._token = app_token.encode()
        self._app_id = app_id.encode()
        self._actor_types = actor_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        presented = headers.get(TOKEN_HEADER, b"")
        if not self._token or not hmac.compare_digest(presented, self._token):
            log.warning("refused %s %s: no valid app token", scope["method"], scope["path"])
            await _answer(send, 401, _envelope("UNAUTHENTICATED", "this route accepts only the Dapr sidecar"))
            return
        if CALLEE_HEADER in headers:
            log.warning("refused %s %s: Dapr-facing routes are not invocable", scope["method"], scope["path"])
            await _answer(send, 403, _envelope("FORBIDDEN", "this route is not open to service invocation"))
            return
        if (route := ACTOR_ROUTE.match(scope["path"])) and route["type"] not in self._actor_types:
            await _answer(send, 404, _envelope("ROUTE_NOT_FOUND", "no such actor type"))
            return
        if ACTOR_METHOD.match(scope["path"]) and headers.get(CALLER_HEADER) != self._app_id:
            log.warning("refused actor call %s from app %r", scope["path"], headers.get(CALLER_HEADER))
            await _answer(send, 403, _envelope("FORBIDDEN", "actor methods accept calls from this service only"))
            return
        await self.app(scope, receive, _scrubbing_failures(send, scope["path"]))


def _scrubbing_failures(send: Send, path: str) -> Send:
    """Passes responses through, but replaces the body of a 5xx with the error envelope."""
    failed: Message | None = None

    async def wrapped(message: Message) -> None:
        nonlocal failed
        if message["type"] == "http.response.start" and message["status"] >= 500:
            failed = message
            return
        if failed is None:
            await send(message)
            return
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            log.warning("Dapr-facing route %s failed with %d", path, failed["status"])
            await _answer(send, failed["status"], _envelope("INTERNAL_ERROR", "internal error; it has been logged"))

    return wrapped
