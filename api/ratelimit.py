"""Request budgets kept in Redis, so every replica shares them: 1,000 requests a minute per user (sliding
window), and password attempts per account and per client address."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from domain.errors import DomainError, ErrorCode
from persistence.redis_connection import RedisClient
from persistence.redis_keys import rate_limit_key, throttle_key
from telemetry.metrics import LOGIN_LOCKOUTS, RATE_LIMITED

log = logging.getLogger(__name__)


# For each (this minute's key, last minute's key) pair: count the request in this minute (kept two
# minutes, so the next minute can read it), and read last minute's count.
COUNT_SCRIPT = """
local counts = {}
for i = 1, #KEYS, 2 do
  counts[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], 120)
  counts[i + 1] = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
end
return counts
"""


@dataclass(frozen=True)
class Quota:
    """What is left of the tightest budget a request was counted against, as the IETF RateLimit fields
    (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "user";q=1000;w=60` and
    `RateLimit: "user";r=998;t=41` (requests left, seconds until this minute's count stops weighing)."""

    policy: str
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Policy": f'"{self.policy}";q={self.limit};w=60',
                "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset}'}


class RateLimiter:
    """Requests per user per minute, as a sliding window (this minute's count plus the part of the last
    minute's count that still overlaps the window), shared by every replica.

    "Per user": a customer's token is limited as that customer. A service token acting for a customer
    (the customer's id in the path) is limited per customer it acts for, with the same budget, and on
    top of that per service subject with a budget of its own; a service's requests for no particular
    customer count against that service budget only.
    """

    def __init__(self, redis: RedisClient, *, per_minute: int, service_per_minute: int) -> None:
        self._redis = redis
        self._limit = per_minute
        self._service_limit = service_per_minute
        # One round trip and one command for every budget of a request (EVALSHA, loaded once).
        self._count = redis.register_script(COUNT_SCRIPT)

    async def check(self, subject: str, *, is_customer: bool, customer_id: str | None) -> Quota | None:
        """Counts the request against each of its budgets; the tightest one's quota (None if the limiter is
        unavailable), or RATE_LIMITED with Retry-After and the RateLimit fields."""
        budgets: list[tuple[str, str, int]] = []  # (policy, budget, limit), all spent by `subject`
        if is_customer:
            budgets.append(("user", "user", self._limit))
        else:
            if customer_id is not None:
                budgets.append(("customer", f"for:{customer_id}", self._limit))
            budgets.append(("service", "service", self._service_limit))
        now = time.time()
        window, elapsed = int(now // 60), now % 60
        keys = []
        for _, budget, _ in budgets:
            keys += [rate_limit_key(subject, budget, window), rate_limit_key(subject, budget, window - 1)]
        try:
            results = await self._count(keys=keys)
        except RedisError as exc:
            # Failing open: an unavailable limiter must not take the customer API down with it.
            log.warning("rate limiter unavailable, request allowed: %s", exc)
            return None
        reset = max(1, math.ceil(60 - elapsed))
        quotas = []
        for index, (policy, _, limit) in enumerate(budgets):
            current, previous = int(results[index * 2]), int(results[index * 2 + 1] or 0)
            used = previous * (60 - elapsed) / 60 + current
            quota = Quota(policy, limit, max(0, math.floor(limit - used)), reset)
            if used > limit:
                RATE_LIMITED.inc()
                raise DomainError(ErrorCode.RATE_LIMITED, f"more than {limit} requests a minute",
                                  headers={"Retry-After": str(reset), **quota.headers()})
            quotas.append(quota)
        return min(quotas, key=lambda q: q.remaining)


# One attempt on one key: count it, start the window with the first count, and answer the count and the
# seconds left. Atomic, so a key never outlives its window without an expiry.
ATTEMPT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('TTL', KEYS[1])}
"""


class LoginThrottle:
    """Password checks per account and per client address, counted before the password is checked (and,
    as another instance, password reset requests per email address and per calling service).

    Each attempt is counted first (one atomic INCR each); an attempt past a limit is refused without
    checking anything, so however many guesses arrive at once, at most `max_per_account` of them are
    evaluated per window. A correct password clears the account's count. The client address limit
    throttles password spraying: one client guessing across many accounts.
    """

    def __init__(self, redis: RedisClient, *, max_per_account: int, max_per_client: int, window_seconds: int,
                 name: str = "login-attempts") -> None:
        self._redis = redis
        self._name = name
        self._max_per_account = max_per_account
        self._max_per_client = max_per_client
        self._window = window_seconds
        self._attempt = redis.register_script(ATTEMPT_SCRIPT)

    def _key(self, kind: str, value: str) -> str:
        return throttle_key(self._name, kind, hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32])

    async def attempt(self, *, account: str, client: str | None) -> None:
        """Counts one attempt on `account` (an email or customer id) from `client`; refuses past a limit."""
        keys = [(self._key("account", account), self._max_per_account)]
        if client:
            keys.append((self._key("client", client), self._max_per_client))
        try:
            # The account's and the client's counts are in different slots: one script each, at once.
            results = await asyncio.gather(*(self._attempt(keys=[key], args=[self._window]) for key, _ in keys))
        except RedisError as exc:
            log.warning("login throttle unavailable, attempt allowed: %s", exc)
            return
        for (count, ttl), (_, limit) in zip(results, keys, strict=True):
            if count > limit:
                LOGIN_LOCKOUTS.inc()
                raise DomainError(ErrorCode.TOO_MANY_LOGIN_ATTEMPTS, "too many attempts; try again later",
                                  headers={"Retry-After": str(max(int(ttl), 1))})

    async def succeeded(self, *, account: str) -> None:
        try:
            await self._redis.delete(self._key("account", account))
        except RedisError as exc:
            log.warning("login throttle unavailable, count kept: %s", exc)
