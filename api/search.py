"""Finding customers (admin): filters, keyset pagination with an opaque cursor (api/keyset.py), stable order."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import Admin
from api.dependencies import Reads
from api.keyset import Cursor, Instant, decode_cursor, encode_cursor
from api.schemas import ERRORS, NulFree, envelope
from domain.customer import Status
from domain.segmentation import Segment, Tier
from domain.tags import normalised_tag
from persistence.read_models import CustomerSearch

router = APIRouter(prefix="/v1/customers", tags=["search"])


@router.get("", responses=ERRORS, summary="Find customers (admin): filters, newest first, keyset pages")
async def find_customers(
    _: Admin, reads: Reads,
    email: Annotated[NulFree | None, Query(max_length=255, description="exact, any case")] = None,
    email_prefix: Annotated[NulFree | None, Query(alias="emailPrefix", min_length=2, max_length=255)] = None,
    status: Status | None = None,
    tier: Tier | None = None,
    segment: Segment | None = None,
    registered_from: Annotated[Instant | None, Query(alias="registeredFrom")] = None,
    registered_to: Annotated[Instant | None, Query(alias="registeredTo")] = None,
    last_order_from: Annotated[Instant | None, Query(alias="lastOrderFrom")] = None,
    last_order_to: Annotated[Instant | None, Query(alias="lastOrderTo")] = None,
    q: Annotated[NulFree | None, Query(min_length=3, max_length=100, description="part of the name")] = None,
    tag: Annotated[NulFree | None, Query(max_length=100, description="has this tag (any case)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await reads.search(CustomerSearch(
        email=email, email_prefix=email_prefix, status=status.value if status else None,
        tier=tier.value if tier else None, segment=segment.value if segment else None,
        registered_from=registered_from, registered_to=registered_to,
        last_order_from=last_order_from, last_order_to=last_order_to,
        name=q, tag=None if tag is None else normalised_tag(tag, field_name="tag"), limit=limit,
        after=None if cursor is None else decode_cursor(cursor)))
    return envelope({"customers": page.customers,
                     "nextCursor": encode_cursor(page.next_after) if page.next_after else None})
