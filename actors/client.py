"""Calls CustomerActor methods through daprd's actor API.

The SDK's ActorProxy opens a new HTTP session for every call; this client keeps one pooled
connection to the local daprd for the hot path (bench/actor_client.py measures the difference).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from actors.interface import ACTOR_TYPE, Result
from domain.errors import DomainError, ErrorCode


class ActorUnavailable(Exception):
    """daprd or the actor runtime did not answer; the caller should report 503."""


class CustomerActorClient:
    def __init__(self, http: httpx.AsyncClient, dapr_url: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/actors/{ACTOR_TYPE}"

    async def call(self, customer_id: str, method: str, request: dict[str, Any] | None = None) -> Result:
        """The method's typed result; raises DomainError for a rejection, ActorUnavailable otherwise."""
        try:
            response = await self._http.put(
                f"{self._base}/{customer_id}/method/{method}",
                content=b"" if request is None else json.dumps({**request, "requestId": uuid.uuid4().hex}).encode(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise ActorUnavailable(f"daprd did not answer: {exc!r}") from exc
        if response.status_code != 200:
            raise ActorUnavailable(f"actor call {method} failed with {response.status_code}: {response.text[:300]}")
        result: Result = response.json()
        if not result.get("ok"):
            error = DomainError.from_dict(result["error"])
            if error.code is ErrorCode.SERVICE_UNAVAILABLE:
                raise ActorUnavailable(error.message)
            raise error
        return result
