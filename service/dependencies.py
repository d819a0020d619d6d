"""Upstream services (Order, Loyalty), called by Dapr service invocation within a time budget.

Each call either answers within the budget or the caller falls back to what this service tracks
itself from events, and the response says which source answered.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


class UpstreamClient:
    def __init__(self, http: httpx.AsyncClient, dapr_url: str, *, timeout_ms: int) -> None:
        self._http = http
        self._dapr_url = dapr_url
        self._timeout = timeout_ms / 1000

    async def get(self, app_id: str, path: str) -> dict[str, Any] | None:
        """The upstream's JSON answer, or None when it is down, slow or wrong."""
        url = f"{self._dapr_url}/v1.0/invoke/{app_id}/method/{path.lstrip('/')}"
        try:
            response = await self._http.get(url, timeout=self._timeout)
        except httpx.HTTPError as exc:
            log.info("%s did not answer %s within %.0f ms: %r", app_id, path, self._timeout * 1000, exc)
            return None
        if response.status_code != 200:
            log.info("%s answered %s with %d", app_id, path, response.status_code)
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
