"""Publishes to the Dapr pub/sub through daprd's HTTP API."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from actors.client import JSON
from telemetry import tracing


class PublishFailed(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def permanent(self) -> bool:
        """daprd refused the event itself (not allowed, malformed): sending it again will not help."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)


class DaprPublisher:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str, pubsub_name: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/publish/{pubsub_name}"

    async def publish(self, topic: str, payload: dict[str, Any], *, event_id: str,
                      traceparent: str | None = None) -> None:
        """Publishes in the trace `traceparent` (the change's): daprd writes its context into the CloudEvent."""
        try:
            # The CloudEvent id is our eventId, so subscribers can de-duplicate on either.
            with tracing.publishing(topic, traceparent) as trace_headers:
                async with self._http.post(f"{self._base}/{topic}", data=json.dumps(payload).encode(),
                                           headers={**JSON, **trace_headers},
                                           params={"metadata.cloudevent.id": event_id}) as response:
                    status, text = response.status, await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise PublishFailed(f"daprd did not answer: {exc!r}") from exc
        if status != 204:
            raise PublishFailed(f"publish to {topic} failed with {status}: {text[:300]}", status=status)
