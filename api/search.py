"""Finding customers (admin): filters, keyset pagination with an opaque cursor, stable order."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import Admin
from api.dependencies import Reads
from api.schemas import ERRORS, NulFree, envelope
from domain.clock import iso, parse_iso
from domain.customer import Status
from domain.errors import invalid
from domain.segmentation import Segment, Tier
from persistence.read_models import CustomerSearch

router = APIRouter(prefix="/v1/customers", tags=["search"])


def encode_cursor(after: tuple[datetime, uuid.UUID]) -> str:
    """Where the next page starts: a registration time and a row key, nothing about the person."""
    raw = json.dumps({"r": iso(after[0]), "k": after[1].hex}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        registered = parse_iso(data["r"])
        if registered is None:
            raise ValueError("no time")
        return registered, uuid.UUID(hex=data["k"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise invalid("cursor", "is not a cursor this API gave out") from exc


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise invalid(field, "must carry a time zone, e.g. 2024-10-30T10:00:00Z")
    return value


@router.get("", responses=ERRORS, summary="Find customers (admin): filters, newest first, keyset pages")
async def find_customers(
    _: Admin, reads: Reads,
    email: Annotated[NulFree | None, Query(max_length=255, description="exact, any case")] = None,
    email_prefix: Annotated[NulFree | None, Query(alias="emailPrefix", min_length=2, max_length=255)] = None,
    status: Status | None = None,
    tier: Tier | None = None,
    segment: Segment | None = None,
    registered_from: Annotated[datetime | None, Query(alias="registeredFrom")] = None,
    registered_to: Annotated[datetime | None, Query(alias="registeredTo")] = None,
    last_order_from: Annotated[datetime | None, Query(alias="lastOrderFrom")] = None,
    last_order_to: Annotated[datetime | None, Query(alias="lastOrderTo")] = None,
    q: Annotated[NulFree | None, Query(min_length=3, max_length=100, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    page = await reads.search(CustomerSearch(
        email=email, email_prefix=email_prefix, status=status.value if status else None,
        tier=tier.value if tier else None, segment=segment.value if segment else None,
        registered_from=_aware(registered_from, "registeredFrom"), registered_to=_aware(registered_to, "registeredTo"),
        last_order_from=_aware(last_order_from, "lastOrderFrom"), last_order_to=_aware(last_order_to, "lastOrderTo"),
        name=q, limit=limit, after=decode_cursor(cursor) if cursor else None))
    return envelope({"customers": page.customers,
                     "nextCursor": encode_cursor(page.next_after) if page.next_after else None})
