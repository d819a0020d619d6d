"""The service's own calls to its daprd over the service's pooled aiohttp session: the actor runtime's
(state reads and transactions, reminders, timers), and daprd's readiness for them.

The SDK's default `DaprActorHttpClient` opens a new aiohttp session, and so a new TCP connection to
daprd, for every call: every committed change paid a connect and left a TIME-WAIT socket behind, and
py-spy showed the connect code in the write path's profile (bench/, README "Performance"). This client
speaks the same daprd HTTP API through the session the rest of the service uses.
"""

from __future__ import annotations

import aiohttp
from dapr.clients.base import DaprActorClientBase
from dapr.clients.exceptions import DaprInternalError

from actors.client import JSON
from telemetry import tracing


class PooledActorSidecar(DaprActorClientBase):
    def __init__(self, http: aiohttp.ClientSession, dapr_url: str) -> None:
        self._http = http
        self._base = f"{dapr_url}/v1.0/actors"

    async def _send(self, method: str, path: str, data: bytes | None = None) -> bytes:
        # In the trace of the turn being served, so daprd's state and reminder spans join it.
        async with self._http.request(method, f"{self._base}/{path}", data=data,
                                      headers={**JSON, **tracing.context_headers()}) as response:
            body = await response.read()
            if not 200 <= response.status < 300:
                raise DaprInternalError(f"daprd answered {response.status} to {method} actors/{path}: "
                                        f"{body[:300]!r}")
            return body

    async def invoke_method(self, actor_type: str, actor_id: str, method: str, data: bytes | None = None) -> bytes:
        return await self._send("POST", f"{actor_type}/{actor_id}/method/{method}", data)

    async def save_state_transactionally(self, actor_type: str, actor_id: str, data: bytes) -> None:
        await self._send("PUT", f"{actor_type}/{actor_id}/state", data)

    async def get_state(self, actor_type: str, actor_id: str, name: str) -> bytes:
        return await self._send("GET", f"{actor_type}/{actor_id}/state/{name}")

    async def register_reminder(self, actor_type: str, actor_id: str, name: str, data: bytes) -> None:
        await self._send("PUT", f"{actor_type}/{actor_id}/reminders/{name}", data)

    async def unregister_reminder(self, actor_type: str, actor_id: str, name: str) -> None:
        await self._send("DELETE", f"{actor_type}/{actor_id}/reminders/{name}")

    async def register_timer(self, actor_type: str, actor_id: str, name: str, data: bytes) -> None:
        await self._send("PUT", f"{actor_type}/{actor_id}/timers/{name}", data)

    async def unregister_timer(self, actor_type: str, actor_id: str, name: str) -> None:
        await self._send("DELETE", f"{actor_type}/{actor_id}/timers/{name}")


class DaprHealth:
    """Whether daprd can serve the app's calls: its outbound health (components loaded, placement and
    the actor runtime ready), which does not wait for the app, so readiness has no cycle with daprd's
    own probe of the app."""

    def __init__(self, http: aiohttp.ClientSession, dapr_url: str) -> None:
        self._http = http
        self._url = f"{dapr_url}/v1.0/healthz/outbound"

    async def ready(self) -> bool:
        try:
            async with self._http.get(self._url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False
