"""Honest money (issue 22): refunds, cancellations, redemptions and expiries bring totals and points down,
exactly once, whatever order Dapr delivers them in, through the actor's use cases (in-memory storage; the
e2e tier runs them through daprd)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from actors.interface import Outcome
from domain.events import CustomerSegmentChanged
from domain.ids import new_customer_id
from domain.orders import MAX_PENDING_ADJUSTMENTS, ExchangeRate
from tests.support.in_memory import InMemoryCustomerActor
from tests.unit.test_use_cases import ORIGIN, World, create_request, order

Delivery = Callable[[InMemoryCustomerActor], Awaitable[Outcome]]
AT = datetime.now(UTC) - timedelta(days=2)


def refund(event_id: str, order_id: str, refund_id: str, amount: str, currency: str = "USD") -> Delivery:
    return lambda actor: actor.adjust_order({
        "event_id": event_id, "order_id": order_id, "kind": "refund", "refund_id": refund_id, "amount": amount,
        "currency": currency, "at": AT.isoformat(), "origin": ORIGIN})


def cancellation(event_id: str, order_id: str) -> Delivery:
    return lambda actor: actor.adjust_order({
        "event_id": event_id, "order_id": order_id, "kind": "cancellation", "at": AT.isoformat(), "origin": ORIGIN})


def points(event_id: str, movement: str, count: int) -> Delivery:
    return lambda actor: actor.apply_points({"event_id": event_id, "points": count, "movement": movement,
                                             "origin": ORIGIN})


def completion(event_id: str, order_id: str, amount: str, *, days_ago: int = 2) -> Delivery:
    return lambda actor: actor.apply_order(order(event_id, order_id, amount, AT - timedelta(days=days_ago - 2)))


async def customer(world: World) -> InMemoryCustomerActor:
    actor = world.actor(new_customer_id())
    assert (await actor.create(create_request()))["ok"] is True
    return actor


async def segment(actor: InMemoryCustomerActor) -> dict[str, Any]:
    return dict((await actor.get_segment({}))["value"]["segment"])


def totals(view: dict[str, Any]) -> tuple[float, int, int, int]:
    m = view["metrics"]
    return m["totalSpent"], m["orderCount"], m["ordersLast6Months"], view["loyaltyPoints"]


EVENTS = [
    completion("evt_c1", "ord_1", "300.00"),
    refund("evt_r1", "ord_1", "ref_1", "100.00"),
    completion("evt_c2", "ord_2", "200.00"),
    cancellation("evt_x2", "ord_2"),
    points("evt_p1", "points_earned", 600),
    points("evt_p2", "points_redeemed", 400),
]


async def test_every_delivery_order_gives_the_same_totals() -> None:
    """300 less a 100 refund; the cancelled 200 order counted nowhere; 600 points less 400 redeemed."""
    orders = list(itertools.permutations(EVENTS))
    for deliveries in random.Random(7).sample(orders, 120):
        world = World()
        actor = await customer(world)
        for deliver in deliveries:
            assert (await deliver(actor))["value"] == {"duplicate": False}
        assert totals(await segment(actor)) == (200.0, 1, 1, 200)
        assert (await actor.get({}))["value"]["customer"]["segment"]["loyaltyPoints"] == 200
        assert world.records.customers[actor.id.id].segment.metrics.pending_adjustments == ()


async def test_a_redemption_before_its_points_shows_zero_and_then_the_balance() -> None:
    actor = await customer(World())
    await points("evt_r", "points_redeemed", 400)(actor)
    assert (await segment(actor))["loyaltyPoints"] == 0
    await points("evt_e", "points_earned", 500)(actor)
    assert (await segment(actor))["loyaltyPoints"] == 100
    await points("evt_x", "points_expired", 100)(actor)
    assert (await segment(actor))["loyaltyPoints"] == 0


async def test_a_refund_or_cancellation_counts_once_by_its_own_id() -> None:
    world = World()
    actor = await customer(world)
    await completion("evt_c", "ord_1", "300.00")(actor)
    answers = [(await deliver(actor))["value"]["duplicate"] for deliver in (
        refund("evt_r1", "ord_1", "ref_1", "50.00"), refund("evt_r1", "ord_1", "ref_1", "50.00"),
        refund("evt_r2", "ord_1", "ref_1", "50.00"),  # another event for the same refund
        cancellation("evt_x1", "ord_1"), cancellation("evt_x2", "ord_1"))]
    assert answers == [False, True, True, False, True]
    assert totals(await segment(actor))[:2] == (0.0, 0)
    assert {key for key in world.records.adjustments} == {("ord_1", "ref_1"), ("ord_1", "cancellation")}


async def test_a_refund_after_the_cancellation_changes_nothing_more() -> None:
    actor = await customer(World())
    for deliver in (completion("evt_c", "ord_1", "300.00"), completion("evt_c2", "ord_2", "80.00"),
                    cancellation("evt_x", "ord_1"), refund("evt_r", "ord_1", "ref_1", "300.00")):
        assert (await deliver(actor))["value"] == {"duplicate": False}
    assert totals(await segment(actor))[:2] == (80.0, 1)


async def test_a_refund_in_another_currency_or_beyond_the_order_is_refused_and_changes_nothing() -> None:
    world = World()
    actor = await customer(world)
    await completion("evt_c", "ord_1", "300.00")(actor)
    await refund("evt_r0", "ord_1", "ref_0", "250.00")(actor)
    commits = len(world.records.commits)
    too_much = await refund("evt_r1", "ord_1", "ref_1", "50.01")(actor)
    other_currency = await refund("evt_r2", "ord_1", "ref_2", "10.00", "EUR")(actor)
    assert too_much["error"]["details"] == [
        {"field": "amount", "message": "must not exceed what remains of the order (50.00)"}]
    assert other_currency["error"]["details"] == [
        {"field": "currency", "message": "must be the order's currency (USD)"}]
    assert len(world.records.commits) == commits
    assert totals(await segment(actor))[:2] == (50.0, 1)


async def test_a_refund_takes_the_tier_down_at_once_and_announces_it() -> None:
    world = World()
    actor = await customer(world)
    for i in range(5):
        await completion(f"evt_c{i}", f"ord_{i}", "250.00")(actor)
    assert (await segment(actor))["tier"] == "premium"  # 1,250 spent, 5 orders, 250 average
    await refund("evt_r1", "ord_0", "ref_1", "250.00")(actor)
    assert (await segment(actor))["tier"] == "premium"  # 1,000 spent: still the minimum
    await refund("evt_r2", "ord_1", "ref_2", "0.01")(actor)
    view = await segment(actor)
    assert (view["tier"], view["metrics"]["totalSpent"], view["metrics"]["orderCount"]) == ("regular", 999.99, 5)
    change, _ = world.records.commits[-1]
    [event] = change.events
    assert isinstance(event, CustomerSegmentChanged)
    assert (event.old_tier, event.new_tier, event.reason) == ("premium", "regular", "order_refunded")


async def test_adjustments_of_unknown_orders_wait_up_to_a_limit() -> None:
    world = World()
    actor = await customer(world)
    for i in range(MAX_PENDING_ADJUSTMENTS):
        assert (await cancellation(f"evt_x{i}", f"ord_{i}")(actor))["ok"] is True
    refused = await cancellation("evt_over", "ord_over")(actor)
    assert refused["error"]["details"] == [{"field": "orderId", "message": f"more than {MAX_PENDING_ADJUSTMENTS} "
                                            "refunds or cancellations wait for orders that have not completed"}]
    await completion("evt_c", "ord_0", "10.00")(actor)  # its cancellation was waiting: it counts nowhere
    assert totals(await segment(actor))[:2] == (0.0, 0)
    assert len(world.records.customers[actor.id.id].segment.metrics.pending_adjustments) == \
        MAX_PENDING_ADJUSTMENTS - 1


def eur_order(event_id: str, order_id: str, amount: str) -> Delivery:
    return lambda actor: actor.apply_order({**order(event_id, order_id, amount, AT), "currency": "EUR"})


async def set_rate(world: World, usd_per_unit: str) -> None:
    await world.exchange_rates.set(rate=ExchangeRate("EUR", Decimal(usd_per_unit), date(2026, 12, 1)),
                                   set_by="svc:admin", at=AT)


async def test_an_order_in_a_currency_with_a_rate_counts_in_usd_and_its_refund_at_the_same_rate() -> None:
    world = World()
    actor = await customer(world)
    await set_rate(world, "1.10")
    await eur_order("evt_c", "ord_1", "1000.00")(actor)
    await set_rate(world, "2.00")  # later rates never revalue what was counted
    await refund("evt_r", "ord_1", "ref_1", "100.00", "EUR")(actor)
    view = await segment(actor)
    assert (view["metrics"]["totalSpent"], view["metrics"]["orderCount"], view["metrics"]["otherCurrencies"]) == \
        (990.0, 1, {})  # 1,100 less 110


async def test_orders_waiting_for_a_rate_count_once_it_arrives_and_only_once() -> None:
    world = World()
    actor = await customer(world)
    await eur_order("evt_c1", "ord_1", "600.00")(actor)
    await eur_order("evt_c2", "ord_2", "400.00")(actor)
    assert (await segment(actor))["metrics"]["otherCurrencies"] == {"EUR": {"orderCount": 2, "totalSpent": 1000.0}}
    assert (await actor.count_in_usd({}))["value"] == {"changed": False}  # no rate yet
    await set_rate(world, "1.25")
    assert (await actor.count_in_usd({}))["value"] == {"changed": True}
    assert (await actor.count_in_usd({}))["value"] == {"changed": False}
    view = await segment(actor)
    assert (view["tier"], view["metrics"]["totalSpent"], view["metrics"]["orderCount"],
            view["metrics"]["otherCurrencies"]) == ("regular", 1250.0, 2, {})
    # Each order now carries the rate it was counted at, so its refund comes back at that rate.
    await set_rate(world, "3.00")
    await refund("evt_r", "ord_2", "ref_1", "400.00", "EUR")(actor)
    assert (await segment(actor))["metrics"]["totalSpent"] == 750.0
