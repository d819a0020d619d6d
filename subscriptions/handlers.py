"""Subscriptions to orders and loyalty events, each routed to the customer's actor.

daprd delivers them in batches (Dapr's bulk subscribe): one request carries up to BULK_MAX_MESSAGES
events of a topic, gathered for at most BULK_MAX_AWAIT_MS, and is answered with a status per event. A
request per event cost each event a delivery through daprd and FastAPI on top of its actor call (issue
17, bench/). Each event of a batch is validated and applied on its own, concurrently, so one event's
failure never holds or fails another's. A plain delivery (one event, as daprd sends without bulk
subscribe) is answered as before.

Outcomes, as Dapr's pub/sub API defines them:
- SUCCESS: applied, or already applied before (a redelivery, a second event for the same order), or
  refused (malformed, implausible, unknown customer) and published to the dead-letter topic with
  the reason, so whoever reads that topic knows why;
- RETRY: a transient failure (PostgreSQL, the actor runtime or the dead-letter publish unavailable), or
  an internal error of ours (not the event's fault); Dapr delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI, Request
from pydantic import ValidationError

from actors import interface as methods
from actors import messages as m
from actors.client import ActorCalls, ActorUnavailable
from domain.aggregate import PointsMovement
from domain.clock import Clock, iso
from domain.errors import DomainError, ErrorCode
from domain.orders import AdjustmentKind
from subscriptions.events import (
    DEAD_LETTER_TOPIC,
    ORDER_CANCELLED,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    InboundEvent,
    OrderCancelled,
    OrderCompleted,
    OrderRefunded,
    PointsMoved,
)
from telemetry.metrics import EVENTS_IN

log = logging.getLogger(__name__)

SUCCESS = {"status": "SUCCESS"}
RETRY = {"status": "RETRY"}
BULK_MAX_MESSAGES = 100
BULK_MAX_AWAIT_MS = 40
DELIVERY_PREFIX = "/events/"  # every delivery route; their bodies may hold a batch (api.middleware)
E = TypeVar("E", bound=InboundEvent[Any])


class Publisher(Protocol):
    """Publishes to the pub/sub through daprd (service.publisher.DaprPublisher); raises if it cannot."""

    async def publish(self, topic: str, payload: dict[str, Any], *, event_id: str) -> None: ...


def _reason(exc: ValidationError | DomainError) -> str:
    """Which fields were wrong and why, never their values (they may be personal data)."""
    if isinstance(exc, DomainError):
        return "; ".join([exc.message, *(f"{f.field}: {f.message}" for f in exc.fields)])
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False))


class DeadLetters:
    def __init__(self, publisher: Publisher, clock: Clock, *, source: str) -> None:
        self._publisher = publisher
        self._clock = clock
        self._source = source

    async def refuse(self, topic: str, event: Any, reason: str) -> dict[str, str]:
        event_id = "evt_" + uuid.uuid4().hex
        payload = {"eventId": event_id, "eventType": "EventRefused", "version": "1.0",
                   "timestamp": iso(self._clock.now()), "source": self._source, "topic": topic, "reason": reason,
                   "event": event}
        try:
            await self._publisher.publish(DEAD_LETTER_TOPIC, payload, event_id=event_id)
        except Exception as exc:  # any failure to publish: keep the event, Dapr delivers it again
            log.warning("could not dead-letter a %s event, retrying later: %s", topic, exc)
            EVENTS_IN.labels(topic, "retry").inc()
            return RETRY
        log.warning("refused a %s event to %s: %s", topic, DEAD_LETTER_TOPIC, reason)
        EVENTS_IN.labels(topic, "dead_lettered").inc()
        return SUCCESS


def _event_data(delivered: Any) -> Any:
    # Dapr wraps the producer's JSON in a CloudEvent; raw deliveries carry it as is.
    return delivered.get("data", delivered) if isinstance(delivered, dict) and "specversion" in delivered \
        else delivered


def _origin(event: InboundEvent[Any]) -> m.RequestOrigin:
    return m.RequestOrigin(correlation_id=event.correlation_id)


async def _order(actors: ActorCalls, event: OrderCompleted) -> m.EventApplied:
    data = event.data
    return await actors.call(data.customerId, methods.APPLY_ORDER, m.ApplyOrder(
        event_id=event.eventId, order_id=data.orderId, amount=data.amount, currency=data.currency,
        completed_at=data.completedAt, origin=_origin(event)))


async def _refund(actors: ActorCalls, event: OrderRefunded) -> m.EventApplied:
    data = event.data
    return await actors.call(data.customerId, methods.ADJUST_ORDER, m.AdjustOrder(
        event_id=event.eventId, order_id=data.orderId, kind=AdjustmentKind.REFUND, refund_id=data.refundId,
        amount=data.amount, currency=data.currency, at=data.refundedAt, origin=_origin(event)))


async def _cancellation(actors: ActorCalls, event: OrderCancelled) -> m.EventApplied:
    data = event.data
    return await actors.call(data.customerId, methods.ADJUST_ORDER, m.AdjustOrder(
        event_id=event.eventId, order_id=data.orderId, kind=AdjustmentKind.CANCELLATION, at=data.cancelledAt,
        origin=_origin(event)))


Apply = Callable[[ActorCalls, E], Awaitable[m.EventApplied]]


def _points(movement: PointsMovement) -> Apply[PointsMoved]:
    async def apply(actors: ActorCalls, event: PointsMoved) -> m.EventApplied:
        data = event.data
        return await actors.call(data.customerId, methods.APPLY_POINTS, m.ApplyPoints(
            event_id=event.eventId, points=data.points, movement=movement, reason=data.reason,
            origin=_origin(event)))

    return apply


async def _deliveries(request: Request, topic: str, model: type[E], apply: Apply[E], actors: ActorCalls,
                      dead_letters: DeadLetters) -> dict[str, Any]:
    """A batch's statuses, one per entry id, or one event's status."""
    try:
        body = await request.json()
    except ValueError:
        return await dead_letters.refuse(topic, None, "the body is not JSON")
    if not (isinstance(body, dict) and isinstance(body.get("entries"), list)):
        return await _deliver(_event_data(body), topic, model, apply, actors, dead_letters)
    entries = [e for e in body["entries"] if isinstance(e, dict) and isinstance(e.get("entryId"), str)]
    outcomes = await asyncio.gather(*(_deliver(_event_data(e.get("event")), topic, model, apply, actors, dead_letters)
                                      for e in entries))
    # An entry left unanswered (none is) would count as RETRY for daprd.
    return {"statuses": [{"entryId": e["entryId"], **outcome} for e, outcome in zip(entries, outcomes, strict=True)]}


async def _deliver(raw: Any, topic: str, model: type[E], apply: Apply[E], actors: ActorCalls,
                   dead_letters: DeadLetters) -> dict[str, str]:
    try:
        event = model.model_validate(raw)
    except ValidationError as exc:
        return await dead_letters.refuse(topic, raw, f"malformed: {_reason(exc)}")
    try:
        result = await apply(actors, event)
    except DomainError as exc:
        if exc.code is ErrorCode.INTERNAL_ERROR:
            # Our failure, not the event's: never park it unapplied. A poison event retries every
            # processingTimeout, logged each time, until fixed.
            log.error("retrying %s event %s after an internal error in its actor", topic, event.eventId)
            EVENTS_IN.labels(topic, "retry").inc()
            return RETRY
        return await dead_letters.refuse(topic, raw, f"{exc.code.name}: {_reason(exc)}")
    except ActorUnavailable as exc:
        log.warning("retrying %s event %s later: %s", topic, event.eventId, exc)
        EVENTS_IN.labels(topic, "retry").inc()
        return RETRY
    except Exception:  # one event's failure is its own: never the batch's
        log.exception("retrying %s event %s after an unexpected failure", topic, event.eventId)
        EVENTS_IN.labels(topic, "retry").inc()
        return RETRY
    if result.duplicate:
        log.info("%s event %s already applied; acknowledged", topic, event.eventId)
    EVENTS_IN.labels(topic, "duplicate" if result.duplicate else "applied").inc()
    return SUCCESS


def register_subscriptions(app: FastAPI, pubsub_name: str, actors: Callable[[], ActorCalls],
                           dead_letters: Callable[[], DeadLetters]) -> None:
    """The routes daprd delivers to, and /dapr/subscribe, where daprd reads the subscriptions (the SDK's
    DaprApp cannot declare bulk subscribe). `actors` and `dead_letters` give the process's adapters,
    which exist once the app has started.

    No Dapr dead-letter topic on these subscriptions: daprd gives a delivery up when the pub/sub's
    processingTimeout ends its retries (an outage longer than that, 15 s), and with a dead-letter topic
    it would move the event there and acknowledge it, unapplied (bench.faults found two orders lost that
    way in a 10 s PostgreSQL outage). Without one, Redis delivers it again. What this service refuses
    for good, it dead-letters itself, with the reason (`DeadLetters`)."""
    subscriptions: list[dict[str, Any]] = []

    def subscribe(topic: str, route: str, model: type[E], apply: Apply[E]) -> None:
        async def deliver(request: Request) -> dict[str, Any]:
            return await _deliveries(request, topic, model, apply, actors(), dead_letters())

        app.add_api_route(route, deliver, methods=["POST"], include_in_schema=False)
        subscriptions.append({"pubsubname": pubsub_name, "topic": topic, "route": route, "metadata": {},
                              "bulkSubscribe": {"enabled": True, "maxMessagesCount": BULK_MAX_MESSAGES,
                                                "maxAwaitDurationMs": BULK_MAX_AWAIT_MS}})

    subscribe(ORDER_COMPLETED, f"{DELIVERY_PREFIX}orders/completed", OrderCompleted, _order)
    subscribe(ORDER_REFUNDED, f"{DELIVERY_PREFIX}orders/refunded", OrderRefunded, _refund)
    subscribe(ORDER_CANCELLED, f"{DELIVERY_PREFIX}orders/cancelled", OrderCancelled, _cancellation)
    for movement in PointsMovement:  # loyalty/points-earned, -redeemed, -expired
        subscribe(movement.topic, f"{DELIVERY_PREFIX}loyalty/{movement.value.replace('_', '-')}", PointsMoved,
                  _points(movement))

    async def dapr_subscriptions() -> list[dict[str, Any]]:
        return subscriptions

    app.add_api_route("/dapr/subscribe", dapr_subscriptions, methods=["GET"], include_in_schema=False)
