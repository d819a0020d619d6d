"""Customer sessions in Redis, as the spec's `customers:session:{session_id}` with SESSION_TIMEOUT.

Each customer's session ids are also kept in a set, so every session of a customer can be revoked
at once (password change, deactivation, erasure).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from domain.clock import iso
from persistence.cache import session_key


def sessions_of_key(customer_id: str) -> str:
    return f"customers:sessions-of:{customer_id}"


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
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(session_key(session_id), json.dumps(session), ex=self._timeout)
            pipe.sadd(sessions_of_key(customer_id), session_id)
            pipe.expire(sessions_of_key(customer_id), self._timeout)
            await pipe.execute()
        return session

    async def get(self, session_id: str) -> dict[str, Any] | None:
        raw = await self._redis.get(session_key(session_id))
        return None if raw is None else dict(json.loads(raw))

    async def delete(self, session_id: str) -> bool:
        return bool(await self._redis.delete(session_key(session_id)))

    async def revoke_all(self, customer_id: str) -> int:
        """Ends every session of the customer; how many there were."""
        index = sessions_of_key(customer_id)
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in await self._redis.smembers(index)]
        async with self._redis.pipeline(transaction=True) as pipe:
            for session_id in ids:
                pipe.delete(session_key(session_id))
            pipe.delete(index)
            await pipe.execute()
        return len(ids)
