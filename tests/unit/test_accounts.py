"""Account rules: email, password, profile and preference validation, partial updates, consent history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.aggregate import CustomerAggregate
from domain.customer import Customer, Status, default_preferences
from domain.errors import DomainError, ErrorCode
from domain.ids import customer_id_of, customer_uuid, new_customer_id
from domain.segmentation import SegmentState
from domain.validation import check_email, check_password

NOW = datetime(2024, 10, 30, 10, 0, tzinfo=UTC)


def register(**preferences: object) -> Customer:
    customer, _ = Customer.register(customer_id=new_customer_id(), email="john.doe@example.com",
                                    profile={"firstName": "John"}, preferences=dict(preferences), now=NOW)
    return customer


@pytest.mark.parametrize("email", ["john.doe@example.com", "a+b@sub.example.co"])
def test_valid_emails(email: str) -> None:
    assert check_email(email) == email


@pytest.mark.parametrize("email", ["", "john", "john@", "john@example", "john@@example.com", "jo hn@example.com",
                                   "john@example.c", "  john@example.com ", "john@example.com\n"])
def test_invalid_emails(email: str) -> None:
    with pytest.raises(DomainError) as raised:
        check_email(email)
    assert raised.value.code is ErrorCode.INVALID_EMAIL_FORMAT


@pytest.mark.parametrize("password", ["short1A", "password123", "aaaaaaaaaaaa", "alllowercase", "12345678",
                                      "johndoe-2024"])
def test_weak_passwords(password: str) -> None:
    with pytest.raises(DomainError) as raised:
        check_password(password, min_length=8, email="johndoe@example.com")
    assert raised.value.code is ErrorCode.WEAK_PASSWORD


def test_strong_password_passes() -> None:
    check_password("securePassword123", min_length=8, email="jane.smith@example.com")


def test_ids_round_trip_and_reject_garbage() -> None:
    customer_id = new_customer_id()
    key = customer_uuid(customer_id)
    assert key is not None
    assert customer_id_of(key) == customer_id
    assert customer_uuid("cust_456") is None
    assert customer_uuid("addr_" + customer_id[5:]) is None


def test_registration_defaults_and_consent_history() -> None:
    customer, consents = Customer.register(
        customer_id=new_customer_id(), email="jane@example.com", profile={},
        preferences={"marketing": {"emailOptIn": True}}, now=NOW)
    assert customer.preferences["marketing"] == {"emailOptIn": True, "smsOptIn": False, "pushOptIn": False}
    assert customer.preferences["notifications"]["orderUpdates"] is True
    assert [(c.channel, c.granted, c.source) for c in consents] == [
        ("email", True, "registration"), ("sms", False, "registration"), ("push", False, "registration")]


def test_update_merges_nested_preferences_and_records_only_changed_consent() -> None:
    customer = register(marketing={"emailOptIn": True})
    updated, consents, changed = customer.update(
        profile={"phone": "+1-555-0124"}, preferences={"marketing": {"smsOptIn": True}}, now=NOW, source="customer")
    assert updated.preferences["marketing"] == {"emailOptIn": True, "smsOptIn": True, "pushOptIn": False}
    assert updated.profile["firstName"] == "John"
    assert updated.profile["phone"] == "+1-555-0124"
    assert [(c.channel, c.granted) for c in consents] == [("sms", True)]
    assert changed == ["profile.phone", "preferences.marketing.smsOptIn"]
    assert updated.version == customer.version + 1


def test_update_without_change_keeps_the_version() -> None:
    customer = register()
    same, consents, changed = customer.update(profile={"firstName": "John"}, preferences={}, now=NOW, source="x")
    assert same is customer
    assert consents == []
    assert changed == []


def test_update_reports_every_invalid_field() -> None:
    with pytest.raises(DomainError) as raised:
        register().update(profile={"phone": "call me", "dateOfBirth": (NOW + timedelta(days=1)).date().isoformat()},
                          preferences={"timezone": "Mars/Base", "currency": "usd"}, now=NOW, source="x")
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    assert {f.field for f in raised.value.fields} == {
        "profile.phone", "profile.dateOfBirth", "preferences.timezone", "preferences.currency"}


def test_deactivation_is_idempotent_and_blocks_updates() -> None:
    inactive = register().deactivate(NOW)
    assert inactive is not None
    assert inactive.status is Status.INACTIVE
    assert inactive.deactivate(NOW) is None
    with pytest.raises(DomainError) as raised:
        inactive.update(profile={"firstName": "X"}, preferences={}, now=NOW, source="x")
    assert raised.value.code is ErrorCode.CUSTOMER_NOT_ACTIVE


def test_state_round_trips() -> None:
    customer = register(marketing={"pushOptIn": True}).logged_in(NOW)
    assert Customer.from_state(customer.to_state()) == customer


def test_a_null_preference_changes_nothing() -> None:
    """schemathesis's stateful phase registered {"preferences": {"notifications": null}}: a 500 then."""
    nulls = {"language": None, "notifications": None, "marketing": {"emailOptIn": None, "smsOptIn": True}}
    customer, consents = Customer.register(customer_id=new_customer_id(), email="nulls@example.com", profile={},
                                           preferences=nulls, now=NOW)
    expected = default_preferences()
    expected["marketing"]["smsOptIn"] = True
    assert customer.preferences == expected
    assert [(c.channel, c.granted) for c in consents] == [("email", False), ("sms", True), ("push", False)]
    updated, _, changed = customer.update(profile={}, preferences=nulls, now=NOW, source="s")
    assert (updated.preferences, changed) == (expected, [])


def test_a_malformed_update_is_refused_for_its_form_whatever_version_it_names() -> None:
    """schemathesis sent an invalid currency with a stale If-Match and got 412: the precondition was
    checked first. The request's own validation comes first now."""
    aggregate = CustomerAggregate(register(), SegmentState.initial(NOW))
    with pytest.raises(DomainError) as raised:
        aggregate.update_profile(profile={}, preferences={"currency": "usd"}, source="test", if_match='"7"', now=NOW)
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    with pytest.raises(DomainError) as stale:
        aggregate.update_profile(profile={}, preferences={"currency": "EUR"}, source="test", if_match='"7"', now=NOW)
    assert stale.value.code is ErrorCode.PRECONDITION_FAILED
