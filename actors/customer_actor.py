"""CustomerActor: one per customer, the single, turn-based writer of that customer's state.

Every change follows one path: validate with the domain rules; write PostgreSQL in one transaction
(the change, an activity row, outbox rows for its events); only then update the actor's Dapr state
and the view cache. If PostgreSQL fails, the actor's state is untouched and the caller gets
SERVICE_UNAVAILABLE. PostgreSQL is the durable record; Dapr state is the actor's working copy and is
rebuilt from PostgreSQL whenever it is missing or older (see `_ensure_loaded`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, cast

from dapr.actor import Actor, ActorId, Remindable
from dapr.actor.runtime.context import ActorRuntimeContext

from actors.interface import SEGMENT_REVIEW_REMINDER, CustomerActorInterface, Result
from domain import passwords
from domain.addresses import AddressBook
from domain.clock import Clock, iso, parse_iso
from domain.customer import Customer, Status
from domain.errors import DomainError, ErrorCode, not_found
from domain.events import (
    CustomerCreated,
    CustomerDeactivated,
    CustomerErased,
    CustomerProfileUpdated,
    CustomerSegmentChanged,
    Event,
)
from domain.ids import new_address_id
from domain.segmentation import Override, Segment, SegmentState, Tier, next_boundary
from domain.validation import check_password
from persistence.cache import ViewCache
from persistence.store import Activity, Store, StoreUnavailable, Tx

log = logging.getLogger(__name__)

CUSTOMER_STATE = "customer"
SEGMENT_STATE = "segment"
ADDRESSES_STATE = "addresses"
REVIEW_AT_STATE = "reviewAt"
RECENT_REQUESTS_STATE = "recentRequests"
# Daprd retries an actor call whose response it lost (a placement change cancels in-flight calls),
# so each mutating call carries a request id and the actor answers a repeat from this memory.
RECENT_REQUESTS_KEPT = 20


@dataclass(frozen=True)
class ActorDependencies:
    store: Store
    cache: ViewCache
    clock: Clock
    password_min_length: int
    default_tier: Tier


P = ParamSpec("P")
Method = Callable[Concatenate["CustomerActor", P], Coroutine[Any, Any, Result]]


def typed_result(method: Method[P]) -> Method[P]:
    """Turns expected rejections and an unavailable store into typed results instead of exceptions."""

    @functools.wraps(method)
    async def wrapper(self: CustomerActor, *args: P.args, **kwargs: P.kwargs) -> Result:
        request_id = args[0].get("requestId") if args and isinstance(args[0], dict) else None
        try:
            await self._ensure_loaded()
            if request_id is not None and request_id in self._recent:
                return self._recent[request_id]  # a retried call: answer as the first attempt did
            result = await method(self, *args, **kwargs)
            if request_id is not None:
                await self._remember(request_id, result)
            await self._flush_state()
            return result
        except DomainError as exc:
            return {"ok": False, "error": exc.to_dict()}
        except StoreUnavailable as exc:
            log.warning("customer store unavailable in %s(%s): %s", method.__name__, self.id.id, exc)
            # A connection lost at COMMIT leaves it unknown whether the change landed: re-read next time.
            await self._forget()
            return {"ok": False, "error": {"code": ErrorCode.SERVICE_UNAVAILABLE.name,
                                           "message": "the customer store is unavailable; retry shortly"}}
        except Exception:
            log.exception("unexpected failure in %s(%s)", method.__name__, self.id.id)
            await self._forget()
            return {"ok": False, "error": {"code": ErrorCode.INTERNAL_ERROR.name,
                                           "message": "internal error; it has been logged"}}

    return cast(Method[P], wrapper)


def ok(**data: Any) -> Result:
    return {"ok": True, **data}


class CustomerActor(Actor, CustomerActorInterface, Remindable):
    def __init__(self, ctx: ActorRuntimeContext, actor_id: ActorId, deps: ActorDependencies) -> None:
        super().__init__(ctx, actor_id)
        self._deps = deps
        self._loaded = False
        self._customer: Customer | None = None
        self._segment: SegmentState | None = None
        self._addresses = AddressBook()
        self._review_at: datetime | None = None
        self._recent: OrderedDict[str, Result] = OrderedDict()

    # -- loading ----------------------------------------------------------------------------------
    async def _forget(self) -> None:
        """Drops the working copy, staged changes included; the next call rebuilds it."""
        await self._state_manager.clear_cache()
        self._loaded = False

    async def _ensure_loaded(self) -> None:
        """Actor state from Dapr; from PostgreSQL when Dapr's copy is missing or behind the record."""
        if self._loaded:
            return
        has_state, state = await self._state_manager.try_get_state(CUSTOMER_STATE)
        durable_version = await self._deps.store.customer_version(self.id.id)
        if has_state and state is not None and durable_version == state.get("version"):
            self._customer = Customer.from_state(state)
            _, segment = await self._state_manager.try_get_state(SEGMENT_STATE)
            self._segment = SegmentState.from_state(segment) if segment else None
            _, addresses = await self._state_manager.try_get_state(ADDRESSES_STATE)
            self._addresses = AddressBook.from_list(addresses or [])
            _, review_at = await self._state_manager.try_get_state(REVIEW_AT_STATE)
            self._review_at = parse_iso(review_at)
            _, recent = await self._state_manager.try_get_state(RECENT_REQUESTS_STATE)
            self._recent = OrderedDict(recent or [])
        else:
            await self._rehydrate(reason="missing" if not has_state else "stale")
        self._loaded = True

    async def _rehydrate(self, *, reason: str) -> None:
        record = await self._deps.store.load_customer(self.id.id)
        if record is None:
            self._customer, self._segment, self._addresses = None, None, AddressBook()
            return
        self._customer, self._segment, self._addresses = record.customer, record.segment, record.addresses
        log.info("rehydrated %s from PostgreSQL (Dapr state %s)", self.id.id, reason)
        if self._customer.status is not Status.DELETED:
            await self._save_state()
            await self._schedule_review()
            await self._flush_state()

    def _existing(self) -> tuple[Customer, SegmentState]:
        if self._customer is None or self._segment is None or self._customer.status is Status.DELETED:
            raise not_found(self.id.id)
        return self._customer, self._segment

    # -- the write path -----------------------------------------------------------------------------
    async def _commit(self, write: Callable[[Tx], Awaitable[None]], *, customer: Customer,
                      segment: SegmentState, events: Sequence[Event], activity: Activity | None,
                      correlation_id: str, addresses: AddressBook | None = None) -> None:
        async with self._deps.store.transaction() as tx:
            await write(tx)
            if activity is not None:
                await tx.add_activity(customer_id=self.id.id, activity=activity)
            await tx.enqueue(events=events, at=self._deps.clock.now(), correlation_id=correlation_id)
        # Only what changed is staged for Dapr state and rewritten in the view cache; the customer always
        # changes (its version moves with every commit).
        segment_changed = segment is not self._segment
        self._customer, self._segment = customer, segment
        await self._state_manager.set_state(CUSTOMER_STATE, customer.to_state())
        await self._deps.cache.put_profile(self.id.id, self._view(customer, segment))
        if segment_changed:
            await self._state_manager.set_state(SEGMENT_STATE, segment.to_state())
            await self._deps.cache.put_segment(self.id.id, segment.view(self.id.id, self._deps.clock.now()))
        if addresses is not None:
            self._addresses = addresses
            await self._state_manager.set_state(ADDRESSES_STATE, addresses.to_list())
            await self._deps.cache.put_addresses(self.id.id, addresses.to_list())

    async def _save_state(self) -> None:
        """Stages the whole working copy (after a rebuild); `_flush_state` writes what is staged in one Dapr
        state transaction."""
        assert self._customer is not None
        assert self._segment is not None
        await self._state_manager.set_state(CUSTOMER_STATE, self._customer.to_state())
        await self._state_manager.set_state(SEGMENT_STATE, self._segment.to_state())
        await self._state_manager.set_state(ADDRESSES_STATE, self._addresses.to_list())

    async def _remember(self, request_id: str, result: Result) -> None:
        self._recent[request_id] = result
        while len(self._recent) > RECENT_REQUESTS_KEPT:
            self._recent.popitem(last=False)
        await self._state_manager.set_state(RECENT_REQUESTS_STATE, list(self._recent.items()))

    async def _flush_state(self) -> None:
        try:
            await self._state_manager.save_state()
        except Exception as exc:  # the record is committed; a lost working copy is rebuilt from it
            log.warning("saving Dapr state of %s failed, will rebuild from PostgreSQL: %s", self.id.id, exc)
            await self._forget()

    def _view(self, customer: Customer, segment: SegmentState) -> dict[str, Any]:
        return {"customer": customer.view(segment.summary()), "etag": customer.etag}

    # -- segment review (decay reminders) -------------------------------------------------------------
    async def _schedule_review(self) -> None:
        """Keeps one reminder at the customer's next segment boundary; Dapr's scheduler persists it."""
        if self._segment is None:
            return
        boundary = next_boundary(self._segment.metrics, self._deps.clock.now())
        if boundary == self._review_at:
            return
        if boundary is None:
            await self.unregister_reminder(SEGMENT_REVIEW_REMINDER)
        else:
            # One second past the boundary, so the rules see it crossed whatever the clock's rounding.
            due = self._deps.clock.wall_delay(boundary) + timedelta(seconds=1)
            await self.register_reminder(SEGMENT_REVIEW_REMINDER, b"", due, None)
        self._review_at = boundary
        await self._state_manager.set_state(REVIEW_AT_STATE, iso(boundary))

    async def receive_reminder(self, name: str, state: bytes, due_time: timedelta, period: timedelta,
                               ttl: timedelta | None = None) -> None:
        if name != SEGMENT_REVIEW_REMINDER:
            log.warning("%s ignoring unknown reminder %s", self.id.id, name)
            return
        result = await self.review_segment()
        if not result["ok"] and result["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name:
            raise StoreUnavailable("segment review postponed")  # Dapr retries a failed reminder

    def _segment_events(self, before: SegmentState, after: SegmentState, reason: str) -> list[Event]:
        if (before.effective_tier, before.effective_segment) == (after.effective_tier, after.effective_segment):
            return []
        return [CustomerSegmentChanged(
            self.id.id, old_tier=before.effective_tier.value, new_tier=after.effective_tier.value,
            old_segment=before.effective_segment.value, new_segment=after.effective_segment.value, reason=reason,
        )]

    async def _change_segment(self, after: SegmentState, *, reason: str, activity: Activity | None,
                              correlation_id: str, extra: Callable[[Tx], Awaitable[None]] | None = None) -> None:
        customer, before = self._existing()
        bumped = customer.bumped()

        async def write(tx: Tx) -> None:
            if extra is not None:
                await extra(tx)
            await tx.bump_version(customer_id=self.id.id, expected=customer.version, new=bumped.version)
            await tx.save_segment(customer_id=self.id.id, segment=after)

        await self._commit(write, customer=bumped, segment=after,
                           events=self._segment_events(before, after, reason), activity=activity,
                           correlation_id=correlation_id)
        await self._schedule_review()

    # -- account --------------------------------------------------------------------------------------
    @typed_result
    async def create(self, request: dict[str, Any]) -> Result:
        if self._customer is not None:
            raise DomainError(ErrorCode.EMAIL_ALREADY_EXISTS, "customer already exists")
        now = self._deps.clock.now()
        customer, consents = Customer.register(
            customer_id=self.id.id, email=request["email"], profile=request.get("profile") or {},
            preferences=request.get("preferences") or {}, now=now,
        )
        segment = SegmentState.initial(now, self._deps.default_tier)
        event = CustomerCreated(
            self.id.id, email=customer.email, first_name=customer.profile.get("firstName"),
            last_name=customer.profile.get("lastName"), tier=segment.effective_tier.value,
            segment=segment.effective_segment.value, registration_date=now,
        )

        async def write(tx: Tx) -> None:
            await tx.insert_customer(customer=customer, password_hash=request["passwordHash"], segment=segment)
            await tx.add_consents(customer_id=self.id.id, consents=consents)

        await self._commit(write, customer=customer, segment=segment, events=[event],
                           activity=Activity("registration", {"email": customer.email}, now,
                                             **request.get("context", {})),
                           correlation_id=request["correlationId"])
        await self._schedule_review()
        return ok(**self._view(customer, segment))

    @typed_result
    async def get(self) -> Result:
        customer, segment = self._existing()
        view = self._view(customer, segment)
        await self._deps.cache.put_profile(self.id.id, view)
        return ok(**view)

    @typed_result
    async def update(self, request: dict[str, Any]) -> Result:
        customer, segment = self._existing()
        if (if_match := request.get("ifMatch")) is not None and if_match not in (customer.etag, "*"):
            raise DomainError(ErrorCode.PRECONDITION_FAILED,
                              f"If-Match {if_match} does not match the current ETag {customer.etag}")
        now = self._deps.clock.now()
        updated, consents, changed = customer.update(
            profile=request.get("profile") or {}, preferences=request.get("preferences") or {}, now=now,
            source=request.get("source", "api"),
        )
        if not changed:
            return ok(**self._view(customer, segment))

        async def write(tx: Tx) -> None:
            await tx.update_customer(customer=updated, expected_version=customer.version)
            await tx.add_consents(customer_id=self.id.id, consents=consents)

        await self._commit(
            write, customer=updated, segment=segment,
            events=[CustomerProfileUpdated(self.id.id, changed_fields=tuple(changed), version=updated.version)],
            activity=Activity("profile_updated", {"changedFields": changed}, now, **request.get("context", {})),
            correlation_id=request["correlationId"],
        )
        return ok(**self._view(updated, segment))

    @typed_result
    async def deactivate(self, request: dict[str, Any]) -> Result:
        customer, segment = self._existing()
        now = self._deps.clock.now()
        deactivated = customer.deactivate(now)
        if deactivated is None:
            return ok(**self._view(customer, segment), changed=False)

        async def write(tx: Tx) -> None:
            await tx.update_customer(customer=deactivated, expected_version=customer.version)

        await self._commit(write, customer=deactivated, segment=segment,
                           events=[CustomerDeactivated(self.id.id, deactivated_at=now)],
                           activity=Activity("deactivated", {}, now, **request.get("context", {})),
                           correlation_id=request["correlationId"])
        return ok(**self._view(deactivated, segment), changed=True)

    @typed_result
    async def erase(self, request: dict[str, Any]) -> Result:
        """GDPR erasure: anonymise the record, purge actor state, cache and reminder, announce it."""
        if self._customer is None:
            raise not_found(self.id.id)
        if self._customer.status is Status.DELETED:
            return ok(erased=True, changed=False)
        now = self._deps.clock.now()
        async with self._deps.store.transaction() as tx:
            await tx.anonymise(customer_id=self.id.id, at=now)
            await tx.add_activity(customer_id=self.id.id, activity=Activity("erased", {}, now))
            await tx.enqueue(events=[CustomerErased(self.id.id, erased_at=now)], at=now,
                             correlation_id=request["correlationId"])
        self._customer = replace(self._customer, status=Status.DELETED)
        self._addresses = AddressBook()
        for name in (CUSTOMER_STATE, SEGMENT_STATE, ADDRESSES_STATE, REVIEW_AT_STATE, RECENT_REQUESTS_STATE):
            await self._state_manager.try_remove_state(name)
        self._recent.clear()
        await self.unregister_reminder(SEGMENT_REVIEW_REMINDER)
        self._review_at = None
        await self._deps.cache.purge(self.id.id)
        return ok(erased=True, changed=True)

    @typed_result
    async def export(self) -> Result:
        self._existing()
        return ok(export=await self._deps.store.export(self.id.id))

    # -- credentials ------------------------------------------------------------------------------------
    @typed_result
    async def authenticate(self, request: dict[str, Any]) -> Result:
        customer, segment = self._existing()
        password_hash = await self._deps.store.password_hash(self.id.id)
        password = request["password"]
        if password_hash is None or not await asyncio.to_thread(passwords.verify_password, password_hash, password):
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "email or password is wrong")
        customer.require_active()
        now = self._deps.clock.now()
        logged_in = customer.logged_in(now)
        rehash = await asyncio.to_thread(passwords.hash_password, password) \
            if passwords.needs_rehash(password_hash) else None

        async def write(tx: Tx) -> None:
            await tx.update_customer(customer=logged_in, expected_version=customer.version)
            if rehash is not None:
                await tx.set_password_hash(customer_id=self.id.id, password_hash=rehash)

        await self._commit(write, customer=logged_in, segment=segment, events=[],
                           activity=Activity("login", {"rehashed": rehash is not None}, now,
                                             **request.get("context", {})),
                           correlation_id=request["correlationId"])
        return ok(customerId=self.id.id, lastLoginAt=iso(now))

    @typed_result
    async def change_password(self, request: dict[str, Any]) -> Result:
        customer, _ = self._existing()
        customer.require_active()
        current_hash = await self._deps.store.password_hash(self.id.id)
        if current_hash is None or not await asyncio.to_thread(
            passwords.verify_password, current_hash, request["currentPassword"]
        ):
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "the current password is wrong")
        check_password(request["newPassword"], min_length=self._deps.password_min_length,
                       email=customer.email, field_name="newPassword")
        new_hash = await asyncio.to_thread(passwords.hash_password, request["newPassword"])
        now = self._deps.clock.now()
        async with self._deps.store.transaction() as tx:
            await tx.set_password_hash(customer_id=self.id.id, password_hash=new_hash)
            await tx.add_activity(customer_id=self.id.id,
                                  activity=Activity("password_changed", {}, now, **request.get("context", {})))
        return ok(changed=True)

    # -- segmentation and inbound events ---------------------------------------------------------------
    @typed_result
    async def get_segment(self) -> Result:
        _, segment = self._existing()
        view = segment.view(self.id.id, self._deps.clock.now())
        await self._deps.cache.put_segment(self.id.id, view)
        return ok(segment=view)

    @typed_result
    async def apply_order(self, request: dict[str, Any]) -> Result:
        """An order counted exactly once in effect: the ledger row and the metrics commit together."""
        _, segment = self._existing()
        now = self._deps.clock.now()
        completed_at = parse_iso(request["completedAt"])
        assert completed_at is not None
        amount = Decimal(request["amount"])
        after = segment.recomputed(segment.metrics.with_order(amount, completed_at, now), now)
        counted = False

        async def record(tx: Tx) -> None:
            nonlocal counted
            counted = await tx.record_order(customer_id=self.id.id, order_id=request["orderId"], amount=amount,
                                            currency=request["currency"], completed_at=completed_at,
                                            event_id=request["eventId"])
            if not counted:
                raise _Duplicate

        try:
            await self._change_segment(
                after, reason="order_completed", correlation_id=request["correlationId"], extra=record,
                activity=Activity("order_completed", {"orderId": request["orderId"], "amount": str(amount),
                                                      "currency": request["currency"],
                                                      "completedAt": request["completedAt"]}, now),
            )
        except _Duplicate:
            return ok(duplicate=True)
        return ok(duplicate=False, segment=after.summary())

    @typed_result
    async def apply_points(self, request: dict[str, Any]) -> Result:
        _, segment = self._existing()
        now = self._deps.clock.now()
        points = int(request["points"])
        after = segment.recomputed(segment.metrics.with_points(points), now)

        async def record(tx: Tx) -> None:
            if not await tx.mark_event_processed(event_id=request["eventId"], topic=request["topic"],
                                                 customer_id=self.id.id):
                raise _Duplicate

        try:
            await self._change_segment(
                after, reason="loyalty_points", correlation_id=request["correlationId"], extra=record,
                activity=Activity("points_earned", {"points": points, "reason": request.get("reason")}, now),
            )
        except _Duplicate:
            return ok(duplicate=True)
        return ok(duplicate=False, segment=after.summary())

    @typed_result
    async def review_segment(self) -> Result:
        """Recomputes the segment at today's date (decay), publishing a change only if there is one."""
        _, segment = self._existing()
        now = self._deps.clock.now()
        after = segment.recomputed(segment.metrics, now)
        changed = (after.tier, after.segment) != (segment.tier, segment.segment)
        if changed:
            await self._change_segment(after, reason="segment_review", activity=None,
                                       correlation_id=f"review_{self.id.id}")
        else:
            await self._schedule_review()
        return ok(changed=changed, segment=(after if changed else segment).summary())


    # -- address book -----------------------------------------------------------------------------------
    @typed_result
    async def list_addresses(self) -> Result:
        self._existing()
        addresses = self._addresses.to_list()
        await self._deps.cache.put_addresses(self.id.id, addresses)
        return ok(addresses=addresses)

    async def _change_addresses(self, book: AddressBook, *, activity: str, address_id: str,
                                request: dict[str, Any]) -> None:
        customer, segment = self._existing()
        customer.require_active()
        bumped = customer.bumped()
        now = self._deps.clock.now()

        async def write(tx: Tx) -> None:
            await tx.bump_version(customer_id=self.id.id, expected=customer.version, new=bumped.version)
            await tx.save_address_book(customer_id=self.id.id, book=book)

        await self._commit(write, customer=bumped, segment=segment, addresses=book, events=[],
                           activity=Activity(activity, {"addressId": address_id}, now, **request.get("context", {})),
                           correlation_id=request["correlationId"])

    @typed_result
    async def add_address(self, request: dict[str, Any]) -> Result:
        self._existing()
        book, address = self._addresses.add(address_id=new_address_id(), request=request["address"],
                                            now=self._deps.clock.now())
        await self._change_addresses(book, activity="address_added", address_id=address.id, request=request)
        return ok(address=address.to_dict(), addresses=book.to_list())

    @typed_result
    async def update_address(self, request: dict[str, Any]) -> Result:
        self._existing()
        book, address = self._addresses.update(address_id=request["addressId"], changes=request["changes"],
                                               now=self._deps.clock.now())
        await self._change_addresses(book, activity="address_updated", address_id=address.id, request=request)
        return ok(address=address.to_dict(), addresses=book.to_list())

    @typed_result
    async def remove_address(self, request: dict[str, Any]) -> Result:
        self._existing()
        book = self._addresses.remove(address_id=request["addressId"], now=self._deps.clock.now())
        await self._change_addresses(book, activity="address_removed", address_id=request["addressId"],
                                     request=request)
        return ok(addresses=book.to_list())

    # -- admin override and analytics -------------------------------------------------------------------
    @typed_result
    async def override_segment(self, request: dict[str, Any]) -> Result:
        _, segment = self._existing()
        now = self._deps.clock.now()
        override = Override(Tier(request["tier"]) if request.get("tier") else None,
                            Segment(request["segment"]) if request.get("segment") else None,
                            request["reason"], request["setBy"], now)
        after = segment.with_override(override, now)
        await self._change_segment(after, reason="manual_override", correlation_id=request["correlationId"],
                                   activity=Activity("segment_overridden", override.to_dict(), now))
        return ok(segment=after.view(self.id.id, now))

    @typed_result
    async def clear_override(self, request: dict[str, Any]) -> Result:
        _, segment = self._existing()
        now = self._deps.clock.now()
        if segment.override is None:
            return ok(segment=segment.view(self.id.id, now))
        after = segment.with_override(None, now)
        await self._change_segment(after, reason="override_cleared", correlation_id=request["correlationId"],
                                   activity=Activity("segment_override_cleared", {"setBy": request["setBy"]}, now))
        return ok(segment=after.view(self.id.id, now))

    @typed_result
    async def analytics(self) -> Result:
        self._existing()
        return ok(analytics=await self._deps.store.analytics(self.id.id, self._deps.clock.now()))


class _Duplicate(Exception):
    """Raised inside a transaction to roll it back when an inbound event was already applied."""


def actor_factory(deps: ActorDependencies) -> Callable[[ActorRuntimeContext, ActorId], CustomerActor]:
    def create(ctx: ActorRuntimeContext, actor_id: ActorId) -> CustomerActor:
        return CustomerActor(ctx, actor_id, deps)

    return create
