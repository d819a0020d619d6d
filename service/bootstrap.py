"""Wires the adapters once per process; the app's lifespan owns the result."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from actors.client import CustomerActorClient
from actors.customer_actor import ActorDependencies
from api.auth import TokenVerifier
from api.ratelimit import RateLimiter
from api.sessions import SessionStore
from persistence.cache import ViewCache
from persistence.store import Store
from service.dependencies import UpstreamClient
from service.publisher import DaprPublisher
from service.settings import Settings


@dataclass
class Container:
    settings: Settings
    store: Store
    redis: Redis
    http: aiohttp.ClientSession
    cache: ViewCache
    actors: CustomerActorClient
    verifier: TokenVerifier
    rate_limiter: RateLimiter
    sessions: SessionStore
    publisher: DaprPublisher
    upstream: UpstreamClient

    def actor_dependencies(self) -> ActorDependencies:
        return ActorDependencies(store=self.store, cache=self.cache, clock=self.settings.clock,
                                 password_min_length=self.settings.password_min_length,
                                 default_tier=self.settings.default_tier)

    async def close(self) -> None:
        await self.http.close()
        await self.redis.aclose()
        await self.store.close()


async def bootstrap(settings: Settings) -> Container:
    verifier = TokenVerifier(algorithm=settings.jwt_algorithm, secret=settings.jwt_secret,
                             public_key=settings.jwt_public_key, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience)
    store = await Store.connect(settings.database_url, max_connections=settings.database_max_connections)
    redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    # One pooled client to the local daprd for actor calls, publishing and service invocation.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15, connect=2),
                                 connector=aiohttp.TCPConnector(limit=200))
    cache = ViewCache(redis, ttl_profile=settings.redis_ttl_profile, ttl_segment=settings.redis_ttl_segment,
                      ttl_addresses=settings.redis_ttl_addresses)
    return Container(
        settings=settings, store=store, redis=redis, http=http, cache=cache,
        actors=CustomerActorClient(http, settings.dapr_url),
        verifier=verifier,
        rate_limiter=RateLimiter(redis, per_minute=settings.rate_limit_per_minute),
        sessions=SessionStore(redis, timeout=settings.session_timeout),
        publisher=DaprPublisher(http, settings.dapr_url, settings.pubsub_name),
        upstream=UpstreamClient(http, settings.dapr_url, timeout_ms=settings.dependency_timeout_ms),
    )
