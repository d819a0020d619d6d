"""Behaviour analytics, and order and loyalty summaries from the upstream services with fallbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actors import interface as methods
from actors.messages import QUERY
from api.access import ReadCustomer
from api.dependencies import Actors, Cache, Policy, Upstream
from api.schemas import ERRORS, envelope
from api.upstream import UpstreamAnswer
from api.views import segment_view

router = APIRouter(prefix="/v1/customers", tags=["analytics"])


@router.get("/{customer_id:customer}/analytics", responses=ERRORS,
            summary="Activity counts by type over 30/90/365 days, last activity, order cadence")
async def analytics(access: ReadCustomer, actors: Actors) -> dict[str, Any]:
    return envelope({"analytics": (await actors.call(access.customer_id, methods.ANALYTICS, QUERY)).analytics})


def _from_upstream(app_id: str, answer: UpstreamAnswer, key: str) -> dict[str, Any]:
    if answer.cached_at is None:
        return envelope({"source": app_id, key: answer.body})
    return envelope({"source": f"{app_id} (cached)", "cachedAt": answer.cached_at, key: answer.body})


@router.get("/{customer_id:customer}/orders/summary", responses=ERRORS,
            summary="Order history summary: the Order Service, else its last answer, else our own metrics")
async def orders_summary(access: ReadCustomer, actors: Actors, cache: Cache, upstream: Upstream,
                         policy: Policy) -> dict[str, Any]:
    customer_id, now = access.customer_id, policy.clock.now()
    metrics = (await segment_view(cache, actors, customer_id, now))["metrics"]  # also: 404 for an unknown customer
    app_id = policy.order_service_app_id
    answer = await upstream.get(app_id, f"/orders/customer/{customer_id}/summary", customer_id=customer_id, now=now)
    if answer is not None:
        return _from_upstream(app_id, answer, "summary")
    return envelope({"source": "customer-service", "summary": {
        "customerId": customer_id, "orderCount": metrics["orderCount"], "totalSpent": metrics["totalSpent"],
        "averageOrderValue": metrics["averageOrderValue"], "lastOrderDate": metrics["lastOrderDate"],
    }})


@router.get("/{customer_id:customer}/loyalty", responses=ERRORS,
            summary="Loyalty points: the Loyalty Service, else its last answer, else our own tally")
async def loyalty(access: ReadCustomer, actors: Actors, cache: Cache, upstream: Upstream,
                  policy: Policy) -> dict[str, Any]:
    customer_id, now = access.customer_id, policy.clock.now()
    segment = await segment_view(cache, actors, customer_id, now)
    app_id = policy.loyalty_service_app_id
    answer = await upstream.get(app_id, f"/loyalty/customer/{customer_id}/points", customer_id=customer_id, now=now)
    if answer is not None:
        return _from_upstream(app_id, answer, "loyalty")
    return envelope({"source": "customer-service",
                     "loyalty": {"customerId": customer_id, "points": segment["loyaltyPoints"]}})
