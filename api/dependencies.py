"""What routes use, as `Annotated` dependencies: a route's signature says what it touches.

The composition root (`service.bootstrap`) builds one `ApiServices` per process and puts it on
`app.state.services`; nothing in `api/` imports the layer above it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request

from actors.client import ActorCalls
from actors.hashing import PasswordHashing
from actors.messages import RequestOrigin
from actors.sidecar import DaprHealth
from api.auth import TokenVerifier
from api.ratelimit import LoginThrottle, RateLimiter
from api.upstream import UpstreamClient
from domain.clock import Clock
from domain.errors import invalid
from persistence.cache import ViewCache
from persistence.exchange_rates import ExchangeRates
from persistence.read_models import ReadModels
from persistence.sessions import SessionStore
from persistence.store import Store


@dataclass(frozen=True)
class ApiPolicy:
    password_min_length: int
    order_service_app_id: str
    loyalty_service_app_id: str
    clock: Clock
    password_reset_token_ttl: timedelta
    email_verification_token_ttl: timedelta
    password_reset_response_floor: timedelta


@dataclass(frozen=True)
class ApiServices:
    actors: ActorCalls
    cache: ViewCache
    store: Store
    read_models: ReadModels
    exchange_rates: ExchangeRates
    sessions: SessionStore
    verifier: TokenVerifier
    rate_limiter: RateLimiter
    login_throttle: LoginThrottle
    reset_throttle: LoginThrottle
    hashing: PasswordHashing
    upstream: UpstreamClient
    sidecar: DaprHealth
    policy: ApiPolicy


# Dependencies are `async def` so FastAPI runs them on the event loop, not in its thread pool.
async def services(request: Request) -> ApiServices:
    value: ApiServices = request.app.state.services
    return value


Services = Annotated[ApiServices, Depends(services)]


def _part(name: str) -> Callable[[ApiServices], Awaitable[Any]]:
    async def part(s: Services) -> Any:
        return getattr(s, name)

    return part


Actors = Annotated[ActorCalls, Depends(_part("actors"))]
Cache = Annotated[ViewCache, Depends(_part("cache"))]
Records = Annotated[Store, Depends(_part("store"))]
Reads = Annotated[ReadModels, Depends(_part("read_models"))]
Rates = Annotated[ExchangeRates, Depends(_part("exchange_rates"))]
Sessions = Annotated[SessionStore, Depends(_part("sessions"))]
Throttle = Annotated[LoginThrottle, Depends(_part("login_throttle"))]
ResetThrottle = Annotated[LoginThrottle, Depends(_part("reset_throttle"))]
Hashing = Annotated[PasswordHashing, Depends(_part("hashing"))]
Upstream = Annotated[UpstreamClient, Depends(_part("upstream"))]
Policy = Annotated[ApiPolicy, Depends(_part("policy"))]
Sidecar = Annotated[DaprHealth, Depends(_part("sidecar"))]


SESSION_ID_MAX = 100  # customer_activities.session_id
USER_AGENT_KEPT = 512


async def request_origin(request: Request) -> RequestOrigin:
    """Who made the request: the correlation id for its events, the rest for the activity row."""
    session_id = request.headers.get("x-session-id")
    if session_id is not None and len(session_id) > SESSION_ID_MAX:
        raise invalid("X-Session-ID", f"must be at most {SESSION_ID_MAX} characters")
    user_agent = request.headers.get("user-agent")
    return RequestOrigin(
        correlation_id=request.state.correlation_id,
        session_id=session_id,
        ip_address=request.client.host if request.client else None,
        user_agent=user_agent[:USER_AGENT_KEPT] if user_agent else None,
    )


Origin = Annotated[RequestOrigin, Depends(request_origin)]
