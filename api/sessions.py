"""Customer sessions in Redis, as the spec's `customers:session:{session_id}` with SESSION_TIMEOUT."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from domain.clock import iso
from persistence.cache import session_key


class SessionStore:
    def __init__(self, redis: Redis, *, timeout: int) -> None:
        self._redis = redis
        self._timeout = timeout

    async def create(self, *, customer_id: str, ip_address: str | None, user_agent: str | None) -> dict[str, Any]:
        session_id = "sess_" + secrets.token_urlsafe(24)
        now = datetime.now(UTC)
        session = {
            "sessionId": session_id, "customerId": customer_id, "createdAt": iso(now),
            "expiresAt": iso(now + timedelta(seconds=self._timeout)),
            "ipAddress": ip_address, "userAgent": user_agent,
        }
        await self._redis.set(session_key(session_id), json.dumps(session), ex=self._timeout)
        return session

    async def get(self, session_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(session_key(session_id))
        return None if raw is None else dict(json.loads(raw))

    async def delete(self, session_id: str) -> bool:
        return bool(await self._redis.delete(session_key(session_id)))
