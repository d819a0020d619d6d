"""Orders as this service counts them: completed, refunded in part or whole, cancelled.

An order counts once, when its completion arrives: its amount toward the spend in its currency, and one
order toward the counts (orderCount, the 6-month window, the behavioural rules). A refund gives back part
of what the order added to the spend; the order still happened, so the counts keep it. A cancellation takes
the order out: what remains of its amount after its refunds, and its place in the counts. Neither moves the
last order date: the customer did order then, and inactivity (at_risk, churned) is about what a customer
does, not what it ends up paying.

Money: the spec's thresholds are in USD. An order in another currency counts in USD at the rate an admin
set for its currency (`ExchangeRate`), the rate in force when it is counted, never revalued afterwards: a
customer's tier does not swing with the currency markets. An order whose currency has no rate yet is kept
apart, per currency (`Metrics.other_currencies`), and counted once a rate arrives (the maintenance sweep
calls its customer's actor); its refunds and cancellation follow it, at its rate.

Dapr delivers out of order, so a refund or a cancellation can arrive before the completion it adjusts. It
is kept pending on the customer and applied when the completion arrives, so every delivery order of the same
events gives the same totals (tests/unit/test_orders.py). At most MAX_PENDING_ADJUSTMENTS wait per customer:
beyond that an adjustment is refused (dead-lettered with the reason), as a producer bug rather than a race.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from domain.clock import iso, parse_iso

CENT = Decimal("0.01")
THRESHOLD_CURRENCY = "USD"
MAX_PENDING_ADJUSTMENTS = 50
CANCELLATION_ID = "cancellation"  # a cancellation's adjustment id: one per order, so a second is a duplicate


class AdjustmentKind(StrEnum):
    REFUND = "refund"
    CANCELLATION = "cancellation"


def to_usd(amount: Decimal, usd_per_unit: Decimal) -> Decimal:
    return (amount * usd_per_unit).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class ExchangeRate:
    """What one unit of `currency` is worth in USD, as an admin set it, and the date the rate is of."""

    currency: str
    usd_per_unit: Decimal
    effective_date: date


@dataclass(frozen=True)
class CompletedOrder:
    order_id: str
    amount: Decimal
    currency: str
    completed_at: datetime
    usd_rate: Decimal | None = None  # the rate it was counted at; None: USD, or no rate yet

    @property
    def counts_in_usd(self) -> bool:
        return self.currency == THRESHOLD_CURRENCY or self.usd_rate is not None

    def in_usd(self, amount: Decimal) -> Decimal:
        """`amount` of the order's currency in USD at the order's rate."""
        return amount if self.usd_rate is None else to_usd(amount, self.usd_rate)

    def counted_at(self, rates: dict[str, ExchangeRate]) -> CompletedOrder:
        """The order with the rate it counts at now, if its currency has one."""
        rate = rates.get(self.currency)
        if self.currency == THRESHOLD_CURRENCY or rate is None:
            return self
        return replace(self, usd_rate=rate.usd_per_unit)


@dataclass(frozen=True)
class OrderAdjustment:
    """A refund (its id, amount and currency) or the cancellation of an order."""

    order_id: str
    adjustment_id: str
    kind: AdjustmentKind
    amount: Decimal
    currency: str | None
    at: datetime

    @classmethod
    def refund(cls, *, order_id: str, refund_id: str, amount: Decimal, currency: str,
               at: datetime) -> OrderAdjustment:
        return cls(order_id, refund_id, AdjustmentKind.REFUND, amount, currency, at)

    @classmethod
    def cancellation(cls, *, order_id: str, at: datetime) -> OrderAdjustment:
        return cls(order_id, CANCELLATION_ID, AdjustmentKind.CANCELLATION, Decimal(0), None, at)

    def to_dict(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "adjustmentId": self.adjustment_id, "kind": self.kind.value,
                "amount": str(self.amount), "currency": self.currency, "at": iso(self.at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderAdjustment:
        at = parse_iso(data["at"])
        assert at is not None
        return cls(data["orderId"], data["adjustmentId"], AdjustmentKind(data["kind"]), Decimal(data["amount"]),
                   data.get("currency"), at)


@dataclass(frozen=True)
class OrderLedger:
    """One order as the record holds it: its completion (None until it arrives), what its refunds took,
    whether it was cancelled."""

    order: CompletedOrder | None
    refunded: Decimal = Decimal(0)
    cancelled: bool = False

    @property
    def remaining(self) -> Decimal:
        """What the order still adds to the spend."""
        if self.order is None or self.cancelled:
            return Decimal(0)
        return max(self.order.amount - self.refunded, Decimal(0))

    def after(self, adjustment: OrderAdjustment, taken: Decimal) -> OrderLedger:
        if adjustment.kind is AdjustmentKind.CANCELLATION:
            return replace(self, cancelled=True)
        return replace(self, refunded=self.refunded + taken)
