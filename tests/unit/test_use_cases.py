"""The actor's use cases and its turn machinery, against in-memory storage (fast; no daprd).

The e2e tier proves the same paths through a real daprd; here each rule of a turn is pinned down:
answering a retried call from memory or from the record, the record before the working copy, a new
activation reading the record, the reminder kept without a scheduler call per change, duplicates,
and errors that never leak details.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.customer_actor import ActorDependencies
from actors.hashing import PasswordHashing
from actors.interface import SEGMENT_REVIEW_REMINDER
from actors.turn import RECENT_REQUESTS_KEPT, TurnDependencies
from domain.clock import Clock
from domain.errors import DomainError, ErrorCode
from domain.ids import new_customer_id
from domain.segmentation import Tier
from persistence.read_models import ReadModels
from persistence.store import StoreUnavailable
from tests.support.in_memory import (
    InMemoryCustomerActor,
    InMemoryEventCopies,
    InMemoryExchangeRates,
    InMemoryRecords,
    InMemorySessions,
    InMemoryViews,
)

ORIGIN = {"correlation_id": "corr_unit", "session_id": "sess_1", "ip_address": "10.0.0.1", "user_agent": "ua"}


@dataclass(frozen=True)
class MovableClock(Clock):
    offset: list[timedelta] = field(default_factory=lambda: [timedelta(0)])

    def now(self) -> datetime:
        return super().now() + self.offset[0]


class World:
    def __init__(self) -> None:
        self.records = InMemoryRecords()
        self.views = InMemoryViews()
        self.sessions = InMemorySessions()
        self.event_copies = InMemoryEventCopies()
        self.clock = MovableClock()
        self.exchange_rates = InMemoryExchangeRates()
        self.deps = ActorDependencies(
            turn=TurnDependencies(records=self.records, views=self.views, sessions=self.sessions,
                                  event_copies=self.event_copies, clock=self.clock),
            read_models=ReadModels(None, None),  # type: ignore[arg-type]  # export and analytics are e2e-tested
            hashing=PasswordHashing(concurrency=1, wait_seconds=5), exchange_rates=self.exchange_rates,
            password_min_length=8,
            default_tier=Tier.REGULAR)

    def actor(self, customer_id: str) -> InMemoryCustomerActor:
        """A fresh activation of the customer's actor, as after a restart or a move to another replica."""
        return InMemoryCustomerActor(customer_id, self.deps)


def create_request(**overrides: Any) -> dict[str, Any]:
    return {"email": f"u-{uuid.uuid4().hex[:8]}@example.com", "password_hash": "argon2-hash",
            "consent_source": "registration:service:svc:unit",
            "profile": {"firstName": "Ada"}, "preferences": {}, "origin": ORIGIN, **overrides}


def update_request(*, request_id: str, first_name: str) -> dict[str, Any]:
    return {"profile": {"firstName": first_name}, "preferences": {}, "source": "customer", "origin": ORIGIN,
            "request_id": request_id}


def order(event_id: str, order_id: str, amount: str = "250.00", completed_at: datetime | None = None
          ) -> dict[str, Any]:
    return {"event_id": event_id, "order_id": order_id, "amount": amount, "currency": "USD",
            "completed_at": (completed_at or datetime.now(UTC)).isoformat(), "origin": ORIGIN}


async def test_create_commits_then_keeps_cache_and_reminder_in_step() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    outcome = await actor.create(create_request())
    assert outcome["ok"] is True
    assert outcome["value"]["etag"] == '"1"'
    [(change, origin)] = world.records.commits
    assert [e.topic for e in change.events] == ["customers.customer.created"]
    assert origin.session_id == "sess_1"
    assert world.views.entries["profile", customer_id]["customer"]["id"] == customer_id
    assert actor.reminder is not None  # the new_customer boundary, 30 days out


async def test_a_retried_call_is_answered_from_memory_without_a_second_commit() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    request = create_request(request_id="req-1")
    first = await actor.create(request)
    again = await actor.create(request)
    assert again == first
    assert len(world.records.commits) == 1
    # A new activation has no memory of it: the record's copy of the answer (written with the change)
    # answers the retry the same way.
    assert await world.actor(customer_id).create(request) == first
    assert len(world.records.commits) == 1


async def test_a_retried_create_after_a_move_answers_its_first_result() -> None:
    """Issue 10: the create committed, the customer was deactivated and the actor moved; daprd's retry of
    the create must not meet EMAIL_ALREADY_EXISTS for its own account."""
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    request = create_request(request_id="req-create")
    first = await actor.create(request)
    assert first["ok"] is True
    assert (await actor.deactivate({"origin": ORIGIN, "request_id": "req-deactivate"}))["ok"] is True
    moved = world.actor(customer_id)
    again = await moved.create(request)
    assert again == first
    assert len(world.records.commits) == 2  # the create and the deactivation, nothing more


async def test_a_retried_address_add_after_a_move_adds_nothing() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    add = {"address": {"type": "shipping", "street": "1 Main St", "city": "Springfield", "zipCode": "12345",
                       "country": "US"}, "origin": ORIGIN, "request_id": "req-add"}
    first = await actor.add_address(add)
    assert first["ok"] is True, first
    moved = world.actor(customer_id)
    assert await moved.add_address(add) == first
    assert len(world.records.customers[customer_id].addresses.to_list()) == 1


async def test_the_last_answers_are_kept_in_memory_and_older_ones_come_from_the_record() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request(request_id="req-0"))
    for n in range(1, RECENT_REQUESTS_KEPT + 3):
        outcome = await actor.update(update_request(request_id=f"req-{n}", first_name=f"N{n}"))
        assert outcome["ok"], outcome
    # The last ones are answered from memory: no trip to the record, even while it is down.
    last = RECENT_REQUESTS_KEPT + 2
    world.records.down = True
    again_last = await actor.update(update_request(request_id=f"req-{last}", first_name=f"N{last}"))
    assert again_last == world.records.replies[(customer_id, f"req-{last}")].reply
    world.records.down = False
    # One let go from memory is answered from PostgreSQL's record of it, not applied again.
    commits = len(world.records.commits)
    again = await actor.update(update_request(request_id="req-1", first_name="N1"))
    assert again == world.records.replies[(customer_id, "req-1")].reply
    assert again["value"]["customer"]["profile"]["firstName"] == "N1"
    assert len(world.records.commits) == commits


async def test_creating_an_existing_customer_is_a_typed_rejection() -> None:
    world = World()
    actor = world.actor(new_customer_id())
    await actor.create(create_request())
    outcome = await actor.create(create_request())
    assert outcome == {"ok": False, "error": {"code": "EMAIL_ALREADY_EXISTS", "message": "customer already exists"}}


async def test_an_unavailable_store_leaves_the_working_copy_untouched() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    world.records.fail_next = StoreUnavailable("connection refused")
    outcome = await actor.update({"profile": {"firstName": "Grace"}, "preferences": {}, "source": "customer",
                                  "origin": ORIGIN})
    assert outcome["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name
    assert "connection refused" not in str(outcome)
    got = await actor.get({})
    assert got["value"]["customer"]["profile"]["firstName"] == "Ada"


def rename(first_name: str) -> dict[str, Any]:
    return {"profile": {"firstName": first_name}, "preferences": {}, "source": "customer", "origin": ORIGIN}


async def test_reads_go_on_through_a_store_outage_and_writes_are_refused() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    world.records.down = True
    assert (await actor.update(rename("Grace")))["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name
    assert (await actor.get({}))["value"]["customer"]["profile"]["firstName"] == "Ada"
    # A new activation (a restarted app) has no copy to answer from: reads are the view cache's (the API
    # reads it first), and the actor answers 503 until the record is back.
    reactivated = world.actor(customer_id)
    assert (await reactivated.get({}))["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name
    assert (await reactivated.update(rename("Grace")))["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name
    world.records.down = False
    assert (await reactivated.update(rename("Grace")))["ok"] is True
    assert world.records.customers[customer_id].customer.profile["firstName"] == "Grace"


async def test_a_connection_lost_at_commit_rereads_the_record() -> None:
    """The change landed but its answer was lost: the caller hears 503, and the working copy is rebuilt
    from PostgreSQL, so the next read shows the change (and a retry is a no-op, not a conflict)."""
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    world.records.lose_next_commit_answer = True
    assert (await actor.update(rename("Grace")))["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name
    assert (await actor.get({}))["value"]["customer"]["profile"]["firstName"] == "Grace"
    assert (await actor.update(rename("Grace")))["ok"] is True
    assert len(world.records.commits) == 2  # the create and the one landed rename


async def test_an_activation_reads_the_record_once() -> None:
    world = World()
    customer_id = new_customer_id()
    await world.actor(customer_id).create(create_request())
    world.records.loads = 0
    fresh = world.actor(customer_id)  # a restart, or a move to another replica
    got = await fresh.get({})
    assert got["value"]["customer"]["profile"]["firstName"] == "Ada"
    assert (await fresh.get_segment({}))["value"]["segment"]["segment"] == "new_customer"
    assert (await fresh.update(rename("Grace")))["ok"] is True
    assert (await fresh.get({}))["value"]["customer"]["profile"]["firstName"] == "Grace"
    assert world.records.loads == 1  # the working copy serves every later call


async def test_an_order_counts_once_whatever_the_number_of_events_naming_it() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    first = await actor.apply_order(order("evt_1", "ord_1"))
    second = await actor.apply_order(order("evt_2", "ord_1"))
    redelivered = await actor.apply_order(order("evt_1", "ord_1"))
    assert [first["value"], second["value"], redelivered["value"]] == [
        {"duplicate": False}, {"duplicate": True}, {"duplicate": True}]
    segment = (await actor.get_segment({}))["value"]["segment"]
    assert segment["metrics"]["orderCount"] == 1
    assert segment["metrics"]["totalSpent"] == 250.0


async def test_a_change_decided_on_a_stale_copy_is_decided_again_on_the_record() -> None:
    """Another writer moved the record (a commit whose answer was lost, a second activation): the turn
    rereads PostgreSQL and decides once more, rather than keep failing on its stale copy."""
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    other = world.actor(customer_id)  # a second activation reads the record
    assert (await other.update(rename("Grace")))["ok"] is True
    outcome = await actor.update(rename("Hopper"))
    assert outcome["ok"] is True
    assert outcome["value"]["etag"] == '"3"'
    assert world.records.customers[customer_id].customer.profile["firstName"] == "Hopper"


async def test_a_stale_if_match_is_refused() -> None:
    world = World()
    actor = world.actor(new_customer_id())
    await actor.create(create_request())
    outcome = await actor.update({"profile": {"firstName": "Grace"}, "preferences": {}, "source": "customer",
                                  "if_match": '"7"', "origin": ORIGIN})
    assert outcome["error"]["code"] == ErrorCode.PRECONDITION_FAILED.name
    assert len(world.records.commits) == 1


async def test_erasure_purges_state_cache_and_reminder() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    erased = await actor.erase({"origin": ORIGIN})
    assert erased["value"] == {"changed": True}
    assert world.views.entries == {}
    assert actor.reminder is None
    assert world.sessions.revoked == [customer_id]
    assert (await actor.get({}))["error"]["code"] == ErrorCode.CUSTOMER_NOT_FOUND.name
    assert (await actor.erase({"origin": ORIGIN}))["value"] == {"changed": False}


async def test_a_review_with_nothing_to_change_only_keeps_the_reminder() -> None:
    world = World()
    actor = world.actor(new_customer_id())
    await actor.create(create_request())
    assert (await actor.review_segment({}))["value"] == {"changed": False}
    assert len(world.records.commits) == 1
    assert actor.reminder is not None
    assert actor.reminder > timedelta(days=29)


async def test_a_decayed_customer_is_reviewed_into_a_new_segment_with_its_event() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    await actor.apply_order(order("evt_1", "ord_1"))
    world.clock.offset[0] = timedelta(days=100)
    reviewed = await actor.review_segment({})
    assert reviewed["value"] == {"changed": True}
    change, origin = world.records.commits[-1]
    assert [(e.topic, e.data()["current"]["segment"]) for e in change.events] == [
        ("customers.segment.changed", "at_risk")]
    assert origin.correlation_id == f"review_{customer_id}"


async def test_a_malformed_request_is_refused_before_the_turn() -> None:
    world = World()
    actor = world.actor(new_customer_id())
    outcome = await actor.create({"email": "x@example.com"})
    assert outcome == {"ok": False, "error": {"code": "MALFORMED_REQUEST", "message": "malformed create request"}}
    assert world.records.commits == []


async def test_an_unexpected_failure_is_logged_not_returned(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    actor = world.actor(new_customer_id())
    world.records.fail_next = RuntimeError("secret detail")
    outcome = await actor.create(create_request())
    assert outcome == {"ok": False,
                       "error": {"code": "INTERNAL_ERROR", "message": "internal error; it has been logged"}}
    assert "secret detail" in caplog.text


async def test_a_retried_erasure_finishes_the_purge_an_earlier_attempt_left() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    world.views.fail_next_purge = True
    first = await actor.erase({"origin": ORIGIN})
    assert first["error"]["code"] == ErrorCode.SERVICE_UNAVAILABLE.name  # the caller retries
    assert actor.reminder is None  # the other steps ran all the same
    assert world.sessions.revoked == [customer_id]
    assert ("segment", customer_id) in world.views.entries  # the cache step is what failed
    again = await actor.erase({"origin": ORIGIN})
    assert again["value"] == {"changed": False}
    assert world.views.entries == {}
    assert len([c for c, _ in world.records.commits if c.erasure]) == 1


async def test_a_password_change_and_a_deactivation_end_the_sessions() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request(password_hash=await world.deps.hashing.hash("Old-Passw0rd!")))
    changed = await actor.change_password({"current_password": "Old-Passw0rd!", "new_password": "New-Passw0rd!",
                                           "origin": ORIGIN})
    assert changed["ok"] is True
    assert world.sessions.revoked == [customer_id]
    await actor.deactivate({"origin": ORIGIN})
    assert world.sessions.revoked == [customer_id, customer_id]


async def test_password_work_beyond_the_pool_is_refused_not_queued_forever() -> None:
    import asyncio

    hashing = PasswordHashing(concurrency=1, wait_seconds=0.001)
    results = await asyncio.gather(hashing.hash("First-Passw0rd!"), hashing.hash("Second-Passw0rd!"),
                                   return_exceptions=True)
    assert isinstance(results[0], str)
    assert isinstance(results[1], DomainError)
    assert results[1].code is ErrorCode.SERVICE_UNAVAILABLE
    assert results[1].headers == {"Retry-After": "1"}


async def test_a_crash_between_commit_and_cache_refresh_leaves_no_view_older_than_the_record() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    assert world.views.entries["profile", customer_id]["customer"]["profile"]["firstName"] == "Ada"
    world.views.fail_next_put = True  # the process dies after the commit, before the refresh
    await actor.update({"profile": {"firstName": "Grace"}, "preferences": {}, "source": "customer", "origin": ORIGIN})
    assert world.records.customers[customer_id].customer.profile["firstName"] == "Grace"  # committed
    assert ("profile", customer_id) not in world.views.entries  # so reads go to the rebuilt actor


async def test_a_review_that_changes_nothing_still_moves_the_sweeps_next_review() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    for i in (1, 2):
        await actor.apply_order(order(f"evt_{i}", f"ord_{i}", amount="300.00"))
    assert (await actor.get_segment({}))["value"]["segment"]["segment"] == "high_value"
    world.clock.offset[0] = timedelta(days=31)  # past the 30-day boundary, which changes nothing here
    assert (await actor.review_segment({}))["value"] == {"changed": False}
    next_review = world.records.next_reviews[customer_id]
    assert next_review is not None
    assert next_review > world.clock.now()  # not left in the past, where the sweep would find it forever


async def fire_reminder(actor: InMemoryCustomerActor) -> None:
    """As daprd delivers a due reminder: Dapr lets a one-shot reminder go once it has fired."""
    actor.reminder = None
    await actor.receive_reminder(SEGMENT_REVIEW_REMINDER, b"", timedelta(0), timedelta(0))


async def test_an_order_keeps_the_pending_reminder_and_an_early_one_sets_the_next() -> None:
    """Each order moves the at_risk boundary later. The reminder already pending fires early instead of
    costing each order a scheduler call; the review it triggers finds nothing to change and sets the next."""
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    await actor.create(create_request())
    registered = world.records.customers[customer_id].customer.registration_date
    assert actor.reminder_calls == 1  # new_customer ends at 30 days
    world.clock.offset[0] = timedelta(days=31)
    await fire_reminder(actor)  # new_customer -> unsegmented; next boundary: at_risk, 90 days from registration
    assert actor.reminder_calls == 2
    await actor.apply_order(order("evt_1", "ord_1", completed_at=world.clock.now()))  # at_risk: 90 days on
    assert actor.reminder_calls == 2  # no scheduler call: the pending reminder (day 90) comes first
    order_day = world.records.customers[customer_id].segment.metrics.last_order_date
    assert order_day is not None
    assert world.records.next_reviews[customer_id] == order_day + timedelta(days=90)  # the sweep's index is exact
    world.clock.offset[0] = timedelta(days=91)
    await fire_reminder(actor)
    assert world.records.commits[-1][0].receipt is not None  # the early review committed nothing
    assert actor.reminder_calls == 3
    assert actor.reminder is not None
    due = registered + timedelta(days=91) + actor.reminder
    assert abs(due - (order_day + timedelta(days=90))) < timedelta(seconds=5)


async def test_an_activation_whose_review_date_passed_sets_the_reminder_again() -> None:
    """The sweep's case: next_review_at has passed (its reminder fired or was lost); the review the sweep
    asks for registers the next reminder and moves next_review_at past today."""
    world = World()
    customer_id = new_customer_id()
    await world.actor(customer_id).create(create_request())
    world.records.next_reviews[customer_id] = world.clock.now() - timedelta(days=1)
    fresh = world.actor(customer_id)
    assert (await fresh.review_segment({}))["value"] == {"changed": False}
    assert fresh.reminder_calls == 1
    review = world.records.next_reviews[customer_id]
    assert review is not None
    assert review > world.clock.now()


async def test_a_scheduler_failure_after_the_commit_does_not_fail_the_write() -> None:
    world = World()
    customer_id = new_customer_id()
    actor = world.actor(customer_id)
    actor.scheduler_down = True
    created = await actor.create(create_request())
    assert created["ok"] is True  # the record is committed: a retry must not meet EMAIL_ALREADY_EXISTS
    assert world.records.next_reviews[customer_id] is not None  # where the sweep will find it
