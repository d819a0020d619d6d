"""The customer lifecycle: every transition, its activity and event, and its refusal from a state it
does not apply to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.aggregate import Change, CustomerAggregate
from domain.customer import Status
from domain.errors import DomainError, ErrorCode
from domain.ids import new_customer_id
from domain.segmentation import Tier

NOW = datetime(2024, 10, 30, 10, 0, tzinfo=UTC)


def customer(status: Status = Status.ACTIVE, **profile: str) -> CustomerAggregate:
    registered = CustomerAggregate.register(
        customer_id=new_customer_id(), email="ada@example.com", password_hash="h", profile=dict(profile),
        preferences={}, consent_source="registration:test", default_tier=Tier.REGULAR, now=NOW).after
    return replace(registered, customer=replace(registered.customer, status=status))


def moved(change: Change, status: Status, activity: str, topic: str) -> None:
    assert change.after.customer.status is status
    assert change.after.customer.version == change.before.customer.version + 1  # type: ignore[union-attr]
    assert change.activity is not None
    assert change.activity.activity_type == activity
    assert [e.topic for e in change.events] == [topic]


def test_reactivation_brings_an_inactive_customer_back() -> None:
    moved(customer(Status.INACTIVE).reactivate(NOW), Status.ACTIVE, "reactivated", "customers.customer.reactivated")


def test_suspension_and_its_lifting() -> None:
    suspended = customer().suspend(reason="chargebacks", by="svc:risk", now=NOW)
    moved(suspended, Status.SUSPENDED, "suspended", "customers.customer.suspended")
    assert suspended.revokes_sessions
    assert suspended.events[0].data()["reason"] == "chargebacks"
    lifted = suspended.after.lift_suspension(reason="cleared", by="svc:risk", now=NOW)
    moved(lifted, Status.ACTIVE, "suspension_lifted", "customers.customer.unsuspended")


def test_an_inactive_account_can_be_suspended_too() -> None:
    moved(customer(Status.INACTIVE).suspend(reason="fraud", by="svc:risk", now=NOW), Status.SUSPENDED, "suspended",
          "customers.customer.suspended")


@pytest.mark.parametrize(("status", "transition"), [
    (Status.ACTIVE, "reactivate"), (Status.SUSPENDED, "reactivate"), (Status.DELETED, "reactivate"),
    (Status.SUSPENDED, "suspend"), (Status.DELETED, "suspend"),
    (Status.ACTIVE, "lift_suspension"), (Status.INACTIVE, "lift_suspension"),
    (Status.SUSPENDED, "deactivate"), (Status.DELETED, "deactivate"),
])
def test_transitions_from_states_they_do_not_apply_to_are_refused(status: Status, transition: str) -> None:
    subject = customer(status)
    calls: dict[str, Callable[[], object]] = {
        "reactivate": lambda: subject.reactivate(NOW),
        "deactivate": lambda: subject.deactivate(NOW),
        "suspend": lambda: subject.suspend(reason="r", by="svc:x", now=NOW),
        "lift_suspension": lambda: subject.lift_suspension(reason="r", by="svc:x", now=NOW),
    }
    with pytest.raises(DomainError) as refused:
        calls[transition]()
    assert refused.value.code is ErrorCode.INVALID_STATUS_TRANSITION


def test_a_suspended_customer_cannot_log_in_or_change_anything() -> None:
    suspended = customer(Status.SUSPENDED)
    attempts: list[Callable[[], object]] = [lambda: suspended.logged_in(rehashed_password=None, now=NOW),
                    lambda: suspended.update_profile(profile={"firstName": "X"}, preferences={}, source="s",
                                                     if_match=None, now=NOW),
                    lambda: suspended.verify(channel="email", now=NOW)]
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.code is ErrorCode.CUSTOMER_NOT_ACTIVE


def test_verification_flags_and_what_clears_them() -> None:
    subject = customer(phone="+1-555-0100")
    email = subject.verify(channel="email", now=NOW)
    assert email is not None
    assert email.after.customer.email_verified
    assert [e.topic for e in email.events] == ["customers.customer.verified"]
    assert email.after.verify(channel="email", now=NOW) is None  # idempotent
    both = email.after.verify(channel="phone", now=NOW)
    assert both is not None
    assert both.after.customer.phone_verified
    new_phone = both.after.update_profile(profile={"phone": "+1-555-0101"}, preferences={}, source="s",
                                          if_match=None, now=NOW)
    assert new_phone is not None
    assert (new_phone.after.customer.email_verified, new_phone.after.customer.phone_verified) == (True, False)
    new_email = new_phone.after.update_profile(profile={}, preferences={}, source="s", if_match=None, now=NOW,
                                               email="ada.lovelace@example.com")
    assert new_email is not None
    # The verified login stays until the new address is confirmed (tests/unit/test_account_recovery.py).
    assert new_email.after.customer.email_verified is True
    assert new_email.after.customer.pending_email == "ada.lovelace@example.com"
    assert new_email.events[0].data()["changedFields"] == ["pendingEmail"]


def test_a_phone_cannot_be_verified_when_there_is_none() -> None:
    with pytest.raises(DomainError) as refused:
        customer().verify(channel="phone", now=NOW)
    assert refused.value.code is ErrorCode.INVALID_STATUS_TRANSITION
