"""Tags: a merchant's labels on a customer ("wholesale", "newsletter:2026"), searchable with
GET /v1/customers?tag=. Normalised so that one label is one tag whatever its case or spacing: trimmed,
lower case, inner spaces as "-"; kept sorted, each once. They are labels, shown wherever the customer is
(its own token included); what staff write for staff belongs in notes (domain/notes.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.errors import invalid
from domain.validation import FieldChecks

MAX_TAGS = 20
TAG_MAX_LENGTH = 40
TAG = re.compile(r"[a-z0-9][a-z0-9._:-]*")
# What a client may send for one tag, as the API document states it: exactly what normalises to a tag.
TAG_INPUT_PATTERN = r"^ *[A-Za-z0-9][A-Za-z0-9._:-]*(?: +[A-Za-z0-9._:-]+)* *$"
TAG_RULE = (f"must be 1 to {TAG_MAX_LENGTH} letters, digits or . _ : - (spaces become -), "
            "starting with a letter or digit")


def _normal(tag: str) -> str | None:
    normal = "-".join(tag.lower().split())
    return normal if len(normal) <= TAG_MAX_LENGTH and TAG.fullmatch(normal) else None


def normalised_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """The tags as kept; a FieldChecks error names each one that cannot be a tag."""
    checks = FieldChecks()
    kept: set[str] = set()
    for index, tag in enumerate(tags):
        normal = _normal(tag)
        if normal is None:
            checks.fail(f"tags[{index}]", TAG_RULE)
        else:
            kept.add(normal)
    if len(kept) > MAX_TAGS:
        checks.fail("tags", f"must be at most {MAX_TAGS} different tags")
    checks.raise_if_any()
    return tuple(sorted(kept))


def normalised_tag(tag: str, *, field_name: str) -> str:
    """One tag as kept (a search for it), or a FieldChecks error on `field_name`."""
    normal = _normal(tag)
    if normal is None:
        raise invalid(field_name, TAG_RULE)
    return normal
