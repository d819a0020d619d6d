"""Request-wide concerns: correlation ids, and a cap on body size before anything reads the body."""

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
    """Pure ASGI, so it also guards bodies that arrive without a Content-Length."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _correlation_id(scope)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        CORRELATION_ID.set(correlation_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((CORRELATION_HEADER.encode(), correlation_id.encode()))
            await send(message)

        declared = next((int(v) for k, v in scope.get("headers", []) if k == b"content-length"
                         and v.isdigit()), None)
        if declared is not None and declared > self.max_body_bytes:
            await self._reject(send_with_id, correlation_id)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # FastAPI passes HTTPExceptions raised while reading a body through unchanged.
                    raise HTTPException(413, f"request body exceeds {self.max_body_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send_with_id)

    async def _reject(self, send: Send, correlation_id: str) -> None:
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": _too_large(correlation_id, self.max_body_bytes)})
