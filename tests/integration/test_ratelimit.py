"""The rate limiter against a real Redis: requests are counted by its script, per user, per customer a
service acts for and per service, and refused past the limit with Retry-After and the RateLimit fields."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from api.ratelimit import Quota, RateLimiter
from domain.errors import DomainError, ErrorCode
from domain.ids import new_customer_id
from persistence.redis_connection import connect_redis

PER_USER = 3
PER_SERVICE = 5


@pytest.fixture
async def limiter(redis_url: str, redis_cluster: bool) -> AsyncIterator[RateLimiter]:
    # Counting across a minute's boundary weighs last minute's count by what is left of the window:
    # start where the whole test fits in one minute, so every figure below is exact.
    if time.time() % 60 > 55:
        await asyncio.sleep(61 - time.time() % 60)
    redis = connect_redis(redis_url, cluster=redis_cluster, max_connections=8)
    yield RateLimiter(redis, per_minute=PER_USER, service_per_minute=PER_SERVICE)
    await redis.aclose()


async def test_a_customer_token_is_counted_as_that_user(limiter: RateLimiter) -> None:
    subject = new_customer_id()
    left = [await limiter.check(subject, is_customer=True, customer_id=subject) for _ in range(PER_USER)]
    assert [(q.policy, q.limit, q.remaining) for q in left if q] == [("user", 3, 2), ("user", 3, 1), ("user", 3, 0)]
    with pytest.raises(DomainError) as refused:
        await limiter.check(subject, is_customer=True, customer_id=subject)
    assert refused.value.code is ErrorCode.RATE_LIMITED
    headers = refused.value.headers
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["RateLimit-Policy"] == '"user";q=3;w=60'
    assert headers["RateLimit"] == f'"user";r=0;t={headers["Retry-After"]}'


async def test_a_service_is_counted_per_customer_it_acts_for_and_across_them(limiter: RateLimiter) -> None:
    subject = f"svc:limited-{uuid.uuid4().hex[:8]}"
    first, second, third = new_customer_id(), new_customer_id(), new_customer_id()
    for expected in (2, 1, 0):
        quota = await limiter.check(subject, is_customer=False, customer_id=first)
        assert quota is not None
        assert (quota.policy, quota.remaining) == ("customer", expected)
    with pytest.raises(DomainError) as per_customer:
        await limiter.check(subject, is_customer=False, customer_id=first)
    assert per_customer.value.headers["RateLimit-Policy"] == '"customer";q=3;w=60'
    # Four requests counted against the service's own budget of five: another customer's budget is
    # fresh, and the service budget is now the tighter one.
    quota = await limiter.check(subject, is_customer=False, customer_id=second)
    assert quota is not None
    assert quota == Quota("service", PER_SERVICE, 0, quota.reset)
    with pytest.raises(DomainError) as per_service:
        await limiter.check(subject, is_customer=False, customer_id=third)
    assert per_service.value.headers["RateLimit-Policy"] == '"service";q=5;w=60'
