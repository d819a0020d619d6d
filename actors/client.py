"""Calls CustomerActor methods through daprd's actor API, one typed method per actor method.

One long-lived aiohttp session to the local daprd: measured by `python -m bench`, a serial actor call
takes 1.19 ms (p50) this way, against 2.15 ms through the SDK's ActorProxy, which opens a session per
call, and 2.61 ms through a pooled httpx client.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from actors import interface as methods
from actors import messages as m
from actors.interface import ACTOR_TYPE, ActorMethod
from domain.errors import DomainError, ErrorCode
from telemetry import tracing
from telemetry.metrics import ACTOR_CALLS

JSON = {"Content-Type": "application/json"}
QUERY = m.Query()
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


class ActorUnavailable(Exception):
    """daprd or the actor runtime did not answer; the caller should report 503."""


class CustomerActorClient:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/actors/{ACTOR_TYPE}"

    async def _call(self, customer_id: str, method: ActorMethod[Req, Res], request: Req) -> Res:
        """The method's result; raises DomainError for a rejection, ActorUnavailable otherwise."""
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

    async def create(self, customer_id: str, request: m.CreateCustomer) -> m.CustomerView:
        return await self._call(customer_id, methods.CREATE, request)

    async def get(self, customer_id: str) -> m.CustomerView:
        return await self._call(customer_id, methods.GET, QUERY)

    async def update(self, customer_id: str, request: m.UpdateCustomer) -> m.CustomerView:
        return await self._call(customer_id, methods.UPDATE, request)

    async def deactivate(self, customer_id: str, request: m.Deactivate) -> m.Deactivated:
        return await self._call(customer_id, methods.DEACTIVATE, request)

    async def erase(self, customer_id: str, request: m.Erase) -> m.Erased:
        return await self._call(customer_id, methods.ERASE, request)

    async def reactivate(self, customer_id: str, request: m.Reactivate) -> m.CustomerView:
        return await self._call(customer_id, methods.REACTIVATE, request)

    async def suspend(self, customer_id: str, request: m.Suspend) -> m.CustomerView:
        return await self._call(customer_id, methods.SUSPEND, request)

    async def lift_suspension(self, customer_id: str, request: m.LiftSuspension) -> m.CustomerView:
        return await self._call(customer_id, methods.LIFT_SUSPENSION, request)

    async def verify(self, customer_id: str, request: m.Verify) -> m.CustomerView:
        return await self._call(customer_id, methods.VERIFY, request)

    async def export(self, customer_id: str) -> m.Exported:
        return await self._call(customer_id, methods.EXPORT, QUERY)

    async def authenticate(self, customer_id: str, request: m.Authenticate) -> m.LoggedIn:
        return await self._call(customer_id, methods.AUTHENTICATE, request)

    async def change_password(self, customer_id: str, request: m.ChangePassword) -> m.Done:
        return await self._call(customer_id, methods.CHANGE_PASSWORD, request)

    async def get_segment(self, customer_id: str) -> m.SegmentView:
        return await self._call(customer_id, methods.GET_SEGMENT, QUERY)

    async def apply_order(self, customer_id: str, request: m.ApplyOrder) -> m.EventApplied:
        return await self._call(customer_id, methods.APPLY_ORDER, request)

    async def apply_points(self, customer_id: str, request: m.ApplyPoints) -> m.EventApplied:
        return await self._call(customer_id, methods.APPLY_POINTS, request)

    async def review_segment(self, customer_id: str) -> m.Reviewed:
        return await self._call(customer_id, methods.REVIEW_SEGMENT, QUERY)

    async def list_addresses(self, customer_id: str) -> m.AddressBookView:
        return await self._call(customer_id, methods.LIST_ADDRESSES, QUERY)

    async def add_address(self, customer_id: str, request: m.AddAddress) -> m.AddressChanged:
        return await self._call(customer_id, methods.ADD_ADDRESS, request)

    async def update_address(self, customer_id: str, request: m.UpdateAddress) -> m.AddressChanged:
        return await self._call(customer_id, methods.UPDATE_ADDRESS, request)

    async def remove_address(self, customer_id: str, request: m.RemoveAddress) -> m.AddressBookView:
        return await self._call(customer_id, methods.REMOVE_ADDRESS, request)

    async def override_segment(self, customer_id: str, request: m.OverrideSegment) -> m.SegmentView:
        return await self._call(customer_id, methods.OVERRIDE_SEGMENT, request)

    async def clear_override(self, customer_id: str, request: m.ClearOverride) -> m.SegmentView:
        return await self._call(customer_id, methods.CLEAR_OVERRIDE, request)

    async def analytics(self, customer_id: str) -> m.Analytics:
        return await self._call(customer_id, methods.ANALYTICS, QUERY)
