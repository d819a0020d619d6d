"""One actor turn: the customer's working copy in memory, each change committed to PostgreSQL first.

The actor holds its customer as an aggregate in memory for as long as it is active, read from
PostgreSQL, the durable record, when it activates; Dapr keeps no copy of the customer. A use case
decides with the domain (`domain.aggregate`) and hands the resulting `Change` to `Turn.apply`, which
commits it in one transaction and only then moves the working copy, the view cache and the
segment-review reminder. If PostgreSQL fails nothing else moves.

- Why no Dapr state: the copy in Dapr state cost every change a state transaction through daprd into
  Redis (and the SDK a state-existence read per new key) to keep a second copy of what PostgreSQL
  commits anyway (issue 17, bench/). An activation reads the record instead; that is one query when
  Dapr places an actor, against several state calls on every change. Reads during a PostgreSQL outage
  are served by the view cache, and by every actor already active.
- Repeats: daprd retries an actor call whose response it lost (a placement change cancels in-flight
  calls), so each command carries a request id. The turn answers a repeat from its recent answers in
  memory, and after a restart or a move from PostgreSQL's record of committed answers (actor_replies,
  written in the change's transaction), so a retry is never decided twice. A client's Idempotency-Key
  is such a request id (api/idempotency.py), with a fingerprint of its request: a repeat with another
  fingerprint is refused (IDEMPOTENCY_KEY_REUSED), and a keyed command not in memory is looked up in
  the record before it is decided (one read, keyed commands only), so even a retry that would now be
  decided otherwise (after an erasure, say) gets its first answer.
- Reminder: one reminder per customer, due at or before its next segment boundary. A change that moves
  the boundary later keeps the reminder it has (it fires early, the review finds nothing to change and
  sets the next one), so an order does not pay a scheduler call; an earlier boundary moves it.
- Errors: a rejection travels as a value; an unavailable store as SERVICE_UNAVAILABLE; anything else
  as INTERNAL_ERROR with the details only in the log. After an ambiguous failure (a connection lost at
  COMMIT, or anything unexpected) the working copy is dropped and read again on the next call; after a
  write that never reached PostgreSQL it is kept, so reads go on answering through an outage.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from actors.interface import ActorMethod, Outcome
from actors.messages import Command
from domain.activity import Origin
from domain.aggregate import Change, CustomerAggregate
from domain.clock import Clock
from domain.customer import Status
from domain.errors import DomainError, ErrorCode, not_found
from domain.orders import OrderLedger
from domain.segmentation import next_boundary
from persistence.store import (
    AlreadyAnswered,
    CommitOutcome,
    CommitOutcomeUnknown,
    Committed,
    DuplicateEvent,
    RecordedReply,
    RecordMoved,
    StoredCustomer,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

RECENT_REQUESTS_KEPT = 20


class CustomerRecords(Protocol):
    """The durable record (persistence.store.Store)."""

    async def load_customer(self, customer_id: str) -> StoredCustomer | None: ...
    async def commit(self, change: Change, origin: Origin, *,
                     reply: tuple[str, RecordedReply] | None = None) -> CommitOutcome: ...
    async def recorded_reply(self, customer_id: str, request_id: str) -> RecordedReply | None: ...
    async def password_hash(self, customer_id: str) -> str | None: ...
    async def order_ledger(self, customer_id: str, order_id: str) -> OrderLedger: ...
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


class _Replay(Exception):
    """The command was committed before: the call answers as its first attempt did."""

    def __init__(self, first: RecordedReply) -> None:
        super().__init__("committed before")
        self.first = first


def _replayed(first: RecordedReply, fingerprint: str | None) -> Outcome:
    """The first attempt's answer, unless the repeat is another request under the same Idempotency-Key."""
    if first.fingerprint != fingerprint:
        return _failure(ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was used with another request; use a new key")
    return first.reply


class _Stale(Exception):
    """The change was decided on a copy older than the record: decide again on the record."""


class Turn:
    def __init__(self, customer_id: str, deps: TurnDependencies, set_reminder: SetReminder) -> None:
        self._id = customer_id
        self._deps = deps
        self._set_reminder = set_reminder
        self._loaded = False
        self.aggregate: CustomerAggregate | None = None
        self._recorded_review_at: datetime | None = None  # next_review_at as PostgreSQL has it
        self._reminder_at: datetime | None = None  # when the pending reminder fires; None: none pending
        self._replies: OrderedDict[str, RecordedReply] = OrderedDict()  # the last commands' answers, by request id

    def now(self) -> datetime:
        return self._deps.clock.now()

    def existing(self) -> CustomerAggregate:
        """The customer, or CUSTOMER_NOT_FOUND for one never created or erased."""
        if self.aggregate is None or self.aggregate.customer.status is Status.DELETED:
            raise not_found(self._id)
        return self.aggregate

    # -- one call -----------------------------------------------------------------------------------------
    async def run(self, command: Command | None, step: Callable[[], Awaitable[BaseModel]]) -> Outcome:
        """One call: `command` (None for a query) names the request id and fingerprint a repeat is known by."""
        request_id = None if command is None else command.request_id
        fingerprint = None if command is None else command.fingerprint
        try:
            await self._load()
            if request_id is not None:
                first = self._replies.get(request_id)
                if first is None and fingerprint is not None:
                    # A client's retry under an Idempotency-Key may come after a restart or a move, and even
                    # after a change that would decide it otherwise (an erasure): the record answers it.
                    first = await self._deps.records.recorded_reply(self._id, request_id)
                if first is not None:
                    return _replayed(first, fingerprint)  # a retried call: answer as the first attempt did
            try:
                result = await step()
            except _Stale as stale:
                log.warning("%s; deciding again on the record", stale)
                self._forget()
                await self._load()
                result = await step()
            outcome = _success(result)
            if request_id is not None and self.aggregate is not None \
                    and self.aggregate.customer.status is not Status.DELETED:
                self._remember(request_id, RecordedReply(outcome, fingerprint))
            return outcome
        except _Replay as replay:
            return _replayed(replay.first, fingerprint)  # committed before (this activation never saw it)
        except DomainError as exc:
            if request_id is not None and (first := await self._recorded_reply(request_id)) is not None:
                return _replayed(first, fingerprint)  # decided again on the changed customer, but committed before
            return {"ok": False, "error": exc.to_dict()}
        except StoreUnavailable as exc:
            log.warning("customer store unavailable for %s: %s", self._id, exc)
            if isinstance(exc, CommitOutcomeUnknown):
                self._forget()  # whether the change landed is unknown: read the record next time
            # Otherwise nothing was written and the working copy still matches PostgreSQL: reads go on.
            return _failure(ErrorCode.SERVICE_UNAVAILABLE, "the customer store is unavailable; retry shortly")
        except Exception:
            log.exception("unexpected failure in a turn of %s", self._id)
            self._forget()
            return _failure(ErrorCode.INTERNAL_ERROR, "internal error; it has been logged")

    async def _recorded_reply(self, request_id: str) -> RecordedReply | None:
        try:
            return await self._deps.records.recorded_reply(self._id, request_id)
        except StoreUnavailable:
            return None

    async def apply(self, change: Change, origin: Origin, *, command: Command | None, reply: BaseModel) -> bool:
        """Commits the change with `reply`, the answer to `command` (kept with its request id and
        fingerprint for a retry; None: nothing kept, see the inbound events), then moves the working copy,
        cache and reminder; False for an inbound event applied before.

        The cached views the change makes stale are dropped before the commit, so a crash between the
        commit and their refresh leaves no view older than the record: the next read asks the actor,
        which answers from the record. Once committed, the change is reported as done: a failure to
        schedule its review reminder is logged and left to the segment sweep."""
        await self._deps.views.forget(self._id, profile=change.customer_changed, segment=change.segment_changed,
                                      addresses=change.addresses_changed)
        answer = None if command is None else (command.request_id, RecordedReply(_success(reply), command.fingerprint))
        match await self._deps.records.commit(change, origin, reply=answer):
            case DuplicateEvent():
                return False
            case AlreadyAnswered(first=first):
                raise _Replay(first)
            case RecordMoved(detail=detail):
                raise _Stale(detail)
            case Committed():
                pass
        after = change.after
        self.aggregate = after
        if change.erasure:
            await self.purge()
            return True
        if change.revokes_sessions:
            await self._revoke_sessions()
        if change.customer_changed:
            await self._deps.views.put_profile(self._id, after.view())
        if change.segment_changed:
            self._recorded_review_at = after.segment.review_at  # the store wrote it with the segment
            await self._deps.views.put_segment(self._id, after.segment.view(self._id, self.now()))
            try:
                await self.schedule_review()
            except Exception:  # committed all the same; next_review_at in PostgreSQL lets the sweep catch it
                log.exception("review reminder of %s not scheduled; the segment sweep will review it", self._id)
        if change.addresses_changed:
            await self._deps.views.put_addresses(self._id, after.addresses.to_list())
        return True

    def reminder_fired(self) -> None:
        """The review reminder has fired, and Dapr has let it go: none is pending."""
        self._reminder_at = None

    async def schedule_review(self) -> None:
        """Keeps a reminder pending at or before the customer's next segment boundary (Dapr's scheduler
        persists it), and PostgreSQL's next_review_at (where the segment sweep looks for reviews a
        reminder missed) at the boundary."""
        if self.aggregate is None:
            return
        boundary = next_boundary(self.aggregate.segment.metrics, self.now())
        if boundary != self._recorded_review_at:
            await self._deps.records.set_next_review(self._id, boundary)
            self._recorded_review_at = boundary
        if boundary is None:
            if self._reminder_at is not None:
                await self._set_reminder(None)
                self._reminder_at = None
        elif self._reminder_at is None or boundary < self._reminder_at:
            # One second past the boundary, so the rules see it crossed whatever the clock's rounding.
            await self._set_reminder(self._deps.clock.wall_delay(boundary) + timedelta(seconds=1))
            self._reminder_at = boundary

    # -- the working copy ----------------------------------------------------------------------------------
    async def _load(self) -> None:
        """The working copy, read from PostgreSQL on the activation's first call (and after `_forget`).
        A reminder is taken to be pending at a recorded boundary still ahead, where the last commit set it
        (one that was lost is caught by the segment sweep); at one already passed it fired or was lost."""
        if self._loaded:
            return
        stored = await self._deps.records.load_customer(self._id)
        self.aggregate = None if stored is None else stored.aggregate
        self._recorded_review_at = None if stored is None else stored.next_review_at
        ahead = self._recorded_review_at is not None and self._recorded_review_at > self.now()
        self._reminder_at = self._recorded_review_at if ahead else None
        self._loaded = True

    def _remember(self, request_id: str, reply: RecordedReply) -> None:
        self._replies[request_id] = reply
        while len(self._replies) > RECENT_REQUESTS_KEPT:
            self._replies.popitem(last=False)

    def _forget(self) -> None:
        """Drops the working copy; the next call reads the record again."""
        self._loaded = False

    async def _revoke_sessions(self) -> None:
        try:
            revoked = await self._deps.sessions.revoke_all(self._id)
        except Exception:  # the change is committed and stays acknowledged; sessions still expire
            log.exception("sessions of %s not revoked; they end at their timeout", self._id)
            return
        log.info("revoked %d session(s) of %s", revoked, self._id)

    async def purge(self) -> None:
        """After erasure: no copy of the customer in the actor, scheduler, cache, sessions or the pub/sub
        streams. Every step runs even if an earlier one failed; if any failed, the call fails and a
        retried erasure purges again."""
        self._replies.clear()  # answers hold customer views
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
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
        self._reminder_at = None
        if failed:
            raise StoreUnavailable(f"erasure purge incomplete: {', '.join(failed)}")


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
            command = request if isinstance(request, Command) else None
            return await self.turn.run(command, lambda: handler(self, request))

        return actor_method

    return decorate
