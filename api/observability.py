"""Request metrics and the access log, by route template (never the raw path: ids would explode the
label space, and a path can carry what a log must not)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.logs import CUSTOMER_ID
from telemetry.metrics import HTTP_LATENCY, HTTP_REQUESTS

access_log = logging.getLogger("customer-service.access")


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = CUSTOMER_ID.set(None)
        try:
            await self.app(scope, receive, recording)
        finally:
            matched = scope.get("route")  # the template as the document writes it, without convertors
            route = getattr(matched, "path_format", getattr(matched, "path", "unmatched"))
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(elapsed)
            access_log.info("%s %s %d", scope["method"], route, status, extra={
                "method": scope["method"], "route": route, "status": status,
                "duration_ms": round(elapsed * 1000, 2)})
            CUSTOMER_ID.reset(token)
