"""Request-wide concerns: correlation ids, the rate limit's fields on the answer, and a cap on body size
before anything reads the body."""

from __future__ import annotations

import json
import re
import uuid

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.logs import CORRELATION_ID

CORRELATION_HEADER = "x-correlation-id"


# A caller's correlation id is carried into events and logs, so it is kept only if it is plainly an id.
PLAIN_ID = re.compile(rb"[A-Za-z0-9._:-]{1,100}")


def _correlation_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == CORRELATION_HEADER.encode() and PLAIN_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return "corr_" + uuid.uuid4().hex


def _too_large(correlation_id: str, limit: int) -> bytes:
    return json.dumps({"success": False, "error": {
        "code": "PAYLOAD_TOO_LARGE", "message": f"request body exceeds {limit} bytes",
        "correlationId": correlation_id}}).encode()


class RequestContextMiddleware:
    """Pure ASGI, so it also guards bodies that arrive without a Content-Length.

    Bodies are capped at `max_body_bytes`, except on the routes under `delivery_prefix`, where daprd
    delivers a batch of events at once (up to `max_delivery_bytes`). Only daprd reaches those: the Dapr
    boundary, outside this layer, refuses them without the app token. Capped at one event's size, a
    batch that grew during an outage was refused with 413 at every redelivery, and its orders waited
    until the backlog drained (found by the PostgreSQL-outage fault test)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, delivery_prefix: str, max_delivery_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.delivery_prefix = delivery_prefix
        self.max_delivery_bytes = max_delivery_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _correlation_id(scope)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        CORRELATION_ID.set(correlation_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                quota = scope["state"].get("quota")  # set by the access dependency that counted the request
                if quota is not None:
                    headers += [(name.lower().encode(), value.encode()) for name, value in quota.headers().items()]
            await send(message)

        limit = self.max_delivery_bytes if scope["path"].startswith(self.delivery_prefix) else self.max_body_bytes
        declared = next((int(v) for k, v in scope.get("headers", []) if k == b"content-length"
                         and v.isdigit()), None)
        if declared is not None and declared > limit:
            await self._reject(send_with_id, correlation_id, limit)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI passes HTTPExceptions raised while reading a body through unchanged.
                    raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, counting_receive, send_with_id)

    async def _reject(self, send: Send, correlation_id: str, limit: int) -> None:
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": _too_large(correlation_id, limit)})
