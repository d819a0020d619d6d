"""Internal notes (domain/notes.py): written and read by services and admins, never by the customer's own
token. Written through the customer's actor, so a note and an erasure never cross: after the erasure a
note is refused like any change (404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from actors import interface as methods
from actors import messages as m
from api.access import ServiceReadCustomer, ServiceWriteCustomer
from api.dependencies import Actors, Origin, Reads
from api.keyset import Cursor, decode_cursor, encode_cursor
from api.schemas import ERRORS, Envelope, NoteData, NoteIn, NotesData, envelope

router = APIRouter(prefix="/v1/customers", tags=["notes"])


@router.post("/{customer_id:customer}/notes", status_code=201, response_model=Envelope[NoteData], responses=ERRORS,
             summary="Write an internal note about the customer (services and admins)")
async def add_note(access: ServiceWriteCustomer, body: NoteIn, actors: Actors, origin: Origin) -> dict[str, Any]:
    added = await actors.call(access.customer_id, methods.ADD_NOTE,
                              m.AddNote(author=access.principal.subject, text=body.text, origin=origin))
    return envelope({"note": added.note})


@router.get("/{customer_id:customer}/notes", response_model=Envelope[NotesData], responses=ERRORS,
            summary="The customer's internal notes, newest first, keyset pages (services and admins)")
async def list_notes(access: ServiceReadCustomer, reads: Reads, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                     cursor: Cursor = None) -> dict[str, Any]:
    page = await reads.notes(access.customer_id, limit=limit, after=None if cursor is None else decode_cursor(cursor))
    return envelope({"notes": [n.to_dict() for n in page.notes],
                     "nextCursor": encode_cursor(page.next_after) if page.next_after else None})
