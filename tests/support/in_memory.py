"""In-memory stand-ins for the actor's storage, for unit tests of its use cases.

They replace PostgreSQL, the view cache, sessions and the reminder, never daprd: the e2e tier runs
the same actor through a real daprd, placement and scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from dapr.actor import ActorId
from dapr.actor.runtime._type_information import ActorTypeInformation
from dapr.actor.runtime.context import ActorRuntimeContext

from actors.customer_actor import ActorDependencies, CustomerActor
from actors.serialization import PlainJSONSerializer
from actors.turn import Turn
from domain.activity import Origin
from domain.aggregate import Change, CustomerAggregate
from domain.errors import DomainError, ErrorCode
from domain.orders import AdjustmentKind, CompletedOrder, ExchangeRate, OrderAdjustment, OrderLedger
from persistence.exchange_rates import RecordedRate
from persistence.store import (
    COMMITTED,
    AlreadyAnswered,
    CommitOutcome,
    CommitOutcomeUnknown,
    DuplicateEvent,
    RecordedReply,
    RecordMoved,
    StoredCustomer,
    StoreUnavailable,
)


@dataclass
class InMemoryRecords:
    """The durable record's contract: one change at a time, version-checked, receipts counted once."""

    customers: dict[str, CustomerAggregate] = field(default_factory=dict)
    password_hashes: dict[str, str] = field(default_factory=dict)
    receipts: set[str] = field(default_factory=set)
    orders: dict[str, tuple[str, CompletedOrder]] = field(default_factory=dict)  # order id -> customer, order
    adjustments: dict[tuple[str, str], OrderAdjustment] = field(default_factory=dict)
    commits: list[tuple[Change, Origin]] = field(default_factory=list)
    next_reviews: dict[str, datetime | None] = field(default_factory=dict)
    fail_next: Exception | None = None
    replies: dict[tuple[str, str], RecordedReply] = field(default_factory=dict)
    down: bool = False  # PostgreSQL unreachable: every call fails
    lose_next_commit_answer: bool = False  # the next commit lands, but its answer is lost with the connection
    loads: int = 0  # reads of a whole customer (an actor's activation)

    def _reachable(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")

    async def set_next_review(self, customer_id: str, at: datetime | None) -> None:
        self.next_reviews[customer_id] = at

    async def load_customer(self, customer_id: str) -> StoredCustomer | None:
        self._reachable()
        self.loads += 1
        found = self.customers.get(customer_id)
        return None if found is None else StoredCustomer(found, self.next_reviews.get(customer_id))

    async def password_hash(self, customer_id: str) -> str | None:
        return self.password_hashes.get(customer_id)

    async def order_ledger(self, customer_id: str, order_id: str) -> OrderLedger:
        self._reachable()
        owner, order = self.orders.get(order_id, (None, None))
        if order is None or owner != customer_id:
            return OrderLedger(None)
        adjustments = [a for (o, _), a in self.adjustments.items() if o == order_id]
        return OrderLedger(order, refunded=sum((a.amount for a in adjustments if a.kind is AdjustmentKind.REFUND),
                                               Decimal(0)),
                           cancelled=any(a.kind is AdjustmentKind.CANCELLATION for a in adjustments))

    async def recorded_reply(self, customer_id: str, request_id: str) -> RecordedReply | None:
        self._reachable()
        return self.replies.get((customer_id, request_id))

    async def commit(self, change: Change, origin: Origin, *,
                     reply: tuple[str, RecordedReply] | None = None) -> CommitOutcome:
        self._reachable()
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        if change.receipt is not None:
            receipt = change.receipt
            adjusted = receipt.adjustment and (receipt.adjustment.order_id, receipt.adjustment.adjustment_id)
            if receipt.event_id in self.receipts or (receipt.order and receipt.order.order_id in self.orders) \
                    or (adjusted and adjusted in self.adjustments):
                return DuplicateEvent()
            self.receipts.add(receipt.event_id)
            if receipt.order is not None:
                self.orders[receipt.order.order_id] = (change.customer_id, receipt.order)
            if adjusted and receipt.adjustment is not None:
                self.adjustments[adjusted] = receipt.adjustment
        stored = self.customers.get(change.customer_id)
        if change.before is None and any(c.customer.email.lower() == change.after.customer.email.lower()
                                         for c in self.customers.values()):
            raise DomainError(ErrorCode.EMAIL_ALREADY_EXISTS, "an account with this email address already exists")
        if change.before is not None and (stored is None
                                          or stored.customer.version != change.before.customer.version):
            return RecordMoved(f"{change.customer_id} is no longer at version {change.before.customer.version}")
        if reply is not None and (change.customer_id, reply[0]) in self.replies:
            return AlreadyAnswered(self.replies[(change.customer_id, reply[0])])
        self.customers[change.customer_id] = change.after
        for rate in change.rates_applied:  # as the store counts the customer's waiting orders at the rate
            self.orders.update({order_id: (owner, replace(order, usd_rate=rate.usd_per_unit))
                                for order_id, (owner, order) in self.orders.items()
                                if owner == change.customer_id and order.currency == rate.currency
                                and order.usd_rate is None})
        if reply is not None:
            self.replies[(change.customer_id, reply[0])] = reply[1]
        if change.segment_changed:  # as the store writes next_review_at with the segment
            self.next_reviews[change.customer_id] = change.after.segment.review_at
        if change.password_hash is not None:
            self.password_hashes[change.customer_id] = change.password_hash
        self.commits.append((change, origin))
        if self.lose_next_commit_answer:
            self.lose_next_commit_answer = False
            raise CommitOutcomeUnknown("connection lost at COMMIT")
        return COMMITTED


@dataclass
class InMemoryExchangeRates:
    """The rate table's contract (persistence.exchange_rates.ExchangeRates), never stale."""

    recorded_rates: dict[str, RecordedRate] = field(default_factory=dict)

    async def set(self, *, rate: ExchangeRate, set_by: str, at: datetime) -> RecordedRate:
        self.recorded_rates[rate.currency] = RecordedRate(rate, set_by, at)
        return self.recorded_rates[rate.currency]

    async def recorded(self) -> list[RecordedRate]:
        return [self.recorded_rates[c] for c in sorted(self.recorded_rates)]

    async def current(self, *, max_age_seconds: float = 0) -> dict[str, ExchangeRate]:
        return {c: r.rate for c, r in self.recorded_rates.items()}


@dataclass
class InMemoryEventCopies:
    removed_for: list[str] = field(default_factory=list)

    async def remove(self, customer_id: str) -> int:
        self.removed_for.append(customer_id)
        return 0


@dataclass
class InMemorySessions:
    revoked: list[str] = field(default_factory=list)

    async def revoke_all(self, customer_id: str) -> int:
        self.revoked.append(customer_id)
        return 1


@dataclass
class InMemoryViews:
    entries: dict[tuple[str, str], Any] = field(default_factory=dict)
    fail_next_purge: bool = False
    fail_next_put: bool = False  # as if the process died right after the commit

    async def forget(self, customer_id: str, *, profile: bool, segment: bool, addresses: bool) -> None:
        for kind, stale in (("profile", profile), ("segment", segment), ("addresses", addresses)):
            if stale:
                self.entries.pop((kind, customer_id), None)

    def _put(self, kind: str, customer_id: str, value: Any) -> None:
        if self.fail_next_put:
            self.fail_next_put = False
            raise ConnectionError("the process died")
        self.entries[kind, customer_id] = value

    async def put_profile(self, customer_id: str, value: Any) -> None:
        self._put("profile", customer_id, value)

    async def put_segment(self, customer_id: str, value: Any) -> None:
        self._put("segment", customer_id, value)

    async def put_addresses(self, customer_id: str, value: Any) -> None:
        self._put("addresses", customer_id, value)

    async def purge(self, customer_id: str) -> None:
        if self.fail_next_purge:
            self.fail_next_purge = False
            raise ConnectionError("cache unavailable")
        for kind in ("profile", "segment", "addresses"):
            self.entries.pop((kind, customer_id), None)


class InMemoryCustomerActor(CustomerActor):
    """The real use cases and turn, with the reminder kept in memory."""

    def __init__(self, customer_id: str, deps: ActorDependencies) -> None:
        serializer = PlainJSONSerializer()
        ctx = ActorRuntimeContext(ActorTypeInformation.create(CustomerActor), serializer, serializer,
                                  actor_client=None)  # type: ignore[arg-type]  # never used: no daprd here
        super().__init__(ctx, ActorId(customer_id), deps)
        self.reminder: timedelta | None = None
        self.reminder_calls = 0  # calls to the scheduler, registering or removing
        self.scheduler_down = False
        self._turn = Turn(customer_id, deps.turn, self._set_review_reminder)

    async def _set_review_reminder(self, due: timedelta | None) -> None:
        if self.scheduler_down:
            raise ConnectionError("scheduler unavailable")
        self.reminder_calls += 1
        self.reminder = due
