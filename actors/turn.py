"""One actor turn: load the customer, answer a repeat, apply a change, keep Dapr state and the cache in step.

A use case decides with the domain (`domain.aggregate`) and hands the resulting `Change` to
`Turn.apply`, which writes PostgreSQL first (the durable record) and only then the actor's Dapr state,
the view cache and the segment-review reminder. If PostgreSQL fails nothing else is touched.

- Loading: the Dapr state is used when its version is PostgreSQL's; when it is missing (Redis lost it)
  or behind (a crash between commit and state save) the customer is rebuilt from PostgreSQL.
- Repeats: daprd retries an actor call whose response it lost (a placement change cancels in-flight
  calls), so each command carries a request id and the turn keeps its last results in Dapr state: the
  ids in one small key, each result in a key of its own, so a turn writes one result, not all of them
  (the whole list was a 24 KB JSON write per change, measured in bench/).
- Errors: a rejection travels as a value; an unavailable store as SERVICE_UNAVAILABLE; anything else
  as INTERNAL_ERROR with the details only in the log. After an ambiguous failure (a connection lost at
  COMMIT, or anything unexpected) the working copy is dropped and rebuilt on the next call; after a
  write that never reached PostgreSQL it is kept, so reads go on answering through an outage.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from actors.interface import ActorMethod, Outcome
from actors.messages import Command
from domain.activity import Origin
from domain.addresses import AddressBook
from domain.aggregate import Change, CustomerAggregate
from domain.clock import Clock, iso, parse_iso
from domain.customer import Customer, Status
from domain.errors import DomainError, ErrorCode, not_found
from domain.segmentation import SegmentState, next_boundary
from persistence.store import AlreadyAnswered, CommitOutcomeUnknown, RecordMoved, StoreUnavailable

log = logging.getLogger(__name__)

CUSTOMER_STATE = "customer"
SEGMENT_STATE = "segment"
ADDRESSES_STATE = "addresses"
REVIEW_AT_STATE = "reviewAt"
RECENT_REQUESTS_STATE = "recentRequests"
ALL_STATE = (CUSTOMER_STATE, SEGMENT_STATE, ADDRESSES_STATE, REVIEW_AT_STATE, RECENT_REQUESTS_STATE)
RECENT_REQUESTS_KEPT = 20


def request_state(request_id: str) -> str:
    """The state key of one recent request's result."""
    return f"request:{request_id}"


class ActorState(Protocol):
    """What a turn needs of Dapr's actor state manager (changes are staged until `save_state`)."""

    async def try_get_state(self, state_name: str) -> tuple[bool, Any]: ...
    async def set_state(self, state_name: str, value: Any) -> None: ...
    async def try_remove_state(self, state_name: str) -> bool: ...
    async def save_state(self) -> None: ...
    async def clear_cache(self) -> None: ...


class CustomerRecords(Protocol):
    """The durable record (persistence.store.Store)."""

    async def customer_version(self, customer_id: str) -> int | None: ...
    async def load_customer(self, customer_id: str) -> CustomerAggregate | None: ...
    async def commit(self, change: Change, origin: Origin, *,
                     reply: tuple[str, dict[str, Any]] | None = None) -> bool: ...
    async def recorded_reply(self, customer_id: str, request_id: str) -> dict[str, Any] | None: ...
    async def password_hash(self, customer_id: str) -> str | None: ...
    async def set_next_review(self, customer_id: str, at: datetime | None) -> None: ...


class CustomerViews(Protocol):
    """The read-side cache (persistence.cache.ViewCache); only the customer's actor writes it."""

    async def put_profile(self, customer_id: str, value: Any) -> None: ...
    async def put_segment(self, customer_id: str, value: Any) -> None: ...
    async def put_addresses(self, customer_id: str, value: Any) -> None: ...
    async def purge(self, customer_id: str) -> None: ...
    async def forget(self, customer_id: str, *, profile: bool, segment: bool, addresses: bool) -> None: ...


class CustomerSessions(Protocol):
    """The customer's open sessions (persistence.sessions.SessionStore)."""

    async def revoke_all(self, customer_id: str) -> int: ...


class EventCopies(Protocol):
    """Copies of the customer's published events in the pub/sub transport
    (persistence.pubsub_streams.PublishedEventCopies)."""

    async def remove(self, customer_id: str) -> int: ...


# Registers the review reminder `due` from now, or removes it (None).
SetReminder = Callable[[timedelta | None], Awaitable[None]]


@dataclass(frozen=True)
class TurnDependencies:
    records: CustomerRecords
    views: CustomerViews
    sessions: CustomerSessions
    event_copies: EventCopies
    clock: Clock


def _success(value: BaseModel) -> Outcome:
    return {"ok": True, "value": value.model_dump(mode="json")}


def _failure(code: ErrorCode, message: str) -> Outcome:
    return {"ok": False, "error": {"code": code.name, "message": message}}


class Turn:
    def __init__(self, customer_id: str, state: ActorState, deps: TurnDependencies,
                 set_reminder: SetReminder) -> None:
        self._id = customer_id
        self._state = state
        self._deps = deps
        self._set_reminder = set_reminder
        self._loaded = False
        # False while the copy comes unchecked from Dapr state (PostgreSQL unreachable): it may be behind
        # the record, so it answers reads but is never written to the view cache.
        self.verified = False
        self.aggregate: CustomerAggregate | None = None
        self._review_at: datetime | None = None
        self._recent: list[str] = []  # request ids, oldest first
        self._request_id: str | None = None  # of the command running

    def now(self) -> datetime:
        return self._deps.clock.now()

    def existing(self) -> CustomerAggregate:
        """The customer, or CUSTOMER_NOT_FOUND for one never created or erased."""
        if self.aggregate is None or self.aggregate.customer.status is Status.DELETED:
            raise not_found(self._id)
        return self.aggregate

    # -- one call -----------------------------------------------------------------------------------------
    async def run(self, request_id: str | None, step: Callable[[], Awaitable[BaseModel]]) -> Outcome:
        self._request_id = request_id
        try:
            await self._load(query=request_id is None)
            if request_id is not None and request_id in self._recent:
                found, first = await self._state.try_get_state(request_state(request_id))
                if found:
                    return dict(first)  # a retried call: answer as the first attempt did
            try:
                result = await step()
            except RecordMoved as exc:
                # Decided on a stale copy: decide once more on PostgreSQL's record.
                log.warning("%s; deciding again on the record", exc)
                await self._forget()
                await self._load(query=False)
                result = await step()
            outcome = _success(result)
            if request_id is not None and self.aggregate is not None \
                    and self.aggregate.customer.status is not Status.DELETED:
                await self._remember(request_id, outcome)
            await self._flush()
            return outcome
        except AlreadyAnswered as exc:
            return exc.reply  # committed before (its Dapr copy lost): answer as the first attempt did
        except DomainError as exc:
            if request_id is not None and (first := await self._recorded_reply(request_id)) is not None:
                return first  # decided again on the changed customer, but committed before: its answer
            return {"ok": False, "error": exc.to_dict()}
        except StoreUnavailable as exc:
            log.warning("customer store unavailable for %s: %s", self._id, exc)
            if isinstance(exc, CommitOutcomeUnknown):
                await self._forget()  # whether the change landed is unknown: re-read next time
            # Otherwise nothing was written and the working copy still matches PostgreSQL: reads go on.
            return _failure(ErrorCode.SERVICE_UNAVAILABLE, "the customer store is unavailable; retry shortly")
        except Exception:
            log.exception("unexpected failure in a turn of %s", self._id)
            await self._forget()
            return _failure(ErrorCode.INTERNAL_ERROR, "internal error; it has been logged")

    async def _recorded_reply(self, request_id: str) -> Outcome | None:
        try:
            return await self._deps.records.recorded_reply(self._id, request_id)
        except StoreUnavailable:
            return None

    async def apply(self, change: Change, origin: Origin, *, reply: BaseModel) -> bool:
        """Commits the change with `reply`, the command's answer (kept with it for a retry), then updates
        Dapr state, cache and reminder; False for a repeated event.

        The cached views the change makes stale are dropped before the commit, so a crash between the
        commit and their refresh leaves no view older than the record: the next read asks the actor,
        which rebuilds from PostgreSQL. Once committed, the change is reported as done: a failure to
        schedule its review reminder is logged and left to the segment sweep."""
        await self._deps.views.forget(self._id, profile=change.customer_changed, segment=change.segment_changed,
                                      addresses=change.addresses_changed)
        answer = None if self._request_id is None else (
            self._request_id, _success(reply))
        if not await self._deps.records.commit(change, origin, reply=answer):
            return False
        after = change.after
        self.aggregate = after
        if change.erasure:
            await self.purge()
            return True
        if change.revokes_sessions:
            await self._revoke_sessions()
        if change.customer_changed:
            await self._state.set_state(CUSTOMER_STATE, after.customer.to_state())
            await self._deps.views.put_profile(self._id, after.view())
        if change.segment_changed:
            await self._state.set_state(SEGMENT_STATE, after.segment.to_state())
            await self._deps.views.put_segment(self._id, after.segment.view(self._id, self.now()))
            try:
                await self.schedule_review()
            except Exception:  # committed all the same; next_review_at in PostgreSQL lets the sweep catch it
                log.exception("review reminder of %s not scheduled; the segment sweep will review it", self._id)
        if change.addresses_changed:
            await self._state.set_state(ADDRESSES_STATE, after.addresses.to_list())
            await self._deps.views.put_addresses(self._id, after.addresses.to_list())
        return True

    async def schedule_review(self, *, record: bool = False) -> None:
        """Keeps one reminder at the customer's next segment boundary (Dapr's scheduler persists it).

        PostgreSQL keeps the boundary too (next_review_at, where the segment sweep looks for reviews a
        reminder missed); a commit that changes the segment writes it. `record` writes it when nothing
        was committed: a review that changed nothing must still move it past today."""
        if self.aggregate is None:
            return
        boundary = next_boundary(self.aggregate.segment.metrics, self.now())
        if boundary == self._review_at:
            return
        if record:
            await self._deps.records.set_next_review(self._id, boundary)
        # One second past the boundary, so the rules see it crossed whatever the clock's rounding.
        await self._set_reminder(None if boundary is None
                                 else self._deps.clock.wall_delay(boundary) + timedelta(seconds=1))
        self._review_at = boundary
        await self._state.set_state(REVIEW_AT_STATE, iso(boundary))

    # -- loading ---------------------------------------------------------------------------------------------
    async def _load(self, *, query: bool) -> None:
        """The working copy, checked against PostgreSQL's version. While PostgreSQL is unreachable a query
        is answered from the Dapr state unchecked (reads keep working in an outage), and the check is
        made again on the next call."""
        if self._loaded:
            return
        has_state, state = await self._state.try_get_state(CUSTOMER_STATE)
        _, segment = await self._state.try_get_state(SEGMENT_STATE)
        try:
            durable_version = await self._deps.records.customer_version(self._id)
        except StoreUnavailable:
            if not (query and has_state and state is not None and segment):
                raise
            await self._from_state(state, segment)
            self.verified = False
            return
        if has_state and state is not None and segment and durable_version == state.get("version"):
            await self._from_state(state, segment)
        else:
            await self._rehydrate(reason="missing" if not has_state else "stale")
        self._loaded = True
        self.verified = True

    async def _from_state(self, state: dict[str, Any], segment: dict[str, Any]) -> None:
        _, addresses = await self._state.try_get_state(ADDRESSES_STATE)
        _, review_at = await self._state.try_get_state(REVIEW_AT_STATE)
        _, recent = await self._state.try_get_state(RECENT_REQUESTS_STATE)
        self.aggregate = CustomerAggregate(Customer.from_state(state), SegmentState.from_state(segment),
                                           AddressBook.from_list(addresses or []))
        self._review_at = parse_iso(review_at)
        self._recent = [str(request_id) for request_id in recent or []]

    async def _rehydrate(self, *, reason: str) -> None:
        self.aggregate = await self._deps.records.load_customer(self._id)
        if self.aggregate is None or self.aggregate.customer.status is Status.DELETED:
            return
        log.info("rehydrated %s from PostgreSQL (Dapr state %s)", self._id, reason)
        await self._state.set_state(CUSTOMER_STATE, self.aggregate.customer.to_state())
        await self._state.set_state(SEGMENT_STATE, self.aggregate.segment.to_state())
        await self._state.set_state(ADDRESSES_STATE, self.aggregate.addresses.to_list())
        await self.schedule_review()
        await self._flush()

    async def _remember(self, request_id: str, outcome: Outcome) -> None:
        self._recent.append(request_id)
        await self._state.set_state(request_state(request_id), outcome)
        while len(self._recent) > RECENT_REQUESTS_KEPT:
            await self._state.try_remove_state(request_state(self._recent.pop(0)))
        await self._state.set_state(RECENT_REQUESTS_STATE, list(self._recent))

    async def _flush(self) -> None:
        try:
            await self._state.save_state()
        except Exception as exc:  # the record is committed; a lost working copy is rebuilt from it
            log.warning("saving Dapr state of %s failed, will rebuild from PostgreSQL: %s", self._id, exc)
            await self._forget()

    async def _forget(self) -> None:
        """Drops the working copy, staged changes included; the next call rebuilds it."""
        await self._state.clear_cache()
        self._loaded = False

    async def _revoke_sessions(self) -> None:
        try:
            revoked = await self._deps.sessions.revoke_all(self._id)
        except Exception:  # the change is committed and stays acknowledged; sessions still expire
            log.exception("sessions of %s not revoked; they end at their timeout", self._id)
            return
        log.info("revoked %d session(s) of %s", revoked, self._id)

    async def purge(self) -> None:
        """After erasure: no copy of the customer in actor state, scheduler, cache, sessions or the pub/sub
        streams. Every step runs even if an earlier one failed; if any failed, the call fails and a
        retried erasure purges again."""
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "actor state": self._remove_state,
            "reminder": lambda: self._set_reminder(None),
            "view cache": lambda: self._deps.views.purge(self._id),
            "sessions": lambda: self._deps.sessions.revoke_all(self._id),
            "pub/sub copies of its events": lambda: self._deps.event_copies.remove(self._id),
        }
        failed = []
        for name, step in steps.items():
            try:
                await step()
            except Exception:
                log.exception("erasure of %s: purging its %s failed", self._id, name)
                failed.append(name)
        self._recent.clear()
        self._review_at = None
        if failed:
            raise StoreUnavailable(f"erasure purge incomplete: {', '.join(failed)}")

    async def _remove_state(self) -> None:
        for name in (*ALL_STATE, *map(request_state, self._recent)):
            await self._state.try_remove_state(name)
        await self._state.save_state()


class HasTurn(Protocol):
    @property
    def turn(self) -> Turn: ...


A = TypeVar("A", bound=HasTurn)
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


def use_case(method: ActorMethod[Req, Res]) -> Callable[
        [Callable[[A, Req], Coroutine[Any, Any, Res]]], Callable[[A, Any], Coroutine[Any, Any, Outcome]]]:
    """Makes a typed use case a Dapr actor method: parse the request, run it as one turn, answer an outcome."""

    def decorate(handler: Callable[[A, Req], Coroutine[Any, Any, Res]]) -> Callable[
            [A, Any], Coroutine[Any, Any, Outcome]]:
        @functools.wraps(handler)
        async def actor_method(self: A, raw: Any = None) -> Outcome:
            try:
                request = method.request.model_validate(raw or {})
            except ValidationError as exc:
                log.warning("malformed %s request: %d error(s)", method.name, exc.error_count())
                return _failure(ErrorCode.MALFORMED_REQUEST, f"malformed {method.name} request")
            request_id = request.request_id if isinstance(request, Command) else None
            return await self.turn.run(request_id, lambda: handler(self, request))

        return actor_method

    return decorate
