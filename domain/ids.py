"""Public identifiers.

PostgreSQL keys are UUIDs. Everywhere outside the database (API paths, events, actor ids, cache keys)
a customer is `cust_` and an address `addr_` followed by the UUID's 32 lowercase hex digits.
"""

from __future__ import annotations

import re
import uuid

CUSTOMER_PREFIX = "cust_"
ADDRESS_PREFIX = "addr_"
_HEX32 = re.compile(r"[0-9a-f]{32}")


def _parse(value: str, prefix: str) -> uuid.UUID | None:
    if not value.startswith(prefix):
        return None
    digits = value[len(prefix):]
    # fullmatch: "$" would also accept a trailing newline.
    return uuid.UUID(hex=digits) if _HEX32.fullmatch(digits) else None


def new_customer_id() -> str:
    return CUSTOMER_PREFIX + uuid.uuid4().hex


def new_address_id() -> str:
    return ADDRESS_PREFIX + uuid.uuid4().hex


def customer_uuid(customer_id: str) -> uuid.UUID | None:
    """The database key of a public customer id, or None if it isn't one."""
    return _parse(customer_id, CUSTOMER_PREFIX)


def address_uuid(address_id: str) -> uuid.UUID | None:
    return _parse(address_id, ADDRESS_PREFIX)


def customer_id_of(key: uuid.UUID) -> str:
    return CUSTOMER_PREFIX + key.hex


def address_id_of(key: uuid.UUID) -> str:
    return ADDRESS_PREFIX + key.hex
