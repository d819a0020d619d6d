"""Customer sessions in Redis, as the spec's `customers:session:{session_id}` with SESSION_TIMEOUT.

Each customer's session ids are also kept in a set, so every session of a customer can be revoked
at once (password change, deactivation, erasure). A session's key and its customer's set are in different
hash slots (persistence/redis_keys.py), so opening a session is two steps: the id goes into the set
before the session is written, and a failure between the two leaves an id without a session (harmless),
never a session its customer's revocation cannot find.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.clock import iso
from persistence.redis_connection import RedisClient
from persistence.redis_keys import session_key, sessions_of_key


class SessionStore:
    def __init__(self, redis: RedisClient, *, timeout: int) -> None:
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
            pipe.sadd(sessions_of_key(customer_id), session_id)
            pipe.expire(sessions_of_key(customer_id), self._timeout)
            await pipe.execute()
        await self._redis.set(session_key(session_id), json.dumps(session), ex=self._timeout)
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
        if ids:
            # One DEL per session (each in a slot of its own) in one round trip; the set only once they
            # are gone, so a failure leaves it to find them again.
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id in ids:
                    pipe.delete(session_key(session_id))
                await pipe.execute()
        await self._redis.delete(index)
        return len(ids)
