"""Behaviour analytics, and order and loyalty summaries from the upstream services with fallbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.access import ReadCustomer
from api.dependencies import Actors, Cache, Policy, Upstream
from api.schemas import ERRORS, envelope
from api.views import segment_view

router = APIRouter(prefix="/v1/customers", tags=["analytics"])


@router.get("/{customer_id}/analytics", responses=ERRORS,
            summary="Activity counts by type over 30/90/365 days, last activity, order cadence")
async def analytics(access: ReadCustomer, actors: Actors) -> dict[str, Any]:
    return envelope({"analytics": (await actors.analytics(access.customer_id)).analytics})


@router.get("/{customer_id}/orders/summary", responses=ERRORS,
            summary="Order history summary: from the Order Service, else from this service's own metrics")
async def orders_summary(access: ReadCustomer, actors: Actors, cache: Cache, upstream: Upstream,
                         policy: Policy) -> dict[str, Any]:
    customer_id = access.customer_id
    metrics = (await segment_view(cache, actors, customer_id))["metrics"]  # also: 404 for an unknown customer
    app_id = policy.order_service_app_id
    answer = await upstream.get(app_id, f"/orders/customer/{customer_id}/summary")
    if answer is not None:
        return envelope({"source": app_id, "summary": answer})
    return envelope({"source": "customer-service", "summary": {
        "customerId": customer_id, "orderCount": metrics["orderCount"], "totalSpent": metrics["totalSpent"],
        "averageOrderValue": metrics["averageOrderValue"], "lastOrderDate": metrics["lastOrderDate"],
    }})


@router.get("/{customer_id}/loyalty", responses=ERRORS,
            summary="Loyalty points: from the Loyalty Service, else from this service's own tally")
async def loyalty(access: ReadCustomer, actors: Actors, cache: Cache, upstream: Upstream,
                  policy: Policy) -> dict[str, Any]:
    customer_id = access.customer_id
    segment = await segment_view(cache, actors, customer_id)
    app_id = policy.loyalty_service_app_id
    answer = await upstream.get(app_id, f"/loyalty/customer/{customer_id}/points")
    if answer is not None:
        return envelope({"source": app_id, "loyalty": answer})
    return envelope({"source": "customer-service",
                     "loyalty": {"customerId": customer_id, "points": segment["loyaltyPoints"]}})
