"""The activity timeline: what happened to a customer, newest first, in keyset pages (api/keyset.py).

Readable by the customer (its own) and by admins; not by other services, as the GDPR export. On the
customer's own timeline, what staff wrote (domain.activity.STAFF_ONLY_DATA) shows as having happened,
without its data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import ReadOwnCustomer
from api.dependencies import Reads
from api.keyset import Cursor, Instant, decode_cursor, encode_cursor
from api.schemas import ERRORS, ActivitiesData, Envelope, envelope
from domain.activity import STAFF_ONLY_DATA

router = APIRouter(prefix="/v1/customers", tags=["activities"])

ActivityType = Annotated[str, Query(pattern=r"^[a-z_]{1,50}$")]


@router.get("/{customer_id:customer}/activities", response_model=Envelope[ActivitiesData], responses=ERRORS,
            summary="The customer's activities, newest first: filter by type and time, keyset pages")
async def list_activities(
    access: ReadOwnCustomer, reads: Reads,
    activity_type: Annotated[list[ActivityType] | None, Query(alias="type", max_length=20,
                                                              description="any of these types")] = None,
    occurred_from: Annotated[Instant | None, Query(alias="from", description="at or after")] = None,
    occurred_to: Annotated[Instant | None, Query(alias="to", description="before")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await reads.activities(access.customer_id, types=activity_type, occurred_from=occurred_from,
                                  occurred_to=occurred_to, limit=limit,
                                  after=None if cursor is None else decode_cursor(cursor))
    activities = page.activities
    if not access.principal.is_admin:
        activities = [{**a, "data": None} if a["type"] in STAFF_ONLY_DATA else a for a in activities]
    return envelope({"activities": activities,
                     "nextCursor": encode_cursor(page.next_after) if page.next_after else None})
