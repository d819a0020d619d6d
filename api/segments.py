"""Customer segmentation: tier, segment, metrics, qualifications; admin override; counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.access import CustomerId, reach, read_through
from api.auth import ADMIN, READ, require_admin
from api.dependencies import ActorsDep, ContainerDep, CorrelationIdDep, PrincipalDep
from api.schemas import ERRORS, SegmentOverrideIn, envelope
from domain.errors import invalid
from persistence.cache import segment_key

router = APIRouter(prefix="/v1/customers", tags=["segments"])


@router.get("/segments", responses=ERRORS, summary="Customers per tier and per segment (admin)")
async def segment_counts(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    require_admin(principal)
    return envelope({"segments": await container.store.segment_counts()})


@router.get("/{customer_id}/segment", responses=ERRORS, summary="Tier, segment, metrics and qualifications")
async def get_segment(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                      container: ContainerDep) -> dict[str, Any]:
    reach(principal, customer_id, READ)
    return envelope({"segment": await read_through(container, actors, key=segment_key(customer_id),
                                                   customer_id=customer_id, method="get_segment", field="segment")})


@router.put("/{customer_id}/segment", responses=ERRORS,
            summary="Override tier and/or segment by hand, with a reason (admin)")
async def override_segment(customer_id: CustomerId, body: SegmentOverrideIn, principal: PrincipalDep,
                           actors: ActorsDep, correlation_id: CorrelationIdDep) -> dict[str, Any]:
    require_admin(principal)
    reach(principal, customer_id, ADMIN)
    if body.tier is None and body.segment is None:
        raise invalid("tier", "give a tier, a segment, or both")
    result = await actors.call(customer_id, "override_segment", {
        "tier": body.tier, "segment": body.segment, "reason": body.reason, "setBy": principal.subject,
        "correlationId": correlation_id})
    return envelope({"segment": result["segment"]})


@router.delete("/{customer_id}/segment/override", responses=ERRORS,
               summary="Clear a manual override: the computed tier and segment apply again (admin)")
async def clear_override(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                         correlation_id: CorrelationIdDep) -> dict[str, Any]:
    require_admin(principal)
    reach(principal, customer_id, ADMIN)
    result = await actors.call(customer_id, "clear_override",
                               {"setBy": principal.subject, "correlationId": correlation_id})
    return envelope({"segment": result["segment"]})
