"""Deliveries from daprd, in process: a bulk delivery is answered with a status per entry, each event
decided on its own (one event's failure is never another's); a plain delivery as one status; and the
subscriptions daprd reads declare bulk delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

import httpx
from fastapi import FastAPI

from actors import messages as m
from actors.client import ActorCalls, ActorUnavailable
from actors.interface import APPLY_ORDER, ActorMethod
from domain.clock import Clock
from domain.ids import new_customer_id
from subscriptions.handlers import BULK_MAX_MESSAGES, DeadLetters, register_subscriptions

UNAVAILABLE = new_customer_id()  # its actor does not answer


class Actors:
    def __init__(self) -> None:
        self.applied: list[str] = []

    async def call(self, customer_id: str, method: ActorMethod[m.ApplyOrder, m.EventApplied],
                   request: m.ApplyOrder) -> m.EventApplied:
        assert method is APPLY_ORDER
        if customer_id == UNAVAILABLE:
            raise ActorUnavailable("daprd did not answer")
        self.applied.append(request.event_id)
        return m.EventApplied(duplicate=False)


class Publisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, topic: str, payload: dict[str, Any], *, event_id: str) -> None:
        self.published.append((topic, payload))


def order(customer_id: str, event_id: str | None = None) -> dict[str, Any]:
    """An order as daprd delivers it: the producer's envelope as a CloudEvent's data."""
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "data": {
        "eventId": event_id or f"evt_{uuid.uuid4().hex}", "data": {
            "orderId": f"ord_{uuid.uuid4().hex[:8]}", "customerId": customer_id, "amount": "12.50",
            "currency": "USD", "completedAt": datetime.now(UTC).isoformat()}}}


def app_with(actors: Actors, publisher: Publisher) -> FastAPI:
    app = FastAPI()
    dead_letters = DeadLetters(publisher, Clock(), source="customer-service")
    register_subscriptions(app, "pubsub", actors=lambda: cast(ActorCalls, actors),
                           dead_letters=lambda: dead_letters)
    return app


async def post(app: FastAPI, path: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        return await client.post(path, json=body)


async def test_a_bulk_delivery_is_answered_entry_by_entry() -> None:
    actors, publisher = Actors(), Publisher()
    good = order(new_customer_id(), event_id="evt_good")
    malformed = {"specversion": "1.0", "data": {"eventId": "evt_bad", "data": {"customerId": "nobody"}}}
    response = await post(app_with(actors, publisher), "/events/orders/completed", {
        "id": "b1", "topic": "orders.order.completed", "pubsubname": "pubsub", "type": "com.dapr.event.sent.bulk",
        "entries": [{"entryId": "1", "event": good, "contentType": "application/cloudevents+json", "metadata": {}},
                    {"entryId": "2", "event": malformed, "metadata": {}},
                    {"entryId": "3", "event": order(UNAVAILABLE), "metadata": {}}]})
    assert response.status_code == 200
    assert response.json() == {"statuses": [{"entryId": "1", "status": "SUCCESS"},
                                            {"entryId": "2", "status": "SUCCESS"},  # refused for good, with why
                                            {"entryId": "3", "status": "RETRY"}]}
    assert actors.applied == ["evt_good"]
    [(topic, refused)] = publisher.published
    assert topic == "customers.deadletter"
    assert refused["event"] == malformed["data"]
    assert "data.orderId" in refused["reason"]
    assert "nobody" not in refused["reason"]  # fields and rules, never values


async def test_a_plain_delivery_is_answered_with_one_status() -> None:
    actors = Actors()
    response = await post(app_with(actors, Publisher()), "/events/orders/completed", order(new_customer_id(), "evt_1"))
    assert response.json() == {"status": "SUCCESS"}
    assert actors.applied == ["evt_1"]


async def test_the_subscriptions_declare_bulk_delivery() -> None:
    app = app_with(Actors(), Publisher())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        declared = (await client.get("/dapr/subscribe")).json()
    assert [(s["topic"], s["route"]) for s in declared] == [
        ("orders.order.completed", "/events/orders/completed"),
        ("orders.order.refunded", "/events/orders/refunded"),
        ("orders.order.cancelled", "/events/orders/cancelled"),
        ("loyalty.points.earned", "/events/loyalty/points-earned"),
        ("loyalty.points.redeemed", "/events/loyalty/points-redeemed"),
        ("loyalty.points.expired", "/events/loyalty/points-expired")]
    assert all(s["bulkSubscribe"]["enabled"] and s["bulkSubscribe"]["maxMessagesCount"] == BULK_MAX_MESSAGES
               and "deadLetterTopic" not in s for s in declared)
