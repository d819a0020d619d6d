"""Upstream services (Order, Loyalty), called by Dapr service invocation within a time budget.

Each call either answers within the budget or the caller falls back to what this service tracks
itself from events, and the response says which source answered.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class UpstreamClient:
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str, *, timeout_ms: int) -> None:
        self._http = http
        self._dapr_url = dapr_url
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)

    async def get(self, app_id: str, path: str) -> dict[str, Any] | None:
        """The upstream's JSON answer, or None when it is down, slow or wrong."""
        url = f"{self._dapr_url}/v1.0/invoke/{app_id}/method/{path.lstrip('/')}"
        try:
            async with self._http.get(url, timeout=self._timeout) as response:
                if response.status != 200:
                    log.info("%s answered %s with %d", app_id, path, response.status)
                    return None
                body = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.info("%s did not answer %s within budget: %r", app_id, path, exc)
            return None
        return body if isinstance(body, dict) else None
