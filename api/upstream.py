"""Upstream services (Order, Loyalty), called by Dapr service invocation within a time budget.

The spec's fallback is "use cached order data": each good answer is kept in Redis per customer
(UPSTREAM_CACHE_TTL), and when the upstream is down, slow or wrong the last good answer is used; only
without one does the caller fall back to what this service tracks itself. The response says which.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from redis.exceptions import RedisError

from domain.clock import iso
from persistence.redis_connection import RedisClient
from persistence.redis_keys import upstream_key
from telemetry import tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamAnswer:
    body: dict[str, Any]
    cached_at: str | None  # None: answered just now


class UpstreamClient:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str, redis: RedisClient, *, timeout_ms: int,
                 cache_ttl: int) -> None:
        self._http = http
        self._dapr_url = dapr_url
        self._redis = redis
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._cache_ttl = cache_ttl

    async def get(self, app_id: str, path: str, *, customer_id: str, now: datetime) -> UpstreamAnswer | None:
        """The upstream's answer, else its last good answer for this customer, else None."""
        key = upstream_key(customer_id, app_id)
        body = await self._ask(app_id, path)
        try:
            if body is not None:
                await self._redis.set(key, json.dumps({"body": body, "cachedAt": iso(now)}), ex=self._cache_ttl)
                return UpstreamAnswer(body, None)
            raw = await self._redis.get(key)
        except RedisError as exc:
            log.warning("upstream cache unavailable: %s", exc)
            return None if body is None else UpstreamAnswer(body, None)
        if raw is None:
            return None
        cached = json.loads(raw)
        return UpstreamAnswer(cached["body"], cached["cachedAt"])

    async def _ask(self, app_id: str, path: str) -> dict[str, Any] | None:
        url = f"{self._dapr_url}/v1.0/invoke/{app_id}/method/{path.lstrip('/')}"
        try:
            with tracing.outgoing_call(f"invoke {app_id}") as trace_headers:
                async with self._http.get(url, timeout=self._timeout, headers=trace_headers) as response:
                    if response.status != 200:
                        log.info("%s answered %s with %d", app_id, path, response.status)
                        return None
                    body = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.info("%s did not answer %s within budget: %r", app_id, path, exc)
            return None
        return body if isinstance(body, dict) else None
