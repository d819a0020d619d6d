"""Behaviour analytics, and order and loyalty summaries from the upstream services with fallbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import READ, authorize_customer
from api.customers import CustomerId, valid_customer_id
from api.dependencies import ActorsDep, ContainerDep, PrincipalDep
from api.schemas import ERRORS, envelope

router = APIRouter(prefix="/v1/customers", tags=["analytics"])


@router.get("/{customer_id}/analytics", responses=ERRORS,
            summary="Activity counts by type over 30/90/365 days, last activity, order cadence")
async def analytics(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep) -> dict[str, Any]:
    authorize_customer(principal, customer_id, READ)
    valid_customer_id(customer_id)
    return envelope({"analytics": (await actors.call(customer_id, "analytics"))["analytics"]})


@router.get("/{customer_id}/orders/summary", responses=ERRORS,
            summary="Order history summary: from the Order Service, else from this service's own metrics")
async def orders_summary(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                         container: ContainerDep) -> dict[str, Any]:
    authorize_customer(principal, customer_id, READ)
    valid_customer_id(customer_id)
    metrics = (await actors.call(customer_id, "get_segment"))["segment"]["metrics"]  # also: 404 if unknown
    app_id = container.settings.order_service_app_id
    upstream = await container.upstream.get(app_id, f"/orders/customer/{customer_id}/summary")
    if upstream is not None:
        return envelope({"source": app_id, "summary": upstream})
    return envelope({"source": "customer-service", "summary": {
        "customerId": customer_id, "orderCount": metrics["orderCount"], "totalSpent": metrics["totalSpent"],
        "averageOrderValue": metrics["averageOrderValue"], "lastOrderDate": metrics["lastOrderDate"],
    }})


@router.get("/{customer_id}/loyalty", responses=ERRORS,
            summary="Loyalty points: from the Loyalty Service, else from this service's own tally")
async def loyalty(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                  container: ContainerDep) -> dict[str, Any]:
    authorize_customer(principal, customer_id, READ)
    valid_customer_id(customer_id)
    segment = (await actors.call(customer_id, "get_segment"))["segment"]
    app_id = container.settings.loyalty_service_app_id
    upstream = await container.upstream.get(app_id, f"/loyalty/customer/{customer_id}/points")
    if upstream is not None:
        return envelope({"source": app_id, "loyalty": upstream})
    return envelope({"source": "customer-service",
                     "loyalty": {"customerId": customer_id, "points": segment["loyaltyPoints"]}})
