"""Subscriptions to orders and loyalty events, each routed to the customer's actor.

Outcomes, as Dapr's pub/sub API defines them:
- SUCCESS: applied, or already applied before (a redelivery, a second event for the same order);
- DROP: malformed payload or unknown customer; Dapr moves it to the dead-letter topic;
- RETRY: a transient failure (PostgreSQL or the actor runtime unavailable); Dapr delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dapr.ext.fastapi import DaprApp
from fastapi import FastAPI, Request
from pydantic import ValidationError

from actors import messages as m
from actors.client import ActorUnavailable, CustomerActorClient
from domain.errors import DomainError
from subscriptions.events import (
    DEAD_LETTER_TOPIC,
    ORDER_COMPLETED,
    POINTS_EARNED,
    InboundEvent,
    OrderCompleted,
    PointsEarned,
)

log = logging.getLogger(__name__)

SUCCESS = {"status": "SUCCESS"}
RETRY = {"status": "RETRY"}
DROP = {"status": "DROP"}
E = TypeVar("E", bound=InboundEvent[Any])


async def _event_data(request: Request) -> Any:
    body = await request.json()
    # Dapr wraps the producer's JSON in a CloudEvent; raw deliveries carry it as is.
    return body.get("data", body) if isinstance(body, dict) and "specversion" in body else body


def _origin(event: InboundEvent[Any]) -> m.RequestOrigin:
    return m.RequestOrigin(correlation_id=event.metadata.get("correlationId") or event.eventId)


async def _order(actors: CustomerActorClient, event: OrderCompleted) -> m.EventApplied:
    data = event.data
    return await actors.apply_order(data.customerId, m.ApplyOrder(
        event_id=event.eventId, order_id=data.orderId, amount=data.amount, currency=data.currency,
        completed_at=data.completedAt, origin=_origin(event)))


async def _points(actors: CustomerActorClient, event: PointsEarned) -> m.EventApplied:
    data = event.data
    return await actors.apply_points(data.customerId, m.ApplyPoints(
        event_id=event.eventId, points=data.points, reason=data.reason, origin=_origin(event)))


async def _deliver(request: Request, topic: str, model: type[E],
                   apply: Callable[[CustomerActorClient, E], Awaitable[m.EventApplied]],
                   actors: CustomerActorClient) -> dict[str, str]:
    try:
        event = model.model_validate(await _event_data(request))
    except (ValidationError, ValueError) as exc:
        log.warning("dropping malformed %s event to %s: %s", topic, DEAD_LETTER_TOPIC, exc)
        return DROP
    try:
        result = await apply(actors, event)
    except DomainError as exc:
        log.warning("dropping %s event %s to %s: %s (%s)", topic, event.eventId,
                    DEAD_LETTER_TOPIC, exc.message, exc.code.name)
        return DROP
    except ActorUnavailable as exc:
        log.warning("retrying %s event %s later: %s", topic, event.eventId, exc)
        return RETRY
    if result.duplicate:
        log.info("%s event %s already applied; acknowledged", topic, event.eventId)
    return SUCCESS


def register_subscriptions(app: FastAPI, pubsub_name: str, actors: Callable[[], CustomerActorClient]) -> None:
    """`actors` gives the process's actor client, which exists once the app has started."""
    dapr_app = DaprApp(app)

    @dapr_app.subscribe(pubsub=pubsub_name, topic=ORDER_COMPLETED, route="/events/orders/completed",
                        dead_letter_topic=DEAD_LETTER_TOPIC)
    async def order_completed(request: Request) -> dict[str, str]:
        return await _deliver(request, ORDER_COMPLETED, OrderCompleted, _order, actors())

    @dapr_app.subscribe(pubsub=pubsub_name, topic=POINTS_EARNED, route="/events/loyalty/points-earned",
                        dead_letter_topic=DEAD_LETTER_TOPIC)
    async def points_earned(request: Request) -> dict[str, str]:
        return await _deliver(request, POINTS_EARNED, PointsEarned, _points, actors())
