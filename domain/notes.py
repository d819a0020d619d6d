"""Internal notes: what support staff or services write about a customer (author, time, text), for staff.
A customer's own token never reads them, not even in its self-service export: an admin answers a formal
access request with them (GET /v1/customers/{id}/notes). Erasure deletes them. Append-only: a correction
is a new note.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import iso
from domain.validation import FieldChecks

NOTE_PREFIX = "note_"
NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class Note:
    note_id: str
    author: str  # the token's subject that wrote it
    text: str
    created_at: datetime

    @property
    def key(self) -> uuid.UUID:
        """Its database key."""
        return uuid.UUID(hex=self.note_id.removeprefix(NOTE_PREFIX))

    @classmethod
    def written(cls, *, author: str, text: str, now: datetime) -> Note:
        checks = FieldChecks()
        checks.text("text", text, max_length=NOTE_MAX_LENGTH, required=True)
        checks.raise_if_any()
        return cls(NOTE_PREFIX + uuid.uuid4().hex, author, text, now)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.note_id, "author": self.author, "text": self.text, "createdAt": iso(self.created_at)}

