"""1,000 requests a minute per user, counted in Redis so every replica shares one budget."""

from __future__ import annotations

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
