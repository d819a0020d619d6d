"""Tags (domain/tags.py): a merchant's labels on a customer, set by services and admins, searchable with
GET /v1/customers?tag=. The customer's own token reads them on its representation but cannot set them."""

from __future__ import annotations

from fastapi import APIRouter, Response

from actors import interface as methods
from actors import messages as m
from api.access import ServiceWriteCustomer
from api.dependencies import Actors, Origin
from api.schemas import ERRORS, CustomerData, Envelope, TagsIn
from api.views import customer_response

router = APIRouter(prefix="/v1/customers", tags=["tags"])


@router.put("/{customer_id:customer}/tags", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Replace the customer's tags (services and admins)")
async def set_tags(access: ServiceWriteCustomer, body: TagsIn, actors: Actors, origin: Origin) -> Response:
    return customer_response(await actors.call(access.customer_id, methods.SET_TAGS,
                                               m.SetTags(tags=body.tags, origin=origin)))
