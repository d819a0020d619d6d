"""The address book.

- At most 10 addresses (ADDRESS_LIMIT_EXCEEDED).
- Types: shipping, billing, both. Defaults are kept per type value, one each at most (the database
  enforces it too): a `both` address can be the default `both` beside a default shipping address.
- The first address of a type becomes that type's default; making an address the default unsets
  the previous default of its type.
- Deleting a default promotes the oldest remaining address of the same type, if there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.clock import iso, parse_iso
from domain.errors import DomainError, ErrorCode
from domain.validation import FieldChecks

MAX_ADDRESSES = 10


class AddressType(StrEnum):
    SHIPPING = "shipping"
    BILLING = "billing"
    BOTH = "both"


ADDRESS_TYPES = frozenset(AddressType)
# Field, max length (the schema's column sizes), required.
FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("firstName", 100, False), ("lastName", 100, False), ("company", 100, False),
    ("street", 255, True), ("street2", 255, False), ("city", 100, True), ("state", 50, False),
    ("zipCode", 20, True), ("country", 2, True), ("phone", 20, False),
)
FIELD_LIMITS = {name: max_length for name, max_length, _ in FIELDS}
DEFAULT_COUNTRY = "US"  # a new address that names none


def address_not_found(address_id: str) -> DomainError:
    return DomainError(ErrorCode.ADDRESS_NOT_FOUND, f"address {address_id} does not exist")


@dataclass(frozen=True)
class Address:
    id: str
    type: str
    is_default: bool
    fields: dict[str, str | None]
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The spec's address shape."""
        return {"id": self.id, "type": self.type, "isDefault": self.is_default, **self.fields,
                "createdAt": iso(self.created_at), "updatedAt": iso(self.updated_at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        created, updated = parse_iso(data["createdAt"]), parse_iso(data["updatedAt"])
        assert created is not None
        assert updated is not None
        return cls(data["id"], data["type"], data["isDefault"], {name: data.get(name) for name, _, _ in FIELDS},
                   created, updated)


def _checked(address_type: str, fields: dict[str, str | None]) -> None:
    checks = FieldChecks()
    checks.one_of("type", address_type, ADDRESS_TYPES)
    for name, max_length, required in FIELDS:
        checks.text(name, fields.get(name), max_length=max_length, required=required)
    checks.country("country", fields.get("country"))
    checks.phone("phone", fields.get("phone"))
    checks.raise_if_any()


@dataclass(frozen=True)
class AddressBook:
    addresses: tuple[Address, ...] = ()

    def get(self, address_id: str) -> Address:
        for address in self.addresses:
            if address.id == address_id:
                return address
        raise address_not_found(address_id)

    def _with_default(self, chosen: Address) -> tuple[Address, ...]:
        """Every address, with `chosen` in place and no other default of its type."""
        result = []
        for address in self.addresses:
            if address.id == chosen.id:
                continue
            if chosen.is_default and address.type == chosen.type and address.is_default:
                address = replace(address, is_default=False, updated_at=chosen.updated_at)
            result.append(address)
        return tuple(sorted([*result, chosen], key=lambda a: a.created_at))

    def add(self, *, address_id: str, request: dict[str, Any], now: datetime) -> tuple[AddressBook, Address]:
        if len(self.addresses) >= MAX_ADDRESSES:
            raise DomainError(ErrorCode.ADDRESS_LIMIT_EXCEEDED, f"an address book holds at most {MAX_ADDRESSES}")
        address_type = request.get("type") or "shipping"
        fields = {name: request.get(name) for name, _, _ in FIELDS}
        fields["country"] = fields["country"] or DEFAULT_COUNTRY
        _checked(address_type, fields)
        first_of_type = not any(a.type == address_type for a in self.addresses)
        address = Address(address_id, address_type, bool(request.get("isDefault")) or first_of_type, fields,
                          now, now)
        return AddressBook(self._with_default(address)), address

    def update(self, *, address_id: str, changes: dict[str, Any], now: datetime) -> tuple[AddressBook, Address]:
        current = self.get(address_id)
        fields = {**current.fields, **{k: v for k, v in changes.items() if k in current.fields}}
        address_type = changes.get("type") or current.type
        _checked(address_type, fields)
        is_default = changes["isDefault"] if changes.get("isDefault") is not None else current.is_default
        if address_type != current.type and current.is_default and changes.get("isDefault") is None:
            is_default = not any(a.type == address_type and a.is_default for a in self.addresses)
        updated = replace(current, type=address_type, is_default=is_default, fields=fields, updated_at=now)
        book = AddressBook(self._with_default(updated))
        if current.is_default and (not updated.is_default or updated.type != current.type):
            book = book._promote(current.type, now)
        return book, book.get(address_id)

    def remove(self, *, address_id: str, now: datetime) -> AddressBook:
        removed = self.get(address_id)
        book = AddressBook(tuple(a for a in self.addresses if a.id != address_id))
        return book._promote(removed.type, now) if removed.is_default else book

    def _promote(self, address_type: str, now: datetime) -> AddressBook:
        same_type = [a for a in self.addresses if a.type == address_type]
        if not same_type or any(a.is_default for a in same_type):
            return self
        oldest = min(same_type, key=lambda a: a.created_at)
        return AddressBook(self._with_default(replace(oldest, is_default=True, updated_at=now)))

    def to_list(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.addresses]

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> AddressBook:
        return cls(tuple(Address.from_dict(item) for item in items))
