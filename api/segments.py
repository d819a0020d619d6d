"""Customer segmentation: a customer's tier, segment, metrics and qualifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import READ, authorize_customer
from api.customers import CustomerId, valid_customer_id
from api.dependencies import ActorsDep, ContainerDep, PrincipalDep
from api.schemas import ERRORS, envelope
from persistence.cache import segment_key

router = APIRouter(prefix="/v1/customers", tags=["segments"])


@router.get("/{customer_id}/segment", responses=ERRORS, summary="Tier, segment, metrics and qualifications")
async def get_segment(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                      container: ContainerDep) -> dict[str, Any]:
    authorize_customer(principal, customer_id, READ)
    valid_customer_id(customer_id)
    cached = await container.cache.get(segment_key(customer_id))
    segment = cached if cached is not None else (await actors.call(customer_id, "get_segment"))["segment"]
    return envelope({"segment": segment})
