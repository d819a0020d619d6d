"""Derived data never goes stale (issue 20): what a review, an override or another part of the aggregate
changes reaches the representation clients read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.aggregate import CustomerAggregate
from domain.ids import new_customer_id
from domain.orders import CompletedOrder
from domain.segmentation import Metrics, Override, Segment, SegmentState, Tier

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=400)
DAY = timedelta(days=1)


def registered() -> CustomerAggregate:
    return CustomerAggregate.register(
        customer_id=new_customer_id(), email="derived@example.com", password_hash="x", profile={},
        preferences={}, consent_source="registration:test", default_tier=Tier.REGULAR, now=LONG_AGO).after


def with_metrics(customer: CustomerAggregate, metrics: Metrics) -> CustomerAggregate:
    return replace(customer, segment=SegmentState.initial(LONG_AGO).recomputed(metrics, NOW, Tier.REGULAR))


def test_a_review_saves_a_lapsed_qualification_when_tier_and_segment_stay() -> None:
    # Ten orders in the six-month window, nine of them about to leave it; a high average keeps the
    # segment high_value (which comes before frequent_buyer) all along.
    orders = (*(NOW - 170 * DAY for _ in range(9)), NOW - DAY)
    customer = with_metrics(registered(), Metrics(
        registration_date=LONG_AGO, total_spent=Decimal("6000"), order_count=10, last_order_date=NOW - DAY,
        recent_orders=orders))
    assert (customer.segment.segment, customer.segment.qualifications["frequentBuyerSegment"]["qualified"]) \
        == (Segment.HIGH_VALUE, True)

    change = customer.reviewed(NOW + 20 * DAY)

    assert change is not None
    assert change.events == ()  # tier and segment did not change: nothing to announce
    assert change.after.segment.segment is Segment.HIGH_VALUE
    assert change.after.segment.qualifications["frequentBuyerSegment"] == {
        "qualified": False, "requirement": customer.segment.qualifications["frequentBuyerSegment"]["requirement"],
        "achievedAt": None}
    assert change.after.reviewed(NOW + 20 * DAY) is None  # saved: the next review finds nothing to change


def test_next_tier_starts_from_the_tier_an_override_gave() -> None:
    customer = with_metrics(registered(), Metrics(registration_date=LONG_AGO))
    overridden = customer.override_segment(Override(Tier.VIP, None, "goodwill", "svc:admin", NOW), NOW).after
    view = overridden.segment.view(overridden.id, NOW)
    assert (view["tier"], view["computed"]["tier"], view["nextTier"]["tier"]) == ("vip", "regular", "enterprise")


def test_segment_and_address_changes_move_updated_at_with_the_etag() -> None:
    customer = registered()
    ordered = customer.order_completed(event_id="evt_1", order=CompletedOrder(
        "ord_1", Decimal("50"), "USD", NOW - DAY), now=NOW).after
    assert (ordered.customer.version, ordered.customer.updated_at) == (customer.customer.version + 1, NOW)
    later = NOW + DAY
    change, _ = ordered.add_address(address_id="addr_1", fields={
        "street": "1 Main St", "city": "Springfield", "zipCode": "12345", "country": "US"}, now=later)
    moved = change.after
    assert (moved.customer.version, moved.customer.updated_at) == (ordered.customer.version + 1, later)
