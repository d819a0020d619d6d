"""Address book rules: the limit, defaults per type, promotion on delete, field errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.addresses import MAX_ADDRESSES, AddressBook
from domain.errors import DomainError, ErrorCode
from domain.ids import new_address_id

T0 = datetime(2024, 10, 30, tzinfo=UTC)


def fields(**overrides: Any) -> dict[str, Any]:
    return {"street": "123 Main St", "city": "New York", "zipCode": "10001", "country": "US", **overrides}


def add(book: AddressBook, minutes: int = 0, **overrides: Any) -> tuple[AddressBook, str]:
    book, address = book.add(address_id=new_address_id(), request=fields(**overrides),
                             now=T0 + timedelta(minutes=minutes))
    return book, address.id


def defaults(book: AddressBook) -> dict[str, str]:
    return {a.type: a.id for a in book.addresses if a.is_default}


def test_first_address_of_a_type_becomes_its_default() -> None:
    book, shipping = add(AddressBook(), type="shipping")
    book, billing = add(book, 1, type="billing")
    book, _ = add(book, 2, type="shipping")
    assert defaults(book) == {"shipping": shipping, "billing": billing}


def test_setting_a_default_unsets_the_old_one_of_its_type_only() -> None:
    book, first = add(AddressBook(), type="shipping")
    book, billing = add(book, 1, type="billing")
    book, second = add(book, 2, type="shipping", isDefault=True)
    assert defaults(book) == {"shipping": second, "billing": billing}
    book, _ = book.update(address_id=first, changes={"isDefault": True}, now=T0 + timedelta(minutes=3))
    assert defaults(book) == {"shipping": first, "billing": billing}


def test_deleting_the_default_promotes_the_oldest_of_its_type() -> None:
    book, first = add(AddressBook())
    book, second = add(book, 1)
    book, third = add(book, 2)
    book = book.remove(address_id=first, now=T0 + timedelta(hours=1))
    assert defaults(book) == {"shipping": second}
    book = book.remove(address_id=second, now=T0 + timedelta(hours=1))
    book = book.remove(address_id=third, now=T0 + timedelta(hours=1))
    assert book.addresses == ()


def test_changing_the_type_of_a_default_hands_the_default_on() -> None:
    book, first = add(AddressBook())
    book, second = add(book, 1)
    book, moved = book.update(address_id=first, changes={"type": "billing"}, now=T0 + timedelta(hours=1))
    assert moved.is_default
    assert defaults(book) == {"shipping": second, "billing": first}


def test_at_most_ten_addresses() -> None:
    book = AddressBook()
    for i in range(MAX_ADDRESSES):
        book, _ = add(book, i)
    with pytest.raises(DomainError) as raised:
        add(book, 99)
    assert raised.value.code is ErrorCode.ADDRESS_LIMIT_EXCEEDED


def test_field_errors_name_each_field() -> None:
    with pytest.raises(DomainError) as raised:
        AddressBook().add(address_id=new_address_id(),
                          request={"street": "", "city": "X" * 101, "country": "XX", "type": "home"}, now=T0)
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    assert {f.field for f in raised.value.fields} == {"street", "city", "zipCode", "country", "type"}


def test_unknown_address_is_address_not_found() -> None:
    with pytest.raises(DomainError) as raised:
        AddressBook().remove(address_id=new_address_id(), now=T0)
    assert raised.value.code is ErrorCode.ADDRESS_NOT_FOUND


def test_round_trip() -> None:
    book, _ = add(AddressBook(), street2="Apt 4B", company="")
    assert AddressBook.from_list(book.to_list()) == book
