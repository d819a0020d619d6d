"""Keyset pages: an opaque cursor for "after this row" of a list ordered newest first by (time, uuid), and
the RFC 3339 instants that bound such lists (customer search, activity timeline)."""

from __future__ import annotations

import base64
import re
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator

from domain.errors import invalid
from domain.validation import END

# A cursor is where the next page starts: a row's time (microseconds since the epoch, signed) and
# a row key, nothing about the person; 24 bytes, 32 base64url characters. Every string of that form is a
# position (a time past what a datetime holds is clamped: no row lies beyond it either way), so a cursor
# that matches the document's pattern is never refused.
CURSOR_PATTERN = "^[A-Za-z0-9_-]{32}" + END
_CURSOR = struct.Struct(">q16s")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EARLIEST, _LATEST = _micros(datetime.min.replace(tzinfo=UTC)), _micros(datetime.max.replace(tzinfo=UTC))


def encode_cursor(after: tuple[datetime, uuid.UUID]) -> str:
    return base64.urlsafe_b64encode(_CURSOR.pack(_micros(after[0]), after[1].bytes)).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if not re.search(CURSOR_PATTERN, cursor):
        raise invalid("cursor", "is not a cursor this API gave out")
    micros, key = _CURSOR.unpack(base64.urlsafe_b64decode(cursor))
    return _EPOCH + timedelta(microseconds=min(max(micros, _EARLIEST), _LATEST)), uuid.UUID(bytes=key)


# RFC 3339, as the document's `format: date-time` means it: a date, a time and an offset. Python's own
# parser would also take a number (a Unix time) or ISO 8601's basic form, which the document does not allow.
RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                     r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})" + END)


def _instant(value: object) -> datetime:
    if not isinstance(value, str) or not RFC3339.search(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2024-10-30T10:00:00Z")
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


Instant = Annotated[datetime, BeforeValidator(_instant)]


Cursor = Annotated[str | None, Query(max_length=32, json_schema_extra={"pattern": CURSOR_PATTERN},
                                     description="nextCursor of the previous page")]
