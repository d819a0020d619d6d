"""Account self-service rules, in the domain and the turn (issue 21): a new email address waits for its
verification, tokens are decided by the domain and checked by the store, and an Idempotency-Key reused
with another request is refused. The same paths through daprd and PostgreSQL are in
tests/e2e/test_account_recovery.py and tests/integration/test_store.py."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import passwords
from domain.aggregate import CustomerAggregate
from domain.customer import Status
from domain.errors import DomainError, ErrorCode
from domain.ids import new_customer_id
from domain.segmentation import Tier
from domain.tokens import PREFIXES, TokenPurpose, TokenRedemption, new_token, token_hash
from tests.unit.test_use_cases import ORIGIN, World, create_request

NOW = datetime(2024, 10, 30, 10, 0, tzinfo=UTC)
HASH = token_hash("t")


def customer(**changes: Any) -> CustomerAggregate:
    registered = CustomerAggregate.register(
        customer_id=new_customer_id(), email="ada@example.com", password_hash="h", profile={}, preferences={},
        consent_source="registration:test", default_tier=Tier.REGULAR, now=NOW).after
    return replace(registered, customer=replace(registered.customer, **changes))


def confirmation(email: str) -> TokenRedemption:
    return TokenRedemption(TokenPurpose.EMAIL_VERIFICATION, HASH, NOW, email=email)


def test_a_new_email_address_waits_for_its_verification_and_is_announced() -> None:
    change = customer(email_verified=True).update_profile(
        profile={}, preferences={}, source="s", if_match=None, now=NOW, email="new@example.com",
        email_change_reason="support ticket 42")
    assert change is not None
    after = change.after.customer
    assert (after.email, after.pending_email, after.email_verified) == ("ada@example.com", "new@example.com", True)
    assert [e.topic for e in change.events] == ["customers.profile.updated",
                                                "customers.customer.email_change_requested"]
    assert change.events[1].data() == {"customerId": after.id, "currentEmail": "ada@example.com",
                                       "newEmail": "new@example.com", "requestedAt": "2024-10-30T10:00:00Z"}
    assert change.tokens_revoked == (TokenPurpose.EMAIL_VERIFICATION,)  # a token for an older address is void
    assert change.activity is not None
    assert change.activity.data["emailChangeReason"] == "support ticket 42"


def test_asking_for_the_current_address_again_cancels_a_pending_change() -> None:
    change = customer(pending_email="new@example.com").update_profile(
        profile={}, preferences={}, source="s", if_match=None, now=NOW, email="ada@example.com")
    assert change is not None
    assert change.after.customer.pending_email is None
    assert [e.topic for e in change.events] == ["customers.profile.updated"]


def test_confirming_a_pending_address_makes_it_the_verified_login() -> None:
    change = customer(pending_email="new@example.com").confirm_email(confirmation("new@example.com"))
    after = change.after.customer
    assert (after.email, after.pending_email, after.email_verified) == ("new@example.com", None, True)
    assert [e.topic for e in change.events] == ["customers.profile.updated", "customers.customer.verified"]
    assert change.token_redeemed == confirmation("new@example.com")


def test_confirming_the_login_address_verifies_it() -> None:
    change = customer().confirm_email(confirmation("ada@example.com"))
    assert (change.after.customer.email, change.after.customer.email_verified) == ("ada@example.com", True)
    assert [e.topic for e in change.events] == ["customers.customer.verified"]


@pytest.mark.parametrize(("state", "email", "code"), [
    ({"pending_email": "newer@example.com"}, "new@example.com", ErrorCode.INVALID_TOKEN),  # superseded
    ({"email_verified": True}, "ada@example.com", ErrorCode.INVALID_TOKEN),  # verified already
    ({"status": Status.SUSPENDED, "pending_email": "new@example.com"}, "new@example.com",
     ErrorCode.CUSTOMER_NOT_ACTIVE),
])
def test_a_token_for_another_address_or_a_customer_who_cannot_change_is_refused(
        state: dict[str, Any], email: str, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as refused:
        customer(**state).confirm_email(confirmation(email))
    assert refused.value.code is code


def test_a_verification_token_is_for_the_pending_address_else_an_unverified_login() -> None:
    issued = customer(pending_email="new@example.com").email_verification_issued(
        token_hash=HASH, expires_at=NOW + timedelta(days=1), now=NOW).token_issued
    assert issued is not None
    assert (issued.purpose, issued.email) == (TokenPurpose.EMAIL_VERIFICATION, "new@example.com")
    login = customer().email_verification_issued(token_hash=HASH, expires_at=NOW, now=NOW).token_issued
    assert login is not None
    assert login.email == "ada@example.com"
    with pytest.raises(DomainError) as refused:
        customer(email_verified=True).email_verification_issued(token_hash=HASH, expires_at=NOW, now=NOW)
    assert refused.value.code is ErrorCode.NOTHING_TO_VERIFY


def test_a_reset_token_is_stored_for_an_active_customer_only() -> None:
    change = customer().password_reset_requested(token_hash=HASH, expires_at=NOW, now=NOW)
    assert change is not None
    assert change.token_issued is not None
    assert change.token_issued.purpose is TokenPurpose.PASSWORD_RESET
    assert change.events == ()
    for status in (Status.INACTIVE, Status.SUSPENDED):
        assert customer(status=status).password_reset_requested(token_hash=HASH, expires_at=NOW, now=NOW) is None


def test_a_reset_sets_the_password_ends_sessions_and_announces_no_secret() -> None:
    redemption = TokenRedemption(TokenPurpose.PASSWORD_RESET, HASH, NOW)
    change = customer().password_reset(redemption=redemption, password_hash="new-hash")
    assert (change.password_hash, change.revokes_sessions, change.token_redeemed) == ("new-hash", True, redemption)
    assert [e.data() for e in change.events] == [{"customerId": change.customer_id,
                                                  "resetAt": "2024-10-30T10:00:00Z"}]


def test_a_password_change_voids_a_reset_token() -> None:
    assert customer().password_changed(password_hash="x", now=NOW).tokens_revoked == (TokenPurpose.PASSWORD_RESET,)


def test_tokens_are_long_random_and_kept_as_their_hash_only() -> None:
    token = new_token(TokenPurpose.PASSWORD_RESET)
    assert token.startswith(PREFIXES[TokenPurpose.PASSWORD_RESET])
    assert len(token) - len(PREFIXES[TokenPurpose.PASSWORD_RESET]) == 43  # 256 bits, base64url
    assert token != new_token(TokenPurpose.PASSWORD_RESET)
    assert len(token_hash(token)) == 32
    assert token.encode() not in token_hash(token)


def test_an_unknown_account_costs_a_password_check_and_never_matches() -> None:
    assert passwords.verify_password(None, "anything") is False
    assert passwords.verify_password(passwords.hash_password("Right-0ne"), "Right-0ne") is True


# -- the turn: Idempotency-Key fingerprints --------------------------------------------------------------
async def test_a_key_reused_with_another_request_is_refused_from_memory_and_from_the_record() -> None:
    world = World()
    customer_id = new_customer_id()
    await world.actor(customer_id).create(create_request())
    address = {"type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"}
    add = {"address": address, "origin": ORIGIN, "request_id": "idem_1", "fingerprint": "a"}
    actor = world.actor(customer_id)
    first = await actor.add_address(add)
    assert first["ok"] is True, first
    assert await actor.add_address(add) == first
    other = {**add, "address": {**address, "street": "2 Main St"}, "fingerprint": "b"}
    for attempt in (actor, world.actor(customer_id)):  # this activation's memory, then a new one's record
        refused = await attempt.add_address(other)
        assert refused["error"]["code"] == "IDEMPOTENCY_KEY_REUSED", refused
    assert len(world.records.customers[customer_id].addresses.to_list()) == 1


async def test_a_keyed_retry_after_a_change_that_would_decide_it_otherwise_gets_its_first_answer() -> None:
    """A keyed erasure retried on a new activation is answered from the record before anything is decided:
    decided again, the erased customer would answer changed=false."""
    world = World()
    customer_id = new_customer_id()
    await world.actor(customer_id).create(create_request())
    erase = {"origin": ORIGIN, "request_id": f"idem_{uuid.uuid4().hex}", "fingerprint": "f"}
    first = await world.actor(customer_id).erase(erase)
    assert first == {"ok": True, "value": {"changed": True}}
    assert await world.actor(customer_id).erase(erase) == first
    assert (await world.actor(customer_id).erase({**erase, "request_id": "another"}))["value"] == {"changed": False}
