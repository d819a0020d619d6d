"""Customer segmentation: tier, segment, metrics, qualifications; admin override; counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from actors import interface as methods
from actors import messages as m
from actors.client import ActorUnavailable
from api.access import Admin, AdminCustomer, ReadCustomer
from api.dependencies import Actors, Cache, Origin, Policy, Reads
from api.schemas import ERRORS, Envelope, SegmentData, SegmentOverrideIn, envelope, json_response
from api.views import segment_view
from domain.errors import DomainError, ErrorCode, invalid

router = APIRouter(prefix="/v1/customers", tags=["segments"])


def segment_update_failed() -> DomainError:
    """The spec's code for a segment change that could not be made: retry with backoff."""
    return DomainError(ErrorCode.SEGMENT_UPDATE_FAILED, "the segment could not be updated; retry shortly",
                       headers={"Retry-After": "1"})


@router.get("/segments", responses=ERRORS, summary="Customers per tier and per segment (admin)")
async def segment_counts(_: Admin, reads: Reads) -> dict[str, Any]:
    return envelope({"segments": await reads.segment_counts()})


@router.get("/{customer_id:customer}/segment", response_model=Envelope[SegmentData], responses=ERRORS,
            summary="Tier, segment, metrics and qualifications")
async def get_segment(access: ReadCustomer, actors: Actors, cache: Cache, policy: Policy) -> Response:
    return json_response({"segment": await segment_view(cache, actors, access.customer_id, policy.clock.now())})


@router.put("/{customer_id:customer}/segment", response_model=Envelope[SegmentData], responses=ERRORS,
            summary="Override tier and/or segment by hand, with a reason (admin)")
async def override_segment(access: AdminCustomer, body: SegmentOverrideIn, actors: Actors,
                           origin: Origin) -> dict[str, Any]:
    if body.tier is None and body.segment is None:
        raise invalid("tier", "give a tier, a segment, or both")
    try:
        result = await actors.call(access.customer_id, methods.OVERRIDE_SEGMENT, m.OverrideSegment(
            tier=body.tier, segment=body.segment, reason=body.reason, set_by=access.principal.subject,
            origin=origin))
    except ActorUnavailable as exc:
        raise segment_update_failed() from exc
    return envelope({"segment": result.segment})


@router.delete("/{customer_id:customer}/segment/override", response_model=Envelope[SegmentData], responses=ERRORS,
               summary="Clear a manual override: the computed tier and segment apply again (admin)")
async def clear_override(access: AdminCustomer, actors: Actors, origin: Origin) -> dict[str, Any]:
    try:
        result = await actors.call(access.customer_id, methods.CLEAR_OVERRIDE,
                                   m.ClearOverride(set_by=access.principal.subject, origin=origin))
    except ActorUnavailable as exc:
        raise segment_update_failed() from exc
    return envelope({"segment": result.segment})
