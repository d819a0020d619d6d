"""Tiers and segments, as the spec's Customer Segmentation Logic states them.

Tiers: a tier needs every one of its minimums; the highest qualifying tier wins.

Segments, when several apply, in this order of precedence (first wins):
  1. churned           no order in the last 180 days
  2. at_risk           no order in the last 90 days
  3. new_customer      < 30 days since registration and < 2 orders
  4. high_value        average order value >= 200
  5. frequent_buyer    10+ orders in the last 6 months
  6. regular_customer  30+ days, 2+ orders, < 1000 spent
  7. unsegmented       none of the above: e.g. 30+ days with fewer than 2 orders but not idle for 90,
                       or 1000+ spent without a high average or a frequent rhythm. The spec's rules do
                       not describe these customers, and stretching regular_customer to cover them
                       would put them in campaigns written for the spec's definition.
Inactivity comes first because it is what a campaign must act on; "no order" is measured from the
last order, or from registration for a customer who never ordered.

DEFAULT_TIER is a floor: the computed tier is never below it, so a customer registered at that tier is
not "downgraded" by the rules before it has any order.

Money: the spec's thresholds are in USD, so totalSpent, orderCount and averageOrderValue (the tier
rules, high_value, regular_customer's spend) count USD orders and orders counted in USD at their
currency's exchange rate (domain/orders.py); orders in a currency with no rate yet are kept per currency
beside them until one arrives. The behavioural rules (last order, frequent_buyer's rhythm,
new_customer's and regular_customer's order counts) count every order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from domain.clock import iso, parse_iso
from domain.orders import (
    CENT,
    THRESHOLD_CURRENCY,
    AdjustmentKind,
    CompletedOrder,
    ExchangeRate,
    OrderAdjustment,
    OrderLedger,
    to_usd,
)


class Tier(StrEnum):
    REGULAR = "regular"
    PREMIUM = "premium"
    VIP = "vip"
    ENTERPRISE = "enterprise"


class Segment(StrEnum):
    NEW_CUSTOMER = "new_customer"
    REGULAR_CUSTOMER = "regular_customer"
    HIGH_VALUE = "high_value"
    FREQUENT_BUYER = "frequent_buyer"
    AT_RISK = "at_risk"
    CHURNED = "churned"
    UNSEGMENTED = "unsegmented"


@dataclass(frozen=True)
class TierRule:
    min_total_spent: Decimal = Decimal(0)
    min_order_count: int = 0
    min_average_order: Decimal = Decimal(0)
    min_loyalty_points: int = 0

    def requirement(self) -> str:
        parts = [f"totalSpent >= {self.min_total_spent}"]
        if self.min_order_count:
            parts.append(f"orderCount >= {self.min_order_count}")
        if self.min_average_order:
            parts.append(f"averageOrderValue >= {self.min_average_order}")
        if self.min_loyalty_points:
            parts.append(f"loyaltyPoints >= {self.min_loyalty_points}")
        return " and ".join(parts)


TIER_RULES: dict[Tier, TierRule] = {
    Tier.REGULAR: TierRule(),
    Tier.PREMIUM: TierRule(Decimal(1000), 5, Decimal(100)),
    Tier.VIP: TierRule(Decimal(10000), 20, Decimal(200), 5000),
    Tier.ENTERPRISE: TierRule(Decimal(50000), 100, Decimal(500)),
}
TIER_ORDER = [Tier.REGULAR, Tier.PREMIUM, Tier.VIP, Tier.ENTERPRISE]

NEW_CUSTOMER_DAYS = 30
NEW_CUSTOMER_MAX_ORDERS = 2
REGULAR_MIN_ORDERS = 2
REGULAR_MAX_SPENT = Decimal(1000)
HIGH_VALUE_MIN_AVERAGE = Decimal(200)
FREQUENT_BUYER_MIN_ORDERS = 10
FREQUENT_BUYER_WINDOW = timedelta(days=183)  # six months
AT_RISK_DAYS = 90
CHURNED_DAYS = 180


def days_since(moment: datetime | None, now: datetime) -> int | None:
    """Whole days from `moment` to `now`, computed when asked (never a stored snapshot)."""
    return None if moment is None else max((now - moment).days, 0)


@dataclass(frozen=True)
class Metrics:
    """What the segment rules look at. Money is Decimal, rounded to cents."""

    registration_date: datetime
    total_spent: Decimal = Decimal(0)
    order_count: int = 0
    # Points earned less points redeemed and expired, as they arrived: below zero while a redemption has
    # arrived before the points it spent (Dapr delivers out of order). Shown and ruled on as loyalty_points.
    points_balance: int = 0
    last_order_date: datetime | None = None
    # Completion times of orders inside the frequent-buyer window, for its 6-month count.
    recent_orders: tuple[datetime, ...] = ()
    # Orders in currencies other than USD: (currency, orders, total), by currency.
    other_currencies: tuple[tuple[str, int, Decimal], ...] = ()
    # Refunds and cancellations of orders whose completion has not arrived yet (domain/orders.py).
    pending_adjustments: tuple[OrderAdjustment, ...] = ()

    @property
    def loyalty_points(self) -> int:
        """The customer's points: never below zero, whatever order the loyalty events arrived in."""
        return max(self.points_balance, 0)

    @property
    def all_orders(self) -> int:
        """Orders in every currency: what the behavioural rules count."""
        return self.order_count + sum(orders for _, orders, _ in self.other_currencies)

    @property
    def average_order_value(self) -> Decimal:
        if self.order_count == 0:
            return Decimal(0)
        return (self.total_spent / self.order_count).quantize(CENT, ROUND_HALF_UP)

    def last_activity(self) -> datetime:
        return self.last_order_date or self.registration_date

    def days_since_last_order(self, now: datetime) -> int | None:
        return days_since(self.last_order_date, now)

    def orders_in_window(self, now: datetime) -> int:
        return sum(1 for t in self.recent_orders if now - FREQUENT_BUYER_WINDOW < t <= now)

    def with_order(self, order: CompletedOrder, now: datetime) -> Metrics:
        """An order counted once; out-of-order delivery keeps the latest date as the last order."""
        last = max(filter(None, [self.last_order_date, order.completed_at]))
        recent = tuple(sorted(t for t in (*self.recent_orders, order.completed_at) if now - FREQUENT_BUYER_WINDOW < t))
        return replace(self._with_order_spend(order, order.amount, 1), last_order_date=last, recent_orders=recent)

    def with_points(self, points: int) -> Metrics:
        """Earned (points > 0), redeemed or expired (points < 0)."""
        return replace(self, points_balance=self.points_balance + points)

    def _with_spend(self, currency: str, amount: Decimal, orders: int) -> Metrics:
        """`amount` and `orders` added to the totals of `currency` (negative: taken back)."""
        if currency == THRESHOLD_CURRENCY:
            return replace(self, total_spent=max(self.total_spent + amount, Decimal(0)).quantize(CENT),
                           order_count=max(self.order_count + orders, 0))
        totals = {c: (n, t) for c, n, t in self.other_currencies}
        count, total = totals.get(currency, (0, Decimal(0)))
        totals[currency] = (max(count + orders, 0), max(total + amount, Decimal(0)).quantize(CENT))
        return replace(self, other_currencies=tuple((c, n, t) for c, (n, t) in sorted(totals.items()) if n or t))

    def _with_order_spend(self, order: CompletedOrder, amount: Decimal, orders: int) -> Metrics:
        """`amount` of the order's currency and `orders` added where the order counts: in USD at its rate,
        or apart in its currency while that has no rate."""
        if order.counts_in_usd:
            return self._with_spend(THRESHOLD_CURRENCY, order.in_usd(amount), orders)
        return self._with_spend(order.currency, amount, orders)

    def counted_in_usd(self, rate: ExchangeRate) -> Metrics:
        """The orders kept apart in `rate`'s currency, counted in USD at it (their sum converted)."""
        kept = {c: (n, t) for c, n, t in self.other_currencies}
        if rate.currency not in kept:
            return self
        orders, total = kept[rate.currency]
        return replace(self._with_spend(THRESHOLD_CURRENCY, to_usd(total, rate.usd_per_unit), orders),
                       other_currencies=tuple(e for e in self.other_currencies if e[0] != rate.currency))

    def adjusted(self, ledger: OrderLedger, adjustment: OrderAdjustment) -> tuple[Metrics, OrderLedger]:
        """A refund or cancellation applied to a known order: a refund takes back at most what remains of
        the order (nothing if in another currency than the order's); a cancellation takes what remains
        and the order's place in the counts. The order's ledger after it comes back with the metrics."""
        order = ledger.order
        assert order is not None, "an adjustment of an unknown order waits in pending_adjustments"
        if ledger.cancelled:
            return self, ledger
        if adjustment.kind is AdjustmentKind.REFUND:
            taken = min(adjustment.amount, ledger.remaining) if adjustment.currency == order.currency else Decimal(0)
            return self._with_order_spend(order, -taken, 0), ledger.after(adjustment, taken)
        metrics = self._with_order_spend(order, -ledger.remaining, -1)
        recent = list(metrics.recent_orders)
        if order.completed_at in recent:
            recent.remove(order.completed_at)
        return replace(metrics, recent_orders=tuple(recent)), ledger.after(adjustment, ledger.remaining)

    def with_pending(self, adjustment: OrderAdjustment) -> Metrics:
        return replace(self, pending_adjustments=(*self.pending_adjustments, adjustment))

    def settled(self, order: CompletedOrder) -> Metrics:
        """The adjustments that waited for `order`, applied in the order they arrived, and no longer pending."""
        metrics, ledger = self, OrderLedger(order)
        for adjustment in (a for a in self.pending_adjustments if a.order_id == order.order_id):
            metrics, ledger = metrics.adjusted(ledger, adjustment)
        return replace(metrics, pending_adjustments=tuple(
            a for a in self.pending_adjustments if a.order_id != order.order_id))

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "totalSpent": float(self.total_spent),
            "orderCount": self.order_count,
            "averageOrderValue": float(self.average_order_value),
            "lastOrderDate": iso(self.last_order_date),
            "daysSinceLastOrder": self.days_since_last_order(now),
            "lifetimeValue": float(self.total_spent),
            "ordersLast6Months": self.orders_in_window(now),
            "currency": THRESHOLD_CURRENCY,
            "otherCurrencies": {c: {"orderCount": n, "totalSpent": float(t)} for c, n, t in self.other_currencies},
        }


def tier_qualifies(tier: Tier, metrics: Metrics) -> bool:
    rule = TIER_RULES[tier]
    return (metrics.total_spent >= rule.min_total_spent
            and metrics.order_count >= rule.min_order_count
            and metrics.average_order_value >= rule.min_average_order
            and metrics.loyalty_points >= rule.min_loyalty_points)


def tier_for(metrics: Metrics, floor: Tier = Tier.REGULAR) -> Tier:
    earned = next(t for t in reversed(TIER_ORDER) if tier_qualifies(t, metrics))
    return max(earned, floor, key=TIER_ORDER.index)


def segment_for(metrics: Metrics, now: datetime) -> Segment:
    idle = now - metrics.last_activity()
    if idle >= timedelta(days=CHURNED_DAYS):
        return Segment.CHURNED
    if idle >= timedelta(days=AT_RISK_DAYS):
        return Segment.AT_RISK
    if now - metrics.registration_date < timedelta(days=NEW_CUSTOMER_DAYS) \
            and metrics.all_orders < NEW_CUSTOMER_MAX_ORDERS:
        return Segment.NEW_CUSTOMER
    if metrics.order_count and metrics.average_order_value >= HIGH_VALUE_MIN_AVERAGE:
        return Segment.HIGH_VALUE
    if metrics.orders_in_window(now) >= FREQUENT_BUYER_MIN_ORDERS:
        return Segment.FREQUENT_BUYER
    if now - metrics.registration_date >= timedelta(days=NEW_CUSTOMER_DAYS) \
            and metrics.all_orders >= REGULAR_MIN_ORDERS and metrics.total_spent < REGULAR_MAX_SPENT:
        return Segment.REGULAR_CUSTOMER
    return Segment.UNSEGMENTED


def next_boundary(metrics: Metrics, now: datetime) -> datetime | None:
    """The next moment the segment can change with no new event: when the decay reminder is due."""
    candidates: Iterable[datetime] = [
        metrics.registration_date + timedelta(days=NEW_CUSTOMER_DAYS),
        metrics.last_activity() + timedelta(days=AT_RISK_DAYS),
        metrics.last_activity() + timedelta(days=CHURNED_DAYS),
    ]
    in_window = sorted(t for t in metrics.recent_orders if now - FREQUENT_BUYER_WINDOW < t <= now)
    if len(in_window) >= FREQUENT_BUYER_MIN_ORDERS:
        # Frequent buying lapses when the oldest order that keeps the count at 10 leaves the window.
        candidates = [*candidates, in_window[-FREQUENT_BUYER_MIN_ORDERS] + FREQUENT_BUYER_WINDOW]
    future = [t for t in candidates if t > now]
    return min(future) if future else None


def _percent(part: Decimal, whole: Decimal) -> float:
    return float((part * 100 / whole).quantize(CENT, ROUND_HALF_UP))


def next_tier(tier: Tier, metrics: Metrics) -> dict[str, Any] | None:
    """Progress toward the tier above, measured on totalSpent as in the spec's example."""
    position = TIER_ORDER.index(tier)
    if position + 1 == len(TIER_ORDER):
        return None
    target = TIER_ORDER[position + 1]
    rule = TIER_RULES[target]
    remaining = max(rule.min_total_spent - metrics.total_spent, Decimal(0))
    unmet = [
        name for name, met in (
            ("totalSpent", metrics.total_spent >= rule.min_total_spent),
            ("orderCount", metrics.order_count >= rule.min_order_count),
            ("averageOrderValue", metrics.average_order_value >= rule.min_average_order),
            ("loyaltyPoints", metrics.loyalty_points >= rule.min_loyalty_points),
        ) if not met
    ]
    return {
        "tier": target.value,
        "requirement": f"totalSpent >= {rule.min_total_spent}",
        "progress": min(_percent(metrics.total_spent, rule.min_total_spent), 100.0),
        "remaining": float(remaining.quantize(CENT)),
        "allRequirements": rule.requirement(),
        "unmetRequirements": unmet,
    }


# Each qualification's requirement as the spec's example words it (the headline minimum); a tier's
# other minimums are listed beside it as allRequirements.
QUALIFICATIONS: dict[str, str] = {
    "premiumTier": f"totalSpent >= {TIER_RULES[Tier.PREMIUM].min_total_spent}",
    "vipTier": f"totalSpent >= {TIER_RULES[Tier.VIP].min_total_spent}",
    "enterpriseTier": f"totalSpent >= {TIER_RULES[Tier.ENTERPRISE].min_total_spent}",
    "highValueSegment": f"averageOrderValue >= {HIGH_VALUE_MIN_AVERAGE}",
    "frequentBuyerSegment": f"orderCount in last 6 months >= {FREQUENT_BUYER_MIN_ORDERS}",
}


TIER_QUALIFICATIONS = {"premiumTier": Tier.PREMIUM, "vipTier": Tier.VIP, "enterpriseTier": Tier.ENTERPRISE}


def _qualified(name: str, metrics: Metrics, now: datetime) -> bool:
    match name:
        case "premiumTier":
            return tier_qualifies(Tier.PREMIUM, metrics)
        case "vipTier":
            return tier_qualifies(Tier.VIP, metrics)
        case "enterpriseTier":
            return tier_qualifies(Tier.ENTERPRISE, metrics)
        case "highValueSegment":
            return metrics.order_count > 0 and metrics.average_order_value >= HIGH_VALUE_MIN_AVERAGE
        case "frequentBuyerSegment":
            return metrics.orders_in_window(now) >= FREQUENT_BUYER_MIN_ORDERS
    raise KeyError(name)


def qualifications(metrics: Metrics, previous: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Each qualification with the time it was (last) achieved; losing one clears its achievedAt."""
    result = {}
    for name, requirement in QUALIFICATIONS.items():
        qualified = _qualified(name, metrics, now)
        earlier = previous.get(name, {})
        achieved = earlier.get("achievedAt") if earlier.get("qualified") else None
        result[name] = {
            "qualified": qualified,
            "requirement": requirement,
            "achievedAt": (achieved or iso(now)) if qualified else None,
        }
        if name in TIER_QUALIFICATIONS:
            result[name]["allRequirements"] = TIER_RULES[TIER_QUALIFICATIONS[name]].requirement()
    return result


@dataclass(frozen=True)
class Override:
    """An admin's manual segment or tier, with why; it wins over the computed values until cleared."""

    tier: Tier | None
    segment: Segment | None
    reason: str
    set_by: str
    set_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "segment": self.segment, "reason": self.reason, "setBy": self.set_by,
                "setAt": iso(self.set_at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Override:
        set_at = parse_iso(data["setAt"])
        assert set_at is not None
        return cls(Tier(data["tier"]) if data.get("tier") else None,
                   Segment(data["segment"]) if data.get("segment") else None,
                   data["reason"], data["setBy"], set_at)


@dataclass(frozen=True)
class SegmentState:
    """A customer's segmentation as the actor keeps it."""

    metrics: Metrics
    tier: Tier = Tier.REGULAR
    segment: Segment = Segment.NEW_CUSTOMER
    qualifications: dict[str, Any] = field(default_factory=dict)
    override: Override | None = None
    tier_achieved_at: datetime | None = None
    segment_achieved_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def initial(cls, registration_date: datetime, default_tier: Tier = Tier.REGULAR) -> SegmentState:
        metrics = Metrics(registration_date=registration_date)
        return cls(metrics=metrics, tier=default_tier, segment=Segment.NEW_CUSTOMER,
                   qualifications=qualifications(metrics, {}, registration_date),
                   tier_achieved_at=registration_date, segment_achieved_at=registration_date,
                   updated_at=registration_date)

    @property
    def review_at(self) -> datetime | None:
        """The next boundary as of this state's last update: what the record keeps as next_review_at."""
        return next_boundary(self.metrics, self.updated_at or self.metrics.registration_date)

    @property
    def effective_tier(self) -> Tier:
        return self.override.tier if self.override and self.override.tier else self.tier

    @property
    def effective_segment(self) -> Segment:
        return self.override.segment if self.override and self.override.segment else self.segment

    def recomputed(self, metrics: Metrics, now: datetime, tier_floor: Tier = Tier.REGULAR) -> SegmentState:
        tier, segment = tier_for(metrics, tier_floor), segment_for(metrics, now)
        return replace(
            self, metrics=metrics, tier=tier, segment=segment,
            qualifications=qualifications(metrics, self.qualifications, now),
            tier_achieved_at=self.tier_achieved_at if tier == self.tier else now,
            segment_achieved_at=self.segment_achieved_at if segment == self.segment else now,
            updated_at=now,
        )

    def with_override(self, override: Override | None, now: datetime) -> SegmentState:
        return replace(self, override=override, updated_at=now)

    def summary(self) -> dict[str, Any]:
        """The segment part of GET /customers/{id}."""
        return {
            "tier": self.effective_tier.value,
            "segment": self.effective_segment.value,
            "loyaltyPoints": self.metrics.loyalty_points,
            "totalSpent": float(self.metrics.total_spent),
            "orderCount": self.metrics.order_count,
            "averageOrderValue": float(self.metrics.average_order_value),
        }

    def view(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """GET /customers/{id}/segment."""
        return {
            "customerId": customer_id,
            "tier": self.effective_tier.value,
            "segment": self.effective_segment.value,
            "computed": {"tier": self.tier.value, "segment": self.segment.value},
            "override": self.override.to_dict() if self.override else None,
            "loyaltyPoints": self.metrics.loyalty_points,
            "metrics": self.metrics.to_dict(now),
            "qualifications": self.qualifications,
            # From the tier the customer has: under an override, the tier above the admin's.
            "nextTier": next_tier(self.effective_tier, self.metrics),
            "nextReviewAt": iso(next_boundary(self.metrics, now)),
            "updatedAt": iso(self.updated_at),
        }

    def to_state(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "metrics": {
                "registrationDate": iso(m.registration_date), "totalSpent": str(m.total_spent),
                "orderCount": m.order_count, "pointsBalance": m.points_balance,
                "lastOrderDate": iso(m.last_order_date), "recentOrders": [iso(t) for t in m.recent_orders],
                "otherCurrencies": [[c, n, str(t)] for c, n, t in m.other_currencies],
                "pendingAdjustments": [a.to_dict() for a in m.pending_adjustments],
            },
            "tier": self.tier.value,
            "segment": self.segment.value,
            "qualifications": self.qualifications,
            "override": self.override.to_dict() if self.override else None,
            "tierAchievedAt": iso(self.tier_achieved_at),
            "segmentAchievedAt": iso(self.segment_achieved_at),
            "updatedAt": iso(self.updated_at),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SegmentState:
        m = state["metrics"]
        registration = parse_iso(m["registrationDate"])
        assert registration is not None
        metrics = Metrics(
            registration_date=registration, total_spent=Decimal(m["totalSpent"]), order_count=m["orderCount"],
            points_balance=m["pointsBalance"], last_order_date=parse_iso(m.get("lastOrderDate")),
            recent_orders=tuple(t for t in map(parse_iso, m.get("recentOrders", [])) if t is not None),
            other_currencies=tuple((c, int(n), Decimal(t)) for c, n, t in m.get("otherCurrencies", [])),
            pending_adjustments=tuple(OrderAdjustment.from_dict(a) for a in m.get("pendingAdjustments", [])),
        )
        return cls(
            metrics=metrics, tier=Tier(state["tier"]), segment=Segment(state["segment"]),
            qualifications=state.get("qualifications", {}),
            override=Override.from_dict(state["override"]) if state.get("override") else None,
            tier_achieved_at=parse_iso(state.get("tierAchievedAt")),
            segment_achieved_at=parse_iso(state.get("segmentAchievedAt")),
            updated_at=parse_iso(state.get("updatedAt")),
        )
