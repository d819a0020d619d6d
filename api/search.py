"""Finding and exporting customers (admin): filters, keyset pagination with an opaque cursor (api/keyset.py),
stable order."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.access import Admin
from api.dependencies import Reads
from api.keyset import Cursor, Instant, decode_cursor, encode_cursor
from api.schemas import ERRORS, NulFree, envelope
from domain.customer import Status
from domain.segmentation import Segment, Tier
from domain.tags import TAG_INPUT_PATTERN, TAG_MAX_LENGTH, normalised_tag
from persistence.read_models import CustomerSearch

router = APIRouter(prefix="/v1/customers", tags=["search"])


async def search_filters(
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
    tag: Annotated[str | None, Query(max_length=TAG_MAX_LENGTH, pattern=TAG_INPUT_PATTERN,
                                     description="has this tag (any case)")] = None,
) -> CustomerSearch:
    """The filters the search and the export share, as query parameters."""
    return CustomerSearch(
        email=email, email_prefix=email_prefix, status=status.value if status else None,
        tier=tier.value if tier else None, segment=segment.value if segment else None,
        registered_from=registered_from, registered_to=registered_to,
        last_order_from=last_order_from, last_order_to=last_order_to,
        name=q, tag=None if tag is None else normalised_tag(tag, field_name="tag"))


SearchFilters = Annotated[CustomerSearch, Depends(search_filters)]
EXPORT_PAGE = 500
NDJSON = "application/x-ndjson"


@router.get("", responses=ERRORS, summary="Find customers (admin): filters, newest first, keyset pages")
async def find_customers(_: Admin, reads: Reads, filters: SearchFilters,
                         limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: Cursor = None) -> dict[str, Any]:
    page = await reads.search(replace(filters, limit=limit, after=None if cursor is None else decode_cursor(cursor)))
    return envelope({"customers": page.customers,
                     "nextCursor": encode_cursor(page.next_after) if page.next_after else None})


@router.get("/export", response_class=StreamingResponse, summary=(
    "Export the customers the filters match (admin): NDJSON, newest first, one customer per line, then "
    '{"endOfExport": {"customers": N}}'),
            responses={**ERRORS, 200: {"content": {NDJSON: {"schema": {"type": "string"}}}, "description": (
                "one search result per line; the last line, endOfExport, says the export is whole")}})
async def export_customers(_: Admin, reads: Reads, filters: SearchFilters) -> StreamingResponse:
    """Streamed in keyset pages of EXPORT_PAGE from the read replica, so memory stays flat whatever the
    count. Customers registered after the export began sort before its first page and are not in it."""

    async def lines() -> AsyncIterator[bytes]:
        after: tuple[datetime, uuid.UUID] | None = None
        exported = 0
        while True:
            page = await reads.search(replace(filters, limit=EXPORT_PAGE, after=after))
            exported += len(page.customers)
            yield b"".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
                           for c in page.customers)
            if page.next_after is None:
                yield json.dumps({"endOfExport": {"customers": exported}}).encode() + b"\n"
                return
            after = page.next_after

    return StreamingResponse(lines(), media_type=NDJSON)
