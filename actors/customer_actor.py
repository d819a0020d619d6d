"""CustomerActor: one per customer, the single, turn-based writer of that customer's state.

Each method is a use case: decide with the domain (`domain.aggregate`), then apply the change
(`actors.turn`), which commits PostgreSQL before moving its working copy, the cache or the reminder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from dapr.actor import Actor, ActorId, Remindable
from dapr.actor.runtime.context import ActorRuntimeContext

from actors import interface as methods
from actors import messages as m
from actors.hashing import PasswordHashing
from actors.interface import SEGMENT_REVIEW_REMINDER, CustomerActorInterface
from actors.turn import Turn, TurnDependencies, use_case
from domain import passwords
from domain.aggregate import Change, CustomerAggregate
from domain.clock import iso
from domain.customer import Status
from domain.errors import DomainError, ErrorCode, invalid, not_found
from domain.ids import new_address_id
from domain.notes import Note
from domain.orders import CompletedOrder, ExchangeRate
from domain.segmentation import Override, Tier
from domain.tokens import TokenPurpose, TokenRedemption
from domain.validation import check_password
from persistence.read_models import ReadModels
from persistence.store import StoreUnavailable

log = logging.getLogger(__name__)

R = TypeVar("R", bound=m.Message)


class ExchangeRateSource(Protocol):
    """The admin-set exchange rates (persistence.exchange_rates.ExchangeRates)."""

    async def current(self, *, max_age_seconds: float = ...) -> dict[str, ExchangeRate]: ...


@dataclass(frozen=True)
class ActorDependencies:
    turn: TurnDependencies
    read_models: ReadModels
    hashing: PasswordHashing
    exchange_rates: ExchangeRateSource
    password_min_length: int
    default_tier: Tier


class CustomerActor(Actor, CustomerActorInterface, Remindable):
    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, deps: ActorDependencies) -> None:
        super().__init__(ctx, actor_id)
        self._deps = deps
        self._turn = Turn(actor_id.id, deps.turn, self._set_review_reminder)

    @property
    def turn(self) -> Turn:
        return self._turn

    async def _set_review_reminder(self, due: timedelta | None) -> None:
        if due is None:
            await self.unregister_reminder(SEGMENT_REVIEW_REMINDER)
        else:
            await self.register_reminder(SEGMENT_REVIEW_REMINDER, b"", due, None)

    async def receive_reminder(self, name: str, state: bytes, due_time: timedelta, period: timedelta,
                               ttl: timedelta | None = None) -> None:
        if name != SEGMENT_REVIEW_REMINDER:
            log.warning("%s ignoring unknown reminder %s", self.id.id, name)
            return
        self._turn.reminder_fired()
        outcome = await self.review_segment({})
        if not outcome["ok"] and outcome["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name:
            raise StoreUnavailable("segment review postponed")  # Dapr retries a failed reminder

    # -- account --------------------------------------------------------------------------------------
    @use_case(methods.CREATE)
    async def create(self, request: m.CreateCustomer) -> m.CustomerView:
        if self._turn.aggregate is not None:
            raise DomainError(ErrorCode.EMAIL_ALREADY_EXISTS, "customer already exists")
        change = CustomerAggregate.register(
            customer_id=self.id.id, email=request.email, password_hash=request.password_hash,
            profile=request.profile, preferences=request.preferences, consent_source=request.consent_source,
            default_tier=self._deps.default_tier, now=self._turn.now(), external_id=request.external_id)
        return await self._applied(change, request, m.CustomerView.of(change.after))

    @use_case(methods.GET)
    async def get(self, request: m.Query) -> m.CustomerView:
        current = self._turn.existing()
        await self._deps.turn.views.put_profile(self.id.id, current.view())
        return m.CustomerView.of(current)

    @use_case(methods.UPDATE)
    async def update(self, request: m.UpdateCustomer) -> m.CustomerView:
        current = self._turn.existing()
        change = current.update_profile(profile=request.profile, preferences=request.preferences,
                                        source=request.source, if_match=request.if_match, now=self._turn.now(),
                                        email=request.email, email_change_reason=request.email_change_reason)
        if change is None:
            return m.CustomerView.of(current)
        if change.asks_for_a_new_email:
            await self._guard_email_change(request)
        return await self._applied(change, request, m.CustomerView.of(change.after))

    @use_case(methods.DEACTIVATE)
    async def deactivate(self, request: m.Deactivate) -> m.Deactivated:
        current = self._turn.existing()
        change = current.deactivate(self._turn.now())
        after = current if change is None else change.after
        reply = m.Deactivated(**m.CustomerView.of(after).model_dump(), changed=change is not None)
        if change is not None:
            await self._applied(change, request, reply)
        return reply

    async def _applied(self, change: Change, request: m.Command, reply: R) -> R:
        """Commits the change with the command's answer (kept for a retry) and gives the answer back."""
        await self._turn.apply(change, request.origin.domain(), command=request, reply=reply)
        return reply

    async def _applied_view(self, change: Change | None, request: m.Command) -> m.CustomerView:
        if change is None:
            return m.CustomerView.of(self._turn.existing())
        return await self._applied(change, request, m.CustomerView.of(change.after))

    @use_case(methods.REACTIVATE)
    async def reactivate(self, request: m.Reactivate) -> m.CustomerView:
        """By the owner, who proves the password again, or by an admin (no password)."""
        current = self._turn.existing()
        change = current.reactivate(self._turn.now())  # refused early for a customer not inactive
        if request.password is not None:
            matches = await self._password_matches(request.password)
            if not matches:
                raise DomainError(ErrorCode.INVALID_CREDENTIALS, "the password is wrong")
        return await self._applied_view(change, request)

    @use_case(methods.SUSPEND)
    async def suspend(self, request: m.Suspend) -> m.CustomerView:
        change = self._turn.existing().suspend(reason=request.reason, by=request.set_by, now=self._turn.now())
        return await self._applied_view(change, request)

    @use_case(methods.LIFT_SUSPENSION)
    async def lift_suspension(self, request: m.LiftSuspension) -> m.CustomerView:
        change = self._turn.existing().lift_suspension(reason=request.reason, by=request.set_by,
                                                       now=self._turn.now())
        return await self._applied_view(change, request)

    @use_case(methods.VERIFY)
    async def verify(self, request: m.Verify) -> m.CustomerView:
        return await self._applied_view(self._turn.existing().verify(channel=request.channel, now=self._turn.now()),
                                        request)

    @use_case(methods.ERASE)
    async def erase(self, request: m.Erase) -> m.Erased:
        """GDPR erasure: anonymise the record, purge actor state, cache and reminder, announce it."""
        current = self._turn.aggregate
        if current is None:
            raise not_found(self.id.id)
        if current.customer.status is Status.DELETED:
            await self._turn.purge()  # whatever an earlier attempt left behind
            return m.Erased(changed=False)
        return await self._applied(current.erase(self._turn.now()), request, m.Erased(changed=True))

    @use_case(methods.EXPORT)
    async def export(self, request: m.Query) -> m.Exported:
        self._turn.existing()
        return m.Exported(export=await self._deps.read_models.export(self.id.id))

    async def _guard_email_change(self, request: m.UpdateCustomer) -> None:
        """The login moves only for its owner's password or a privileged caller's reason (api/customers.py
        decides which the caller must give): a stolen session alone cannot take the account."""
        if request.current_password is not None:
            matches = await self._password_matches(request.current_password)
            if not matches:
                raise DomainError(ErrorCode.INVALID_CREDENTIALS, "the current password is wrong")
        elif request.email_change_reason is None:
            raise invalid("currentPassword", "changing the email address needs the current password")

    # -- credentials ------------------------------------------------------------------------------------
    async def _password_matches(self, password: str) -> bool:
        return await self._deps.hashing.verify(await self._deps.turn.records.password_hash(self.id.id), password)

    @use_case(methods.AUTHENTICATE)
    async def authenticate(self, request: m.Authenticate) -> m.LoggedIn:
        current = self._turn.existing()
        password_hash = await self._deps.turn.records.password_hash(self.id.id)
        if password_hash is None or password_hash != request.verified_hash:
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "email or password is wrong")
        rehashed = await self._deps.hashing.hash(request.password) if passwords.needs_rehash(password_hash) else None
        now = self._turn.now()
        return await self._applied(current.logged_in(rehashed_password=rehashed, now=now), request,
                                   m.LoggedIn(customer_id=self.id.id, last_login_at=iso(now) or ""))

    @use_case(methods.CHANGE_PASSWORD)
    async def change_password(self, request: m.ChangePassword) -> m.Done:
        current = self._turn.existing()
        current.customer.require_active()
        matches = await self._password_matches(request.current_password)
        if not matches:
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "the current password is wrong")
        check_password(request.new_password, min_length=self._deps.password_min_length,
                       email=current.customer.email, field_name="newPassword")
        new_hash = await self._deps.hashing.hash(request.new_password)
        return await self._applied(current.password_changed(password_hash=new_hash, now=self._turn.now()), request,
                                   m.Done())

    @use_case(methods.REQUEST_PASSWORD_RESET)
    async def request_password_reset(self, request: m.RequestPasswordReset) -> m.Done:
        change = self._turn.existing().password_reset_requested(
            token_hash=bytes.fromhex(request.token_hash), expires_at=request.expires_at, now=self._turn.now())
        return m.Done() if change is None else await self._applied(change, request, m.Done())

    @use_case(methods.RESET_PASSWORD)
    async def reset_password(self, request: m.ResetPassword) -> m.Done:
        current = self._turn.existing()
        check_password(request.new_password, min_length=self._deps.password_min_length,
                       email=current.customer.email, field_name="newPassword")
        new_hash = await self._deps.hashing.hash(request.new_password)
        redemption = TokenRedemption(TokenPurpose.PASSWORD_RESET, bytes.fromhex(request.token_hash), self._turn.now())
        return await self._applied(current.password_reset(redemption=redemption, password_hash=new_hash), request,
                                   m.Done())

    @use_case(methods.ISSUE_EMAIL_VERIFICATION)
    async def issue_email_verification(self, request: m.IssueEmailVerification) -> m.VerificationIssued:
        change = self._turn.existing().email_verification_issued(
            token_hash=bytes.fromhex(request.token_hash), expires_at=request.expires_at, now=self._turn.now())
        issued = change.token_issued
        assert issued is not None
        assert issued.email is not None
        return await self._applied(change, request, m.VerificationIssued(email=issued.email))

    @use_case(methods.CONFIRM_EMAIL)
    async def confirm_email(self, request: m.ConfirmEmail) -> m.CustomerView:
        redemption = TokenRedemption(TokenPurpose.EMAIL_VERIFICATION, bytes.fromhex(request.token_hash),
                                     self._turn.now(), email=request.email)
        change = self._turn.existing().confirm_email(redemption)
        return await self._applied(change, request, m.CustomerView.of(change.after))

    # -- segmentation and inbound events ---------------------------------------------------------------
    @use_case(methods.GET_SEGMENT)
    async def get_segment(self, request: m.Query) -> m.SegmentView:
        view = self._turn.existing().segment.view(self.id.id, self._turn.now())
        await self._deps.turn.views.put_segment(self.id.id, view)
        return m.SegmentView(segment=view)

    @use_case(methods.APPLY_ORDER)
    async def apply_order(self, request: m.ApplyOrder) -> m.EventApplied:
        """An order counted exactly once in effect: its receipt and the metrics commit together."""
        order = CompletedOrder(request.order_id, request.amount, request.currency, request.completed_at)
        if not order.counts_in_usd:  # USD orders, nearly all of them, never read the rates
            order = order.counted_at(await self._deps.exchange_rates.current())
        change = self._turn.existing().order_completed(event_id=request.event_id, order=order,
                                                       now=self._turn.now(), tier_floor=self._deps.default_tier)
        return await self._applied_event(change, request)

    @use_case(methods.SET_TAGS)
    async def set_tags(self, request: m.SetTags) -> m.CustomerView:
        return await self._applied_view(self._turn.existing().tagged(request.tags, self._turn.now()), request)

    @use_case(methods.ADD_NOTE)
    async def add_note(self, request: m.AddNote) -> m.NoteAdded:
        note = Note.written(author=request.author, text=request.text, now=self._turn.now())
        return await self._applied(self._turn.existing().noted(note), request, m.NoteAdded(note=note.to_dict()))

    @use_case(methods.ADJUST_ORDER)
    async def adjust_order(self, request: m.AdjustOrder) -> m.EventApplied:
        """A refund or cancellation: of an order the record holds, or kept until its completion arrives."""
        ledger = await self._deps.turn.records.order_ledger(self.id.id, request.order_id)
        change = self._turn.existing().order_adjusted(event_id=request.event_id, adjustment=request.adjustment(),
                                                      ledger=ledger, now=self._turn.now(),
                                                      tier_floor=self._deps.default_tier)
        return await self._applied_event(change, request)

    @use_case(methods.APPLY_POINTS)
    async def apply_points(self, request: m.ApplyPoints) -> m.EventApplied:
        change = self._turn.existing().points_moved(event_id=request.event_id, movement=request.movement,
                                                    points=request.points, reason=request.reason,
                                                    now=self._turn.now(), tier_floor=self._deps.default_tier)
        return await self._applied_event(change, request)

    async def _applied_event(self, change: Change, request: m.Command) -> m.EventApplied:
        """Applies an inbound event's change; a duplicate (applied before) changes nothing. Its receipt,
        committed with it, is what makes a retry harmless, so no answer is recorded for the request id
        (one row less per event): a retry after a move is answered as a duplicate, which it is."""
        applied = await self._turn.apply(change, request.origin.domain(), command=None,
                                         reply=m.EventApplied(duplicate=False))
        return m.EventApplied(duplicate=not applied)

    @use_case(methods.COUNT_IN_USD)
    async def count_in_usd(self, request: m.Query) -> m.Reviewed:
        """Counts the orders kept apart in currencies that now have a rate (the maintenance sweep calls it)."""
        rates = await self._deps.exchange_rates.current(max_age_seconds=0)
        change = self._turn.existing().counted_in_usd(rates, self._turn.now(), self._deps.default_tier)
        if change is None:
            return m.Reviewed(changed=False)
        await self._turn.apply(change, m.RequestOrigin(correlation_id=f"rates_{self.id.id}").domain(),
                               command=None, reply=m.Reviewed(changed=True))
        return m.Reviewed(changed=True)

    @use_case(methods.REVIEW_SEGMENT)
    async def review_segment(self, request: m.Query) -> m.Reviewed:
        """Recomputes the segment at today's date (decay), publishing a change only if there is one."""
        change = self._turn.existing().reviewed(self._turn.now(), self._deps.default_tier)
        if change is None:
            await self._turn.schedule_review()
            return m.Reviewed(changed=False)
        await self._turn.apply(change, m.RequestOrigin(correlation_id=f"review_{self.id.id}").domain(),
                               command=None, reply=m.Reviewed(changed=True))
        return m.Reviewed(changed=True)

    @use_case(methods.OVERRIDE_SEGMENT)
    async def override_segment(self, request: m.OverrideSegment) -> m.SegmentView:
        now = self._turn.now()
        change = self._turn.existing().override_segment(
            Override(request.tier, request.segment, request.reason, request.set_by, now), now)
        return await self._applied(change, request, m.SegmentView(segment=change.after.segment.view(self.id.id, now)))

    @use_case(methods.CLEAR_OVERRIDE)
    async def clear_override(self, request: m.ClearOverride) -> m.SegmentView:
        now = self._turn.now()
        current = self._turn.existing()
        change = current.clear_override(set_by=request.set_by, now=now)
        view = m.SegmentView(segment=(current if change is None else change.after).segment.view(self.id.id, now))
        if change is not None:
            await self._applied(change, request, view)
        return view

    # -- address book -----------------------------------------------------------------------------------
    @use_case(methods.LIST_ADDRESSES)
    async def list_addresses(self, request: m.Query) -> m.AddressBookView:
        addresses = self._turn.existing().addresses.to_list()
        await self._deps.turn.views.put_addresses(self.id.id, addresses)
        return m.AddressBookView(addresses=addresses)

    @use_case(methods.ADD_ADDRESS)
    async def add_address(self, request: m.AddAddress) -> m.AddressChanged:
        change, address = self._turn.existing().add_address(address_id=new_address_id(), fields=request.address,
                                                            now=self._turn.now())
        return await self._applied(change, request, m.AddressChanged(address=address.to_dict()))

    @use_case(methods.UPDATE_ADDRESS)
    async def update_address(self, request: m.UpdateAddress) -> m.AddressChanged:
        change, address = self._turn.existing().update_address(address_id=request.address_id,
                                                               changes=request.changes, now=self._turn.now())
        return await self._applied(change, request, m.AddressChanged(address=address.to_dict()))

    @use_case(methods.REMOVE_ADDRESS)
    async def remove_address(self, request: m.RemoveAddress) -> m.AddressBookView:
        change = self._turn.existing().remove_address(address_id=request.address_id, now=self._turn.now())
        return await self._applied(change, request, m.AddressBookView(addresses=change.after.addresses.to_list()))

    # -- analytics --------------------------------------------------------------------------------------
    @use_case(methods.ANALYTICS)
    async def analytics(self, request: m.Query) -> m.Analytics:
        self._turn.existing()
        return m.Analytics(analytics=await self._deps.read_models.analytics(self.id.id, self._turn.now()))


def actor_factory(deps: ActorDependencies) -> Callable[[ActorRuntimeContext, ActorId], CustomerActor]:
    def create(ctx: ActorRuntimeContext, actor_id: ActorId) -> CustomerActor:
        return CustomerActor(ctx, actor_id, deps)

    return create
