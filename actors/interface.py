"""The CustomerActor's methods as Dapr sees them.

Every method takes at most one JSON object and returns a typed result, {"ok": true, ...} or
{"ok": false, "error": {"code": ..., "message": ...}}: the Dapr FastAPI extension turns any
exception raised in an actor method into an opaque 500, so expected rejections never raise.
"""

from __future__ import annotations

from typing import Any

from dapr.actor import ActorInterface, actormethod

ACTOR_TYPE = "CustomerActor"
SEGMENT_REVIEW_REMINDER = "segment-review"

Result = dict[str, Any]


class CustomerActorInterface(ActorInterface):
    @actormethod(name="create")
    async def create(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="get")
    async def get(self) -> Result: ...

    @actormethod(name="update")
    async def update(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="deactivate")
    async def deactivate(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="erase")
    async def erase(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="export")
    async def export(self) -> Result: ...

    @actormethod(name="authenticate")
    async def authenticate(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="change_password")
    async def change_password(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="get_segment")
    async def get_segment(self) -> Result: ...

    @actormethod(name="apply_order")
    async def apply_order(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="apply_points")
    async def apply_points(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="list_addresses")
    async def list_addresses(self) -> Result: ...

    @actormethod(name="add_address")
    async def add_address(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="update_address")
    async def update_address(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="remove_address")
    async def remove_address(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="override_segment")
    async def override_segment(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="clear_override")
    async def clear_override(self, request: dict[str, Any]) -> Result: ...

    @actormethod(name="analytics")
    async def analytics(self) -> Result: ...

    @actormethod(name="review_segment")
    async def review_segment(self) -> Result: ...
