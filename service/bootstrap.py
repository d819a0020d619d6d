"""Wires the adapters once per process; the app's lifespan owns the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from actors.client import CustomerActorClient
from actors.customer_actor import ActorDependencies
from actors.hashing import PasswordHashing
from actors.sidecar import DaprHealth
from actors.turn import TurnDependencies
from api.auth import TokenVerifier
from api.dependencies import ApiPolicy, ApiServices
from api.ratelimit import LoginThrottle, RateLimiter
from api.upstream import UpstreamClient
from persistence.cache import ViewCache
from persistence.exchange_rates import ExchangeRates
from persistence.outbox import Outbox
from persistence.pubsub_streams import PublishedEventCopies
from persistence.read_models import ReadModels
from persistence.redis_connection import RedisClient, connect_redis
from persistence.replica import ReadReplica
from persistence.sessions import SessionStore
from persistence.store import Store
from service.publisher import DaprPublisher
from service.settings import Settings


@dataclass
class Container:
    settings: Settings
    store: Store
    replica: ReadReplica
    redis: RedisClient
    http: aiohttp.ClientSession
    actors: CustomerActorClient
    api: ApiServices
    actor: ActorDependencies
    outbox: Outbox
    publisher: DaprPublisher
    event_copies: PublishedEventCopies

    async def close(self) -> None:
        await self.http.close()
        await self.redis.aclose()
        await self.replica.close()
        await self.store.close()


async def bootstrap(settings: Settings) -> Container:
    verifier = TokenVerifier(algorithm=settings.jwt_algorithm, secret=settings.jwt_secret,
                             public_key=settings.jwt_public_key, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience)
    store = await Store.connect(settings.database_url, max_connections=settings.database_pool_size,
                                source=settings.service_name, pgbouncer=settings.database_pgbouncer,
                                listen_url=settings.database_direct_url)
    replica = await ReadReplica.connect(store, settings.database_read_url,
                                        max_connections=settings.database_pool_size,
                                        max_lag_seconds=settings.database_read_max_lag_seconds)
    redis = connect_redis(settings.redis_url, cluster=settings.redis_cluster,
                          max_connections=settings.redis_max_connections)
    # One pooled client to the local daprd for actor calls, publishing and service invocation.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15, connect=2),
                                 connector=aiohttp.TCPConnector(limit=200),
                                 headers={"dapr-api-token": settings.dapr_api_token} if settings.dapr_api_token else {})
    cache = ViewCache(redis, ttl_profile=settings.redis_ttl_profile, ttl_segment=settings.redis_ttl_segment,
                      ttl_addresses=settings.redis_ttl_addresses,
                      upstream_app_ids=(settings.order_service_app_id, settings.loyalty_service_app_id))
    actors = CustomerActorClient(http, settings.dapr_url)
    sessions = SessionStore(redis, timeout=settings.session_timeout)
    hashing = PasswordHashing(concurrency=settings.password_hash_concurrency,
                              wait_seconds=settings.password_hash_wait_ms / 1000)
    read_models = ReadModels(store, replica)
    exchange_rates = ExchangeRates(store)
    api = ApiServices(
        actors=actors, cache=cache, store=store, read_models=read_models, exchange_rates=exchange_rates,
        sessions=sessions,
        verifier=verifier,
        rate_limiter=RateLimiter(redis, per_minute=settings.rate_limit_per_minute,
                                 service_per_minute=settings.service_rate_limit_per_minute),
        login_throttle=LoginThrottle(redis, max_per_account=settings.login_max_failures,
                                     max_per_client=settings.login_max_attempts_per_client,
                                     window_seconds=settings.login_failure_window),
        reset_throttle=LoginThrottle(redis, max_per_account=settings.password_reset_max_per_account,
                                     max_per_client=settings.password_reset_max_per_caller,
                                     window_seconds=settings.password_reset_window, name="password-resets"),
        hashing=hashing,
        upstream=UpstreamClient(http, settings.dapr_url, redis, timeout_ms=settings.dependency_timeout_ms,
                                cache_ttl=settings.upstream_cache_ttl),
        sidecar=DaprHealth(http, settings.dapr_url),
        policy=ApiPolicy(password_min_length=settings.password_min_length,
                         order_service_app_id=settings.order_service_app_id,
                         loyalty_service_app_id=settings.loyalty_service_app_id, clock=settings.clock,
                         password_reset_token_ttl=timedelta(seconds=settings.password_reset_token_ttl),
                         email_verification_token_ttl=timedelta(seconds=settings.email_verification_token_ttl),
                         password_reset_response_floor=timedelta(
                             milliseconds=settings.password_reset_response_floor_ms)),
    )
    pubsub_redis = redis if settings.pubsub_redis_url is None else connect_redis(
        settings.pubsub_redis_url, cluster=settings.redis_cluster, max_connections=settings.redis_max_connections)
    event_copies = PublishedEventCopies(store, pubsub_redis)
    actor = ActorDependencies(turn=TurnDependencies(records=store, views=cache, sessions=sessions,
                                                    event_copies=event_copies,
                                                    clock=settings.clock),
                              read_models=read_models, hashing=hashing, exchange_rates=exchange_rates,
                              password_min_length=settings.password_min_length, default_tier=settings.default_tier)
    return Container(settings=settings, store=store, replica=replica, redis=redis, http=http, actors=actors, api=api,
                     actor=actor,
                     outbox=Outbox(store), publisher=DaprPublisher(http, settings.dapr_url, settings.pubsub_name),
                     event_copies=event_copies)
