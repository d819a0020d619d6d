"""daprd's calls of actor methods, answered without FastAPI's router.

Every write crosses the app twice: the REST request, then daprd's call of the customer's actor. The
Dapr SDK serves that call as a FastAPI route whose handler only reads the body and hands it to
`ActorRuntime.dispatch`; FastAPI's routing, request and response objects around it were a tenth of a
write's CPU in the app (py-spy, bench/, issue 17). This ASGI layer answers `PUT /actors/{type}/{id}/
method/{name}` itself and leaves everything else (reminders, timers, deactivation, /dapr/*) to the SDK's
routes. It sits inside the Dapr boundary, the request metrics and the access log, which see these calls
as before, under the SDK route's template.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from dapr.actor import ActorRuntime
from dapr.clients.base import DAPR_REENTRANCY_ID_HEADER
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

ACTOR_METHOD_CALL = re.compile(r"^/actors/(?P<type>[^/]+)/(?P<id>[^/]+)/method/(?!remind/|timer/)(?P<method>[^/]+)$")
REENTRANCY_HEADER = DAPR_REENTRANCY_ID_HEADER.lower().encode()
JSON_CONTENT = (b"content-type", b"application/json")


@dataclass(frozen=True)
class _Route:
    """What the metrics and access log read from scope["route"]: the SDK route's template."""

    path: str = "/actors/{actor_type_name}/{actor_id}/method/{method_name}"


ROUTE = _Route()


class ActorMethodCalls:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT" \
                or not (call := ACTOR_METHOD_CALL.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        scope["route"] = ROUTE
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        reentrancy_id = next((value.decode("latin-1") for name, value in scope["headers"]
                              if name == REENTRANCY_HEADER), None)
        try:
            result = await ActorRuntime.dispatch(call["type"], call["id"], call["method"], bytes(body), reentrancy_id)
            status = 200
        except Exception:
            # Use cases answer rejections as values: this is the runtime failing (an unknown method, say).
            log.exception("actor call %s of %s failed", call["method"], call["type"])
            result, status = b'{"message": "actor call failed"}', 500
        await send({"type": "http.response.start", "status": status,
                    "headers": [JSON_CONTENT, (b"content-length", str(len(result)).encode())]})
        await send({"type": "http.response.body", "body": result})
