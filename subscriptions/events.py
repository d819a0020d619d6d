"""The inbound events this service accepts, as typed payloads.

Producers publish the platform envelope (`eventId`, `eventType`, `data`, ...) on Dapr pub/sub, which
delivers it as the CloudEvent's `data`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

from domain.aggregate import (
    MAX_ORDER_AMOUNT,
    MAX_POINTS_PER_EVENT,
    ORDER_ADJUSTMENT_TOPICS,
    ORDER_COMPLETED_TOPIC,
)
from domain.ids import customer_uuid
from domain.orders import AdjustmentKind

ORDER_COMPLETED = ORDER_COMPLETED_TOPIC
ORDER_REFUNDED = ORDER_ADJUSTMENT_TOPICS[AdjustmentKind.REFUND]
ORDER_CANCELLED = ORDER_ADJUSTMENT_TOPICS[AdjustmentKind.CANCELLATION]
DEAD_LETTER_TOPIC = "customers.deadletter"


def _customer_id(value: str) -> str:
    if customer_uuid(value) is None:
        raise ValueError("must be a customer id (cust_ followed by 32 hex digits)")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone")
    return value


CustomerIdField = Annotated[str, AfterValidator(_customer_id)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


D = TypeVar("D", bound=Payload)


# Producers' ids: printable, no spaces or control characters (they end up in PostgreSQL and logs).
ID_PATTERN = r"^[A-Za-z0-9._:-]+$"


Amount = Annotated[Decimal, Field(ge=0, le=MAX_ORDER_AMOUNT, max_digits=12, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Moment = Annotated[datetime, AfterValidator(_aware)]
ProducerId = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]


class OrderCompletedData(Payload):
    orderId: ProducerId
    customerId: CustomerIdField
    amount: Amount
    currency: Currency
    completedAt: Moment


class OrderRefundedData(Payload):
    """A refund of part or all of a completed order, once per refundId."""

    orderId: ProducerId
    customerId: CustomerIdField
    refundId: ProducerId
    amount: Amount
    currency: Currency
    refundedAt: Moment


class OrderCancelledData(Payload):
    """A completed order cancelled: it no longer counts (domain/orders.py)."""

    orderId: ProducerId
    customerId: CustomerIdField
    cancelledAt: Moment


class PointsData(Payload):
    """Points earned, redeemed or expired (the topic says which): always a positive count."""

    customerId: CustomerIdField
    points: int = Field(ge=0, le=MAX_POINTS_PER_EVENT)
    reason: str | None = Field(None, max_length=200, pattern=r"^[^\x00]*$")


class InboundEvent(Payload, Generic[D]):
    eventId: ProducerId
    data: D
    # The producer's own business: any JSON (an event whose metadata held a number was dead-lettered as
    # malformed). Only a correlationId that looks like an id is read from it.
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def correlation_id(self) -> str:
        given = self.metadata.get("correlationId")
        if isinstance(given, str) and len(given) <= 100 and re.fullmatch(ID_PATTERN, given):
            return given
        return self.eventId


OrderCompleted = InboundEvent[OrderCompletedData]
OrderRefunded = InboundEvent[OrderRefundedData]
OrderCancelled = InboundEvent[OrderCancelledData]
PointsMoved = InboundEvent[PointsData]
