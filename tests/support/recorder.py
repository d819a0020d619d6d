"""A second Dapr app for e2e tests: records every event the customer service publishes, as a
downstream subscriber would receive it through its own daprd."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from domain.events import PUBLISHED_TOPICS
from subscriptions.events import DEAD_LETTER_TOPIC

app = FastAPI()
received: list[dict[str, Any]] = []
TOPICS = (*PUBLISHED_TOPICS, DEAD_LETTER_TOPIC)


def _route(topic: str) -> str:
    return "/events/" + topic.replace(".", "-")


@app.get("/dapr/subscribe")
async def subscriptions() -> list[dict[str, str]]:
    return [{"pubsubname": "pubsub", "topic": topic, "route": _route(topic)} for topic in TOPICS]


for _topic in TOPICS:
    async def _record(request: Request, topic: str = _topic) -> dict[str, str]:
        received.append({"topic": topic, "cloudEvent": await request.json()})
        return {"status": "SUCCESS"}

    app.add_api_route(_route(_topic), _record, methods=["POST"])


@app.get("/received")
async def list_received() -> list[dict[str, Any]]:
    return received


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
