"""The customer's views: served from the view cache when it has them, else from the actor (which
refreshes the cache as it answers), and the customer's envelope."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import Response

from actors import interface as methods
from actors.client import ActorCalls
from actors.messages import QUERY, CustomerView
from api.schemas import json_response
from domain.clock import parse_iso
from domain.segmentation import days_since
from persistence.cache import ViewCache


def customer_response(view: CustomerView | Mapping[str, Any], *, status_code: int = 200,
                      headers: Mapping[str, str] | None = None) -> Response:
    """The customer's envelope, with its version as the ETag."""
    shaped = view.model_dump(mode="json") if isinstance(view, CustomerView) else view
    return json_response({"customer": shaped["customer"]}, status_code=status_code,
                         headers={"ETag": shaped["etag"], **(headers or {})})


async def customer_view(cache: ViewCache, actors: ActorCalls, customer_id: str) -> Mapping[str, Any]:
    """The customer view as JSON: the cached one as cached (the actor wrote it from the same model)."""
    cached: Mapping[str, Any] | None = await cache.get_profile(customer_id)
    if cached is None:
        cached = (await actors.call(customer_id, methods.GET, QUERY)).model_dump(mode="json")
    return cached


async def segment_view(cache: ViewCache, actors: ActorCalls, customer_id: str,
                       now: datetime) -> dict[str, Any]:
    """The segment view; daysSinceLastOrder is counted now, whenever the view was cached."""
    cached = await cache.get_segment(customer_id)
    if cached is None:
        cached = (await actors.call(customer_id, methods.GET_SEGMENT, QUERY)).segment
    view = dict(cached)
    metrics = view["metrics"]
    metrics["daysSinceLastOrder"] = days_since(parse_iso(metrics["lastOrderDate"]), now)
    return view


async def address_book(cache: ViewCache, actors: ActorCalls, customer_id: str) -> list[dict[str, Any]]:
    cached = await cache.get_addresses(customer_id)
    if cached is not None:
        return list(cached)
    return (await actors.call(customer_id, methods.LIST_ADDRESSES, QUERY)).addresses
