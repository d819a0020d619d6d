"""The fast API tier: the real app (its middleware, access dependencies, routes and error handlers) in
process through httpx's ASGI transport, with everything behind the API answered in memory: the actors
behind their one typed call (`actors.client.ActorCalls`), the store, cache, sessions, limits and
upstreams by small fakes. Seconds for the whole access matrix; the e2e tier proves the same routes
through daprd."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from actors import messages as m
from actors.interface import ActorMethod
from api.auth import TokenVerifier
from api.dependencies import ApiPolicy, ApiServices
from domain.aggregate import CustomerAggregate
from domain.clock import Clock
from domain.customer import Status
from domain.errors import not_found
from domain.ids import new_customer_id
from domain.segmentation import Tier
from persistence.read_models import ActivityPage, NotePage, SearchPage
from persistence.store import Credentials, TokenOwner
from service.main import create_app
from service.settings import Settings
from tests.support.in_memory import InMemoryExchangeRates
from tests.support.tokens import AUDIENCE, ISSUER, SECRET

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def registered(customer_id: str) -> CustomerAggregate:
    return CustomerAggregate.register(
        customer_id=customer_id, email="ada@example.com", password_hash="h", profile={"firstName": "Ada"},
        preferences={}, consent_source="registration:test", default_tier=Tier.REGULAR, now=NOW).after


class InProcessActors:
    """Every actor method answers a plausible result for an existing customer; an id in `missing` has none."""

    def __init__(self) -> None:
        self.missing: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    async def call(self, customer_id: str, method: ActorMethod[Req, Res], request: Req) -> Res:
        self.calls.append((customer_id, method.name))
        if customer_id in self.missing:
            raise not_found(customer_id)
        customer = registered(customer_id)
        view = m.CustomerView.of(customer).model_dump()
        address = {"id": "addr_" + "0" * 32, "type": "shipping", "isDefault": True, "street": "1 Main St",
                   "city": "Springfield", "zipCode": "12345", "country": "US", "createdAt": "2026-01-15T12:00:00Z",
                   "updatedAt": "2026-01-15T12:00:00Z"}
        results: dict[type[BaseModel], BaseModel] = {
            m.CustomerView: m.CustomerView.of(customer), m.Deactivated: m.Deactivated(**view, changed=True),
            m.Erased: m.Erased(changed=True), m.Exported: m.Exported(export={}), m.Done: m.Done(),
            m.LoggedIn: m.LoggedIn(customer_id=customer_id, last_login_at="2026-01-15T12:00:00Z"),
            m.SegmentView: m.SegmentView(segment=customer.segment.view(customer_id, NOW)),
            m.AddressBookView: m.AddressBookView(addresses=[address]),
            m.AddressChanged: m.AddressChanged(address=address), m.Analytics: m.Analytics(analytics={}),
            m.VerificationIssued: m.VerificationIssued(email="ada@example.com"),
            m.NoteAdded: m.NoteAdded(note={"id": "note_1", "author": "svc", "text": "x",
                                           "createdAt": "2026-01-15T12:00:00Z"}),
        }
        return cast(Res, results[method.result])


class NoCache:
    async def ping(self) -> None: ...

    async def get_profile(self, customer_id: str) -> None: ...

    async def get_segment(self, customer_id: str) -> None: ...

    async def get_addresses(self, customer_id: str) -> None: ...


@dataclass
class InMemoryRecords:
    customer_id: str = field(default_factory=new_customer_id)
    tokens_known: bool = True

    async def ping(self) -> None: ...

    async def credentials(self, email: str) -> Credentials:
        return Credentials(self.customer_id, "argon2-hash", Status.ACTIVE)

    async def token_owner(self, token: bytes, purpose: Any, *, now: datetime) -> TokenOwner | None:
        return TokenOwner(self.customer_id, "ada@example.com", redeemed=False) if self.tokens_known else None


class InMemoryReads:
    async def search(self, criteria: Any) -> SearchPage:
        return SearchPage([], None)

    async def activities(self, customer_id: str, **criteria: Any) -> ActivityPage:
        return ActivityPage([], None)

    async def customer_with_external_id(self, external_id: str) -> str:
        return new_customer_id()

    async def notes(self, customer_id: str, **criteria: Any) -> NotePage:
        return NotePage([], None)

    async def segment_counts(self) -> dict[str, Any]:
        return {"total": 0, "tiers": {}, "segments": {}}


class InMemorySessions:
    async def create(self, *, customer_id: str, ip_address: str | None, user_agent: str | None) -> dict[str, Any]:
        return {"sessionId": "sess_1", "customerId": customer_id}

    async def get(self, session_id: str) -> dict[str, Any]:
        return {"sessionId": session_id}

    async def delete(self, session_id: str) -> bool:
        return True


class Unlimited:
    async def check(self, subject: str, *, is_customer: bool, customer_id: str | None) -> None: ...

    async def attempt(self, *, account: str, client: str | None) -> None: ...

    async def succeeded(self, *, account: str) -> None: ...


class Hashing:
    async def hash(self, password: str) -> str:
        return "argon2-hash"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return password_hash is not None


class NoUpstream:
    async def get(self, app_id: str, path: str, *, customer_id: str, now: datetime) -> None: ...


class Sidecar:
    async def ready(self) -> bool:
        return True


@dataclass
class InProcess:
    client: httpx.AsyncClient
    actors: InProcessActors
    records: InMemoryRecords


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(service_env="local", jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                               metrics_port=0, log_level="WARNING"))


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[InProcess]:
    actors, records = InProcessActors(), InMemoryRecords()
    services = ApiServices(
        actors=actors, cache=cast(Any, NoCache()), store=cast(Any, records), read_models=cast(Any, InMemoryReads()),
        exchange_rates=cast(Any, InMemoryExchangeRates()), sessions=cast(Any, InMemorySessions()),
        verifier=TokenVerifier(algorithm="HS256", secret=SECRET, public_key=None, issuer=ISSUER, audience=AUDIENCE),
        rate_limiter=cast(Any, Unlimited()), login_throttle=cast(Any, Unlimited()),
        reset_throttle=cast(Any, Unlimited()),
        hashing=cast(Any, Hashing()), upstream=cast(Any, NoUpstream()), sidecar=cast(Any, Sidecar()),
        policy=ApiPolicy(password_min_length=8, order_service_app_id="order-service",
                         loyalty_service_app_id="loyalty-service", clock=Clock(),
                         password_reset_token_ttl=timedelta(minutes=30), email_verification_token_ttl=timedelta(days=1),
                         password_reset_response_floor=timedelta(0)))
    app.state.services = services
    # A bug's 500 is answered, as uvicorn would, rather than raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        yield InProcess(client, actors, records)
