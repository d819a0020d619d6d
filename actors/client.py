"""Calls CustomerActor methods through daprd's actor API.

One long-lived aiohttp session to the local daprd: measured by `python -m bench`, a serial actor call
takes 1.19 ms (p50) this way, against 2.15 ms through the SDK's ActorProxy, which opens a session per
call, and 2.61 ms through a pooled httpx client.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

from actors.interface import ACTOR_TYPE, Result
from domain.errors import DomainError, ErrorCode

JSON = {"Content-Type": "application/json"}


class ActorUnavailable(Exception):
    """daprd or the actor runtime did not answer; the caller should report 503."""


class CustomerActorClient:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/actors/{ACTOR_TYPE}"

    async def call(self, customer_id: str, method: str, request: dict[str, Any] | None = None) -> Result:
        """The method's typed result; raises DomainError for a rejection, ActorUnavailable otherwise."""
        # A request id lets the actor answer a call daprd retries without acting twice.
        body = b"" if request is None else json.dumps({**request, "requestId": uuid.uuid4().hex}).encode()
        try:
            async with self._http.put(f"{self._base}/{customer_id}/method/{method}", data=body,
                                      headers=JSON) as response:
                text = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ActorUnavailable(f"daprd did not answer: {exc!r}") from exc
        if status != 200:
            raise ActorUnavailable(f"actor call {method} failed with {status}: {text[:300]}")
        result: Result = json.loads(text)
        if not result.get("ok"):
            error = DomainError.from_dict(result["error"])
            if error.code is ErrorCode.SERVICE_UNAVAILABLE:
                raise ActorUnavailable(error.message)
            raise error
        return result
