"""Subscriptions to orders and loyalty events, each routed to the customer's actor.

Outcomes, as Dapr's pub/sub API defines them:
- SUCCESS: applied, or already applied before (a redelivery, a second event for the same order);
- DROP: malformed payload or unknown customer; Dapr moves it to the dead-letter topic;
- RETRY: a transient failure (PostgreSQL or the actor runtime unavailable); Dapr delivers it again.
"""

from __future__ import annotations

import logging
from typing import Any

from dapr.ext.fastapi import DaprApp
from fastapi import FastAPI, Request
from pydantic import ValidationError

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


async def _event_data(request: Request) -> Any:
    body = await request.json()
    # Dapr wraps the producer's JSON in a CloudEvent; raw deliveries carry it as is.
    return body.get("data", body) if isinstance(body, dict) and "specversion" in body else body


async def _apply(request: Request, topic: str, model: type[InboundEvent[Any]], method: str) -> dict[str, str]:
    actors: CustomerActorClient = request.app.state.container.actors
    try:
        event = model.model_validate(await _event_data(request))
    except (ValidationError, ValueError) as exc:
        log.warning("dropping malformed %s event to %s: %s", topic, DEAD_LETTER_TOPIC, exc)
        return DROP
    data = event.data.model_dump(mode="json")
    correlation_id = event.metadata.get("correlationId") or event.eventId
    try:
        result = await actors.call(data["customerId"], method, {
            **data, "eventId": event.eventId, "topic": topic,
            "correlationId": correlation_id,
        })
    except DomainError as exc:
        log.warning("dropping %s event %s to %s: %s (%s)", topic, event.eventId,
                    DEAD_LETTER_TOPIC, exc.message, exc.code.name)
        return DROP
    except ActorUnavailable as exc:
        log.warning("retrying %s event %s later: %s", topic, event.eventId, exc)
        return RETRY
    if result.get("duplicate"):
        log.info("%s event %s already applied; acknowledged", topic, event.eventId)
    return SUCCESS


def register_subscriptions(app: FastAPI, pubsub_name: str) -> None:
    dapr_app = DaprApp(app)

    @dapr_app.subscribe(pubsub=pubsub_name, topic=ORDER_COMPLETED, route="/events/orders/completed",
                        dead_letter_topic=DEAD_LETTER_TOPIC)
    async def order_completed(request: Request) -> dict[str, str]:
        return await _apply(request, ORDER_COMPLETED, OrderCompleted, "apply_order")

    @dapr_app.subscribe(pubsub=pubsub_name, topic=POINTS_EARNED, route="/events/loyalty/points-earned",
                        dead_letter_topic=DEAD_LETTER_TOPIC)
    async def points_earned(request: Request) -> dict[str, str]:
        return await _apply(request, POINTS_EARNED, PointsEarned, "apply_points")
