"""Behaviour analytics, and order and loyalty summaries from the upstream services with fallbacks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from actors.client import CustomerActorClient
from api.access import CustomerId, reach, read_through
from api.auth import READ
from api.dependencies import ActorsDep, ContainerDep, PrincipalDep
from api.schemas import ERRORS, envelope
from persistence.cache import segment_key
from service.bootstrap import Container

router = APIRouter(prefix="/v1/customers", tags=["analytics"])


async def _segment(container: Container, actors: CustomerActorClient, customer_id: str) -> dict[str, Any]:
    segment: dict[str, Any] = await read_through(container, actors, key=segment_key(customer_id),
                                                 customer_id=customer_id, method="get_segment", field="segment")
    return segment


@router.get("/{customer_id}/analytics", responses=ERRORS,
            summary="Activity counts by type over 30/90/365 days, last activity, order cadence")
async def analytics(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep) -> dict[str, Any]:
    reach(principal, customer_id, READ)
    return envelope({"analytics": (await actors.call(customer_id, "analytics"))["analytics"]})


@router.get("/{customer_id}/orders/summary", responses=ERRORS,
            summary="Order history summary: from the Order Service, else from this service's own metrics")
async def orders_summary(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                         container: ContainerDep) -> dict[str, Any]:
    reach(principal, customer_id, READ)
    metrics = (await _segment(container, actors, customer_id))["metrics"]  # also: 404 for an unknown customer
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
    reach(principal, customer_id, READ)
    segment = await _segment(container, actors, customer_id)
    app_id = container.settings.loyalty_service_app_id
    upstream = await container.upstream.get(app_id, f"/loyalty/customer/{customer_id}/points")
    if upstream is not None:
        return envelope({"source": app_id, "loyalty": upstream})
    return envelope({"source": "customer-service",
                     "loyalty": {"customerId": customer_id, "points": segment["loyaltyPoints"]}})
