"""Calls CustomerActor methods through daprd's actor API.

One typed call for every method (`call(customer_id, methods.UPDATE, request)`), so a new actor method
needs no code here. One long-lived aiohttp session to the local daprd: measured by `python -m bench`, a
serial actor call takes 1.19 ms (p50) this way, against 2.15 ms through the SDK's ActorProxy, which opens
a session per call, and 2.61 ms through a pooled httpx client.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from actors.interface import ACTOR_TYPE, ActorMethod
from domain.errors import DomainError, ErrorCode
from telemetry import tracing
from telemetry.metrics import ACTOR_CALLS

JSON = {"Content-Type": "application/json"}
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


class ActorUnavailable(Exception):
    """daprd or the actor runtime did not answer; the caller should report 503."""


class ActorCalls(Protocol):
    """What the REST layer and the subscriptions need of the actors: one typed call. CustomerActorClient
    goes through daprd; the fast API tier (tests/api) answers in process."""

    async def call(self, customer_id: str, method: ActorMethod[Req, Res], request: Req) -> Res: ...


class CustomerActorClient:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/actors/{ACTOR_TYPE}"

    async def call(self, customer_id: str, method: ActorMethod[Req, Res], request: Req) -> Res:
        """Calls `method` (one of actors.interface's) of the customer's actor: its result; DomainError for a
        rejection, ActorUnavailable when daprd or the actor runtime did not answer."""
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            result = await self._exchange(customer_id, method, request)
            outcome = "ok"
            return result
        except DomainError:
            outcome = "rejected"
            raise
        finally:
            ACTOR_CALLS.labels(method.name, outcome).observe(time.perf_counter() - started)

    async def _exchange(self, customer_id: str, method: ActorMethod[Req, Res], request: Req) -> Res:
        try:
            with tracing.outgoing_call(f"{ACTOR_TYPE}/{method.name}") as trace_headers:
                async with self._http.put(f"{self._base}/{customer_id}/method/{method.name}",
                                          data=request.model_dump_json().encode(),
                                          headers={**JSON, **trace_headers}) as response:
                    text = await response.text()
                    status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ActorUnavailable(f"daprd did not answer: {exc!r}") from exc
        if status != 200:
            raise ActorUnavailable(f"actor call {method.name} failed with {status}: {text[:300]}")
        try:
            outcome: dict[str, Any] = json.loads(text)
            if outcome.get("ok"):
                return method.result.model_validate(outcome["value"])
            error = DomainError.from_dict(outcome["error"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise ActorUnavailable(f"actor call {method.name} answered something else than an outcome") from exc
        if error.code is ErrorCode.SERVICE_UNAVAILABLE:
            raise ActorUnavailable(error.message)
        raise error
