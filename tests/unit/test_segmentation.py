"""Tier and segment rules against the spec's numbers, at and around each threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.orders import CompletedOrder
from domain.segmentation import (
    Metrics,
    Segment,
    SegmentState,
    Tier,
    next_boundary,
    next_tier,
    segment_for,
    tier_for,
)

NOW = datetime(2024, 10, 30, 10, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)


def metrics(spent: str = "0", orders: int = 0, points: int = 0, *, registered: datetime = LONG_AGO,
            last_order: datetime | None = None, recent: int = 0) -> Metrics:
    return Metrics(registration_date=registered, total_spent=Decimal(spent), order_count=orders,
                   points_balance=points, last_order_date=last_order or (NOW - timedelta(days=1) if orders else None),
                   recent_orders=tuple(NOW - timedelta(days=i + 1) for i in range(recent)))


@pytest.mark.parametrize(("spent", "orders", "points", "tier"), [
    ("0", 0, 0, Tier.REGULAR),
    ("999.99", 5, 0, Tier.REGULAR),       # one cent short of premium's spend
    ("1000", 5, 0, Tier.PREMIUM),         # exactly at every premium minimum (average 200)
    ("1000", 4, 0, Tier.REGULAR),         # one order short
    ("1000", 11, 0, Tier.REGULAR),        # average 90.91 < 100
    ("10000", 20, 5000, Tier.VIP),
    ("10000", 20, 4999, Tier.PREMIUM),    # vip needs loyalty points too
    ("9999.99", 20, 5000, Tier.PREMIUM),
    ("10000", 51, 5000, Tier.PREMIUM),    # average 196.08 < 200
    ("50000", 100, 0, Tier.ENTERPRISE),   # enterprise has no points minimum
    ("50000", 99, 0, Tier.PREMIUM),       # average 505 fine but 99 orders; vip needs points
    ("50000", 100, 5000, Tier.ENTERPRISE),
    ("49999.99", 100, 5000, Tier.VIP),
])
def test_highest_tier_whose_every_minimum_is_met(spent: str, orders: int, points: int, tier: Tier) -> None:
    assert tier_for(metrics(spent, orders, points)) is tier


def test_new_customer_under_30_days_and_under_2_orders() -> None:
    assert segment_for(metrics(registered=NOW - timedelta(days=29, hours=23)), NOW) is Segment.NEW_CUSTOMER
    assert segment_for(metrics("50", 1, registered=NOW - timedelta(days=10)), NOW) is Segment.NEW_CUSTOMER
    # Past new_customer but short of regular_customer's 30 days or 2 orders: no rule of the spec applies.
    assert segment_for(metrics("100", 2, registered=NOW - timedelta(days=10)), NOW) is Segment.UNSEGMENTED
    assert segment_for(metrics(registered=NOW - timedelta(days=30)), NOW) is Segment.UNSEGMENTED
    assert segment_for(metrics("50", 1, registered=NOW - timedelta(days=45)), NOW) is Segment.UNSEGMENTED


def test_regular_customer_30_days_2_orders_under_1000() -> None:
    assert segment_for(metrics("300", 2), NOW) is Segment.REGULAR_CUSTOMER
    assert segment_for(metrics("999.99", 9), NOW) is Segment.REGULAR_CUSTOMER
    assert segment_for(metrics("300", 2, registered=NOW - timedelta(days=30)), NOW) is Segment.REGULAR_CUSTOMER
    assert segment_for(metrics("1000", 9), NOW) is Segment.UNSEGMENTED  # 1000 is not "under 1000"


def test_high_value_at_average_200() -> None:
    assert segment_for(metrics("400", 2), NOW) is Segment.HIGH_VALUE
    assert segment_for(metrics("399.98", 2), NOW) is Segment.REGULAR_CUSTOMER  # average 199.99


def test_frequent_buyer_needs_10_orders_in_6_months() -> None:
    assert segment_for(metrics("1000", 10, recent=10), NOW) is Segment.FREQUENT_BUYER
    assert segment_for(metrics("999", 10, recent=9), NOW) is Segment.REGULAR_CUSTOMER
    assert segment_for(metrics("1000", 10, recent=9), NOW) is Segment.UNSEGMENTED


def test_inactivity_at_90_and_180_days_wins_over_value() -> None:
    assert segment_for(metrics("5000", 10, last_order=NOW - timedelta(days=89, hours=23)), NOW) is Segment.HIGH_VALUE
    assert segment_for(metrics("5000", 10, last_order=NOW - timedelta(days=90)), NOW) is Segment.AT_RISK
    assert segment_for(metrics("5000", 10, last_order=NOW - timedelta(days=179)), NOW) is Segment.AT_RISK
    assert segment_for(metrics("5000", 10, last_order=NOW - timedelta(days=180)), NOW) is Segment.CHURNED


def test_never_ordered_counts_inactivity_from_registration() -> None:
    assert segment_for(metrics(registered=NOW - timedelta(days=91)), NOW) is Segment.AT_RISK


def test_next_tier_progress_matches_the_spec_example() -> None:
    progress = next_tier(Tier.PREMIUM, metrics("5420.50", 23))
    assert progress is not None
    assert progress["tier"] == "vip"
    assert progress["requirement"] == "totalSpent >= 10000"
    assert progress["progress"] == 54.21
    assert progress["remaining"] == 4579.50
    assert next_tier(Tier.ENTERPRISE, metrics("60000", 100)) is None


def test_average_order_value_is_rounded_to_cents() -> None:
    assert metrics("5420.50", 23).average_order_value == Decimal("235.67")


def test_next_boundary_is_the_earliest_future_decay_point() -> None:
    registered = NOW - timedelta(days=5)
    m = metrics(registered=registered)
    assert next_boundary(m, NOW) == registered + timedelta(days=30)
    ordered = metrics("100", 2, registered=NOW - timedelta(days=60), last_order=NOW - timedelta(days=10))
    assert next_boundary(ordered, NOW) == NOW - timedelta(days=10) + timedelta(days=90)
    at_risk = metrics("100", 2, last_order=NOW - timedelta(days=100))
    assert next_boundary(at_risk, NOW) == NOW - timedelta(days=100) + timedelta(days=180)
    assert next_boundary(metrics("100", 2, last_order=NOW - timedelta(days=200)), NOW) is None


def order(amount: str, at: datetime, currency: str = "USD") -> CompletedOrder:
    return CompletedOrder(f"ord_{amount}_{at.isoformat()}_{currency}", Decimal(amount), currency, at)


def test_out_of_order_orders_keep_the_latest_date() -> None:
    m = Metrics(registration_date=LONG_AGO)
    later, earlier = NOW - timedelta(days=1), NOW - timedelta(days=20)
    m = m.with_order(order("10", later), NOW).with_order(order("20", earlier), NOW)
    assert m.last_order_date == later
    assert m.order_count == 2
    assert m.total_spent == Decimal("30.00")


def test_qualification_keeps_its_first_achieved_time() -> None:
    state = SegmentState.initial(LONG_AGO)
    first = state.recomputed(metrics("1000", 5), NOW)
    assert first.qualifications["premiumTier"]["achievedAt"] == "2024-10-30T10:00:00Z"
    later = first.recomputed(metrics("1200", 6), NOW + timedelta(days=3))
    assert later.qualifications["premiumTier"]["achievedAt"] == "2024-10-30T10:00:00Z"
    lost = later.recomputed(metrics("1200", 6, last_order=NOW), NOW).recomputed(metrics("0", 0), NOW)
    assert lost.qualifications["premiumTier"] == {
        "qualified": False, "achievedAt": None, "requirement": "totalSpent >= 1000",
        "allRequirements": "totalSpent >= 1000 and orderCount >= 5 and averageOrderValue >= 100"}


def test_requirements_read_as_the_spec_words_them() -> None:
    state = SegmentState.initial(LONG_AGO).recomputed(metrics("5420.50", 23), NOW)
    assert state.qualifications["premiumTier"]["requirement"] == "totalSpent >= 1000"
    assert state.qualifications["highValueSegment"]["requirement"] == "averageOrderValue >= 200"


def test_default_tier_is_a_floor_so_no_order_means_no_downgrade() -> None:
    initial = SegmentState.initial(NOW, Tier.PREMIUM)
    reviewed = initial.recomputed(initial.metrics, NOW + timedelta(days=31), Tier.PREMIUM)
    assert reviewed.tier is Tier.PREMIUM
    assert tier_for(metrics("10000", 20, 5000), Tier.PREMIUM) is Tier.VIP  # earned tiers above it still count
    assert tier_for(metrics("0", 0), Tier.VIP) is Tier.VIP


def test_state_round_trips() -> None:
    state = SegmentState.initial(LONG_AGO).recomputed(metrics("5420.50", 23, 2500, recent=3), NOW)
    assert SegmentState.from_state(state.to_state()) == state


def test_orders_in_other_currencies_are_kept_apart_from_the_usd_thresholds() -> None:
    start = Metrics(registration_date=LONG_AGO)
    m = start.with_order(order("900", NOW, "EUR"), NOW).with_order(order("950", NOW, "EUR"), NOW) \
        .with_order(order("150", NOW, "USD"), NOW)
    assert (m.total_spent, m.order_count, m.all_orders) == (Decimal("150.00"), 1, 3)
    assert m.other_currencies == (("EUR", 2, Decimal("1850.00")),)
    assert tier_for(m) is Tier.REGULAR  # 1850 EUR is not 1000 USD without a rate
    assert segment_for(m, NOW) is Segment.REGULAR_CUSTOMER  # 3 orders, 150 USD spent
    assert m.to_dict(NOW)["otherCurrencies"] == {"EUR": {"orderCount": 2, "totalSpent": 1850.0}}
    state = SegmentState.initial(LONG_AGO).recomputed(m, NOW)
    assert SegmentState.from_state(state.to_state()) == state


def test_behavioural_rules_count_every_currency() -> None:
    recent = NOW - timedelta(days=1)
    m = Metrics(registration_date=NOW - timedelta(days=5)).with_order(order("10", recent, "GBP"), NOW) \
        .with_order(order("10", recent, "GBP"), NOW)
    assert segment_for(m, NOW) is not Segment.NEW_CUSTOMER  # two orders, whatever their currency
    assert m.last_order_date == recent
