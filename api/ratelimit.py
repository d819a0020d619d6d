"""Request budgets kept in Redis, so every replica shares them: 1,000 requests a minute per user, and
failed logins per account."""

from __future__ import annotations

import hashlib
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from domain.errors import DomainError, ErrorCode

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, redis: Redis, *, per_minute: int) -> None:
        self._redis = redis
        self._limit = per_minute

    async def check(self, subject: str) -> None:
        now = time.time()
        window = int(now // 60)
        key = f"customers:ratelimit:{subject}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 61)
                count, _ = await pipe.execute()
        except RedisError as exc:
            # Failing open: an unavailable limiter must not take the customer API down with it.
            log.warning("rate limiter unavailable, request allowed: %s", exc)
            return
        if count > self._limit:
            retry_after = max(1, int(60 - now % 60))
            raise DomainError(ErrorCode.RATE_LIMITED, f"more than {self._limit} requests a minute",
                              headers={"Retry-After": str(retry_after)})


class LoginThrottle:
    """Failed password checks per email address; past the limit, logins wait out the window."""

    def __init__(self, redis: Redis, *, max_failures: int, window_seconds: int) -> None:
        self._redis = redis
        self._max_failures = max_failures
        self._window = window_seconds

    @staticmethod
    def _key(email: str) -> str:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return f"customers:login-failures:{digest}"

    async def check(self, email: str) -> None:
        key = self._key(email)
        try:
            failures = int(await self._redis.get(key) or 0)
            if failures < self._max_failures:
                return
            ttl = await self._redis.ttl(key)
        except RedisError as exc:
            log.warning("login throttle unavailable, attempt allowed: %s", exc)
            return
        raise DomainError(ErrorCode.TOO_MANY_LOGIN_ATTEMPTS, "too many failed attempts; try again later",
                          headers={"Retry-After": str(max(ttl, 1))})

    async def failed(self, email: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(email))
            pipe.expire(self._key(email), self._window)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._key(email))
