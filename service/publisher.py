"""Publishes to the Dapr pub/sub through daprd's HTTP API."""

from __future__ import annotations

import json
from typing import Any

import httpx


class PublishFailed(Exception):
    pass


class DaprPublisher:
    def __init__(self, http: httpx.AsyncClient, dapr_url: str, pubsub_name: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/publish/{pubsub_name}"

    async def publish(self, topic: str, payload: dict[str, Any], *, event_id: str) -> None:
        try:
            response = await self._http.post(
                f"{self._base}/{topic}",
                content=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
                # The CloudEvent id is our eventId, so subscribers can de-duplicate on either.
                params={"metadata.cloudevent.id": event_id},
            )
        except httpx.HTTPError as exc:
            raise PublishFailed(f"daprd did not answer: {exc!r}") from exc
        if response.status_code != 204:
            raise PublishFailed(f"publish to {topic} failed with {response.status_code}: {response.text[:300]}")
