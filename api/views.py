"""The customer's views: served from the view cache when it has them, else from the actor (which
refreshes the cache as it answers), and the customer's envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Response

from actors.client import CustomerActorClient
from actors.messages import CustomerView
from api.schemas import envelope
from domain.clock import parse_iso
from domain.segmentation import days_since
from persistence.cache import ViewCache


def customer_response(view: CustomerView, response: Response) -> dict[str, Any]:
    """The customer's envelope, with its version as the ETag."""
    response.headers["ETag"] = view.etag
    return envelope({"customer": view.customer})


async def customer_view(cache: ViewCache, actors: CustomerActorClient, customer_id: str) -> CustomerView:
    cached = await cache.get_profile(customer_id)
    return CustomerView.model_validate(cached) if cached is not None else await actors.get(customer_id)


async def segment_view(cache: ViewCache, actors: CustomerActorClient, customer_id: str,
                       now: datetime) -> dict[str, Any]:
    """The segment view; daysSinceLastOrder is counted now, whenever the view was cached."""
    cached = await cache.get_segment(customer_id)
    view = dict(cached) if cached is not None else (await actors.get_segment(customer_id)).segment
    metrics = view["metrics"]
    metrics["daysSinceLastOrder"] = days_since(parse_iso(metrics["lastOrderDate"]), now)
    return view


async def address_book(cache: ViewCache, actors: CustomerActorClient, customer_id: str) -> list[dict[str, Any]]:
    cached = await cache.get_addresses(customer_id)
    return list(cached) if cached is not None else (await actors.list_addresses(customer_id)).addresses
