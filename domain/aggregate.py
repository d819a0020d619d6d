"""The customer aggregate and the changes it decides.

A customer's profile, segment and address book change together, one turn at a time, and every change
moves the aggregate's version (the API's ETag). Each rule below takes the aggregate as it is and
returns a `Change`: the aggregate after it, the activity to record, the events to announce, and what
else must be written with it (consents, a password hash, an inbound event's receipt). Nothing here
performs I/O; the actor applies a change (PostgreSQL first, then its working copy and the view cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.activity import Activity
from domain.addresses import Address, AddressBook
from domain.customer import ConsentChange, Customer, Status
from domain.errors import DomainError, ErrorCode, invalid
from domain.events import (
    CustomerCreated,
    CustomerDeactivated,
    CustomerEmailChangeRequested,
    CustomerErased,
    CustomerPasswordReset,
    CustomerProfileUpdated,
    CustomerReactivated,
    CustomerSegmentChanged,
    CustomerSuspended,
    CustomerSuspensionLifted,
    CustomerVerified,
    Event,
)
from domain.notes import Note
from domain.orders import (
    MAX_PENDING_ADJUSTMENTS,
    AdjustmentKind,
    CompletedOrder,
    ExchangeRate,
    OrderAdjustment,
    OrderLedger,
)
from domain.segmentation import Override, SegmentState, Tier
from domain.tags import normalised_tags
from domain.tokens import IssuedToken, TokenPurpose, TokenRedemption

ORDER_COMPLETED_TOPIC = "orders.order.completed"
ORDER_ADJUSTMENT_TOPICS = {AdjustmentKind.REFUND: "orders.order.refunded",
                           AdjustmentKind.CANCELLATION: "orders.order.cancelled"}


class PointsMovement(StrEnum):
    """How a loyalty event moves the customer's points: up (earned) or down (redeemed, expired)."""

    EARNED = "points_earned"
    REDEEMED = "points_redeemed"
    EXPIRED = "points_expired"

    @property
    def topic(self) -> str:
        return f"loyalty.{self.value.replace('_', '.')}"

    @property
    def segment_change_reason(self) -> str:
        """customers.segment.changed's reason: loyalty_points for points earned, as it was before points
        could fall (consumers read it)."""
        return "loyalty_points" if self is PointsMovement.EARNED else self.value

    @property
    def sign(self) -> int:
        return 1 if self is PointsMovement.EARNED else -1


# What an inbound event may plausibly say; anything else is refused (and dead-lettered).
MAX_ORDER_AMOUNT = Decimal("1000000.00")
MAX_POINTS_PER_EVENT = 1_000_000
COMPLETION_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Receipt:
    """An inbound event, applied at most once: by its event id, for an order also by its order id, and
    for a refund or cancellation also by its id within the order's."""

    event_id: str
    topic: str
    order: CompletedOrder | None = None
    adjustment: OrderAdjustment | None = None


@dataclass(frozen=True)
class Change:
    before: CustomerAggregate | None  # None: the customer is being registered
    after: CustomerAggregate
    at: datetime
    activity: Activity | None
    events: tuple[Event, ...] = ()
    consents: tuple[ConsentChange, ...] = ()
    password_hash: str | None = None
    receipt: Receipt | None = None
    rates_applied: tuple[ExchangeRate, ...] = ()  # the customer's orders kept apart in these currencies now count
    note: Note | None = None
    erasure: bool = False
    # Every open session of the customer ends with the change (password change, deactivation, erasure).
    revokes_sessions: bool = False
    token_issued: IssuedToken | None = None  # replaces the customer's live token of its purpose
    token_redeemed: TokenRedemption | None = None  # checked and deleted with the change, or nothing is written
    tokens_revoked: tuple[TokenPurpose, ...] = ()

    @property
    def customer_id(self) -> str:
        return self.after.customer.id

    @property
    def customer_changed(self) -> bool:
        return self.before is None or self.before.customer != self.after.customer

    @property
    def segment_changed(self) -> bool:
        return self.before is None or self.before.segment != self.after.segment

    @property
    def asks_for_a_new_email(self) -> bool:
        """The change sets a new pending email address (not a cancellation): what moves the login later."""
        pending = self.after.customer.pending_email
        return pending is not None and (self.before is None or pending != self.before.customer.pending_email)

    @property
    def addresses_changed(self) -> bool:
        return self.before is None or self.before.addresses != self.after.addresses


@dataclass(frozen=True)
class CustomerAggregate:
    customer: Customer
    segment: SegmentState
    addresses: AddressBook = field(default_factory=AddressBook)

    @property
    def id(self) -> str:
        return self.customer.id

    def view(self) -> dict[str, Any]:
        """GET /customers/{id}: the spec's customer object and its ETag."""
        return {"customer": self.customer.view(self.segment.summary()), "etag": self.customer.etag}

    # -- account ------------------------------------------------------------------------------------
    @classmethod
    def register(cls, *, customer_id: str, email: str, password_hash: str, profile: dict[str, Any],
                 preferences: dict[str, Any], consent_source: str, default_tier: Tier, now: datetime,
                 external_id: str | None = None) -> Change:
        customer, consents = Customer.register(customer_id=customer_id, email=email, profile=profile,
                                               preferences=preferences, consent_source=consent_source, now=now,
                                               external_id=external_id)
        segment = SegmentState.initial(now, default_tier)
        created = CustomerCreated(
            customer_id, email=customer.email, first_name=customer.profile.get("firstName"),
            last_name=customer.profile.get("lastName"), tier=segment.effective_tier.value,
            segment=segment.effective_segment.value, registration_date=now,
        )
        return Change(None, cls(customer, segment), now, Activity("registration", {"email": customer.email}, now),
                      events=(created,), consents=tuple(consents), password_hash=password_hash)

    def check_etag(self, if_match: str | None) -> None:
        if if_match is not None and if_match not in (self.customer.etag, "*"):
            raise DomainError(ErrorCode.PRECONDITION_FAILED,
                              f"If-Match {if_match} does not match the current ETag {self.customer.etag}")

    def update_profile(self, *, profile: dict[str, Any], preferences: dict[str, Any], source: str,
                       if_match: str | None, now: datetime, email: str | None = None,
                       email_change_reason: str | None = None) -> Change | None:
        """A partial update; None when it changes nothing. A new email address waits for verification
        (`Customer.update`); its request is announced, so the current address hears of it."""
        updated, consents, changed = self.customer.update(profile=profile, preferences=preferences, now=now,
                                                          source=source, email=email)
        # After the request's own validation: a malformed request is a 400 whatever version it names.
        self.check_etag(if_match)
        if not changed:
            return None
        events: tuple[Event, ...] = (CustomerProfileUpdated(self.id, changed_fields=tuple(changed),
                                                            version=updated.version),)
        revoked: tuple[TokenPurpose, ...] = ()
        activity: dict[str, Any] = {"changedFields": changed}
        if "pendingEmail" in changed:
            revoked = (TokenPurpose.EMAIL_VERIFICATION,)  # a token for the previous address is void
            if email_change_reason is not None:
                activity["emailChangeReason"] = email_change_reason
            if updated.pending_email is not None:
                events += (CustomerEmailChangeRequested(self.id, current_email=self.customer.email,
                                                        new_email=updated.pending_email, requested_at=now),)
        return Change(self, replace(self, customer=updated), now, Activity("profile_updated", activity, now),
                      events=events, consents=tuple(consents), tokens_revoked=revoked)

    def tagged(self, tags: list[str], now: datetime) -> Change | None:
        """The customer's tags replaced (domain/tags.py); None when they are the same."""
        normalised = normalised_tags(tags)
        if normalised == self.customer.tags:
            return None
        updated = replace(self.customer.bumped(now), tags=normalised)
        before, after = set(self.customer.tags), set(normalised)
        return Change(self, replace(self, customer=updated), now, Activity("tags_changed", {
            "added": sorted(after - before), "removed": sorted(before - after)}, now),
            events=(CustomerProfileUpdated(self.id, changed_fields=("tags",), version=updated.version),))

    def noted(self, note: Note) -> Change:
        """A note kept with the customer: no activity row, so no trace of it on the customer's timeline."""
        return Change(self, self, note.created_at, None, note=note)

    def confirm_email(self, redemption: TokenRedemption) -> Change:
        """A verification token redeemed (`Customer.email_confirmed`)."""
        assert redemption.email is not None, "a verification token names its address"
        now = redemption.at
        confirmed = self.customer.email_confirmed(redemption.email, now)
        events: tuple[Event, ...] = (CustomerVerified(self.id, channel="email", verified_at=now),)
        if confirmed.email != self.customer.email:
            events = (CustomerProfileUpdated(self.id, changed_fields=("email", "pendingEmail"),
                                             version=confirmed.version), *events)
        return Change(self, replace(self, customer=confirmed), now,
                      Activity("email_verified", {"changed": confirmed.email != self.customer.email}, now),
                      events=events, token_redeemed=redemption)

    def email_verification_issued(self, *, token_hash: bytes, expires_at: datetime, now: datetime) -> Change:
        """A verification token for the address waiting to be confirmed; it replaces any earlier one."""
        token = IssuedToken(TokenPurpose.EMAIL_VERIFICATION, token_hash, expires_at,
                            email=self.customer.verification_target())
        return Change(self, self, now, Activity("email_verification_requested", {}, now), token_issued=token)

    def password_reset_requested(self, *, token_hash: bytes, expires_at: datetime, now: datetime) -> Change | None:
        """A reset token, for an active customer only (None otherwise: nothing is stored, and the caller's
        answer is the same, so it does not tell an inactive account from a missing one)."""
        if self.customer.status is not Status.ACTIVE:
            return None
        return Change(self, self, now, Activity("password_reset_requested", {}, now),
                      token_issued=IssuedToken(TokenPurpose.PASSWORD_RESET, token_hash, expires_at))

    def password_reset(self, *, redemption: TokenRedemption, password_hash: str) -> Change:
        """A reset token redeemed: the new password, every session ended, the reset announced."""
        self.customer.require_active()
        now = redemption.at
        return Change(self, self, now, Activity("password_reset", {}, now), password_hash=password_hash,
                      events=(CustomerPasswordReset(self.id, reset_at=now),), token_redeemed=redemption,
                      revokes_sessions=True)

    def deactivate(self, now: datetime) -> Change | None:
        """Idempotent: None when the customer is inactive already."""
        deactivated = self.customer.deactivate(now)
        if deactivated is None:
            return None
        return Change(self, replace(self, customer=deactivated), now, Activity("deactivated", {}, now),
                      events=(CustomerDeactivated(self.id, deactivated_at=now),), revokes_sessions=True)

    def reactivate(self, now: datetime) -> Change:
        return Change(self, replace(self, customer=self.customer.reactivate(now)), now,
                      Activity("reactivated", {}, now), events=(CustomerReactivated(self.id, reactivated_at=now),))

    def suspend(self, *, reason: str, by: str, now: datetime) -> Change:
        """A suspended customer cannot log in or change anything; services still read the record."""
        return Change(self, replace(self, customer=self.customer.suspend(now)), now,
                      Activity("suspended", {"reason": reason, "by": by}, now),
                      events=(CustomerSuspended(self.id, reason=reason, suspended_at=now),), revokes_sessions=True)

    def lift_suspension(self, *, reason: str, by: str, now: datetime) -> Change:
        return Change(self, replace(self, customer=self.customer.lift_suspension(now)), now,
                      Activity("suspension_lifted", {"reason": reason, "by": by}, now),
                      events=(CustomerSuspensionLifted(self.id, reason=reason, lifted_at=now),))

    def verify(self, *, channel: str, now: datetime) -> Change | None:
        """None when the email address or phone number was verified already."""
        verified = self.customer.verified(channel, now)
        if verified is None:
            return None
        return Change(self, replace(self, customer=verified), now, Activity(f"{channel}_verified", {}, now),
                      events=(CustomerVerified(self.id, channel=channel, verified_at=now),))

    def erase(self, now: datetime) -> Change:
        """GDPR erasure: the record is anonymised and the customer announced as erased."""
        erased = replace(self.customer, status=Status.DELETED, updated_at=now, version=self.customer.version + 1,
                         external_id=None, tags=())
        return Change(self, CustomerAggregate(erased, self.segment), now, Activity("erased", {}, now),
                      events=(CustomerErased(self.id, erased_at=now),), erasure=True, revokes_sessions=True)

    def logged_in(self, *, rehashed_password: str | None, now: datetime) -> Change:
        """A successful password check; the hash is renewed when the hashing parameters changed."""
        self.customer.require_active()
        return Change(self, replace(self, customer=self.customer.logged_in(now)), now,
                      Activity("login", {"rehashed": rehashed_password is not None}, now),
                      password_hash=rehashed_password)

    def password_changed(self, *, password_hash: str, now: datetime) -> Change:
        """The representation does not show the password, so the version stays."""
        self.customer.require_active()
        return Change(self, self, now, Activity("password_changed", {}, now), password_hash=password_hash,
                      revokes_sessions=True, tokens_revoked=(TokenPurpose.PASSWORD_RESET,))

    # -- segmentation ---------------------------------------------------------------------------------
    def _with_segment(self, segment: SegmentState, *, reason: str, activity: Activity | None, now: datetime,
                      receipt: Receipt | None = None) -> Change:
        before, after = self.segment, segment
        events: tuple[Event, ...] = ()
        if (before.effective_tier, before.effective_segment) != (after.effective_tier, after.effective_segment):
            events = (CustomerSegmentChanged(
                self.id, old_tier=before.effective_tier.value, new_tier=after.effective_tier.value,
                old_segment=before.effective_segment.value, new_segment=after.effective_segment.value,
                reason=reason,
            ),)
        return Change(self, CustomerAggregate(self.customer.bumped(now), segment, self.addresses), now, activity,
                      events=events, receipt=receipt)

    def order_completed(self, *, event_id: str, order: CompletedOrder, now: datetime,
                        tier_floor: Tier = Tier.REGULAR) -> Change:
        """Counted once in effect: the store refuses the change if the event or the order was seen. The
        refunds and cancellation that arrived before it apply with it (domain/orders.py)."""
        if not Decimal(0) <= order.amount <= MAX_ORDER_AMOUNT:
            raise invalid("amount", f"must be between 0 and {MAX_ORDER_AMOUNT}")
        if order.completed_at > now + COMPLETION_CLOCK_SKEW:
            raise invalid("completedAt", "must not be in the future")
        metrics = self.segment.metrics.with_order(order, now).settled(order)
        activity = Activity("order_completed", {
            "orderId": order.order_id, "amount": str(order.amount), "currency": order.currency,
            "completedAt": order.completed_at.isoformat()}, now)
        return self._with_segment(self.segment.recomputed(metrics, now, tier_floor), reason="order_completed",
                                  activity=activity, now=now, receipt=Receipt(event_id, ORDER_COMPLETED_TOPIC, order))

    def order_adjusted(self, *, event_id: str, adjustment: OrderAdjustment, ledger: OrderLedger, now: datetime,
                       tier_floor: Tier = Tier.REGULAR) -> Change:
        """A refund or cancellation, exactly once in effect (by event id, and by refund id or one cancellation
        per order). Tier and segment follow the totals down at once, as they follow them up: the tier rules
        say what a customer's spend earns, and a refunded order earned nothing (DEFAULT_TIER stays the floor,
        an admin's override still wins). Refused: a refund in another currency than its order's, or for more
        than remains of it."""
        metrics = self.segment.metrics
        order = ledger.order
        if order is None:
            if len(metrics.pending_adjustments) >= MAX_PENDING_ADJUSTMENTS:
                raise invalid("orderId", f"more than {MAX_PENDING_ADJUSTMENTS} refunds or cancellations wait "
                                         "for orders that have not completed")
            metrics = metrics.with_pending(adjustment)
        else:
            if adjustment.kind is AdjustmentKind.REFUND and not ledger.cancelled:
                if adjustment.currency != order.currency:
                    raise invalid("currency", f"must be the order's currency ({order.currency})")
                if adjustment.amount > ledger.remaining:
                    raise invalid("amount", f"must not exceed what remains of the order ({ledger.remaining})")
            metrics, _ = metrics.adjusted(ledger, adjustment)
        activity_type = "order_refunded" if adjustment.kind is AdjustmentKind.REFUND else "order_cancelled"
        data: dict[str, Any] = {"orderId": adjustment.order_id, "at": adjustment.at.isoformat()}
        if adjustment.kind is AdjustmentKind.REFUND:
            data |= {"refundId": adjustment.adjustment_id, "amount": str(adjustment.amount),
                     "currency": adjustment.currency}
        return self._with_segment(self.segment.recomputed(metrics, now, tier_floor), reason=activity_type,
                                  activity=Activity(activity_type, data, now), now=now,
                                  receipt=Receipt(event_id, ORDER_ADJUSTMENT_TOPICS[adjustment.kind],
                                                  adjustment=adjustment))

    def points_moved(self, *, event_id: str, movement: PointsMovement, points: int, reason: str | None,
                     now: datetime, tier_floor: Tier = Tier.REGULAR) -> Change:
        """Points earned, redeemed or expired, once each by event id. A fall below what a tier needs
        (VIP's points) takes the tier down at once, like a refund."""
        if not 0 <= points <= MAX_POINTS_PER_EVENT:
            raise invalid("points", f"must be between 0 and {MAX_POINTS_PER_EVENT}")
        metrics = self.segment.metrics.with_points(movement.sign * points)
        return self._with_segment(self.segment.recomputed(metrics, now, tier_floor),
                                  reason=movement.segment_change_reason,
                                  activity=Activity(movement.value, {"points": points, "reason": reason}, now),
                                  now=now, receipt=Receipt(event_id, movement.topic))

    def counted_in_usd(self, rates: dict[str, ExchangeRate], now: datetime,
                       tier_floor: Tier = Tier.REGULAR) -> Change | None:
        """The orders kept apart in currencies that now have a rate, counted in USD; None if there are none."""
        metrics = self.segment.metrics
        applied = tuple(rates[c] for c, _, _ in metrics.other_currencies if c in rates)
        if not applied:
            return None
        kept = {c: (n, t) for c, n, t in metrics.other_currencies}
        for rate in applied:
            metrics = metrics.counted_in_usd(rate)
        activity = Activity("orders_counted_in_usd", {"currencies": [
            {"currency": r.currency, "usdPerUnit": str(r.usd_per_unit), "effectiveDate": r.effective_date.isoformat(),
             "orderCount": kept[r.currency][0], "total": str(kept[r.currency][1])} for r in applied]}, now)
        change = self._with_segment(self.segment.recomputed(metrics, now, tier_floor), reason="exchange_rate",
                                    activity=activity, now=now)
        return replace(change, rates_applied=applied)

    def reviewed(self, now: datetime, tier_floor: Tier = Tier.REGULAR) -> Change | None:
        """The segment at today's date (decay); None when the rules give what the customer has, down to
        each qualification."""
        after = self.segment.recomputed(self.segment.metrics, now, tier_floor)
        # A qualification can lapse while tier and segment stay (frequent buying under a high_value
        # segment): saved all the same, with no event, or the segment view would show it forever.
        if (after.tier, after.segment, after.qualifications) == \
                (self.segment.tier, self.segment.segment, self.segment.qualifications):
            return None
        return self._with_segment(after, reason="segment_review", activity=None, now=now)

    def override_segment(self, override: Override, now: datetime) -> Change:
        return self._with_segment(self.segment.with_override(override, now), reason="manual_override",
                                  activity=Activity("segment_overridden", override.to_dict(), now), now=now)

    def clear_override(self, *, set_by: str, now: datetime) -> Change | None:
        if self.segment.override is None:
            return None
        return self._with_segment(self.segment.with_override(None, now), reason="override_cleared",
                                  activity=Activity("segment_override_cleared", {"setBy": set_by}, now), now=now)

    # -- address book ---------------------------------------------------------------------------------
    def _with_addresses(self, book: AddressBook, *, activity: str, address_id: str, now: datetime) -> Change:
        self.customer.require_active()
        return Change(self, CustomerAggregate(self.customer.bumped(now), self.segment, book), now,
                      Activity(activity, {"addressId": address_id}, now))

    def add_address(self, *, address_id: str, fields: dict[str, Any], now: datetime) -> tuple[Change, Address]:
        book, address = self.addresses.add(address_id=address_id, request=fields, now=now)
        return self._with_addresses(book, activity="address_added", address_id=address.id, now=now), address

    def update_address(self, *, address_id: str, changes: dict[str, Any],
                       now: datetime) -> tuple[Change, Address]:
        book, address = self.addresses.update(address_id=address_id, changes=changes, now=now)
        return self._with_addresses(book, activity="address_updated", address_id=address.id, now=now), address

    def remove_address(self, *, address_id: str, now: datetime) -> Change:
        book = self.addresses.remove(address_id=address_id, now=now)
        return self._with_addresses(book, activity="address_removed", address_id=address_id, now=now)
