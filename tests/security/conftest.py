"""The hostile neighbours of the security tier, each a real Dapr app with its own daprd and mTLS
identity from the stack's sentry: an app id the access policy admits, and one it does not."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devstack.stack import DaprApp
from tests.support.service import Service, stand_in

GATEWAY_ID = "api-gateway"  # on the access-control allow-list (components/configuration.yaml)
INTRUDER_ID = "intruder"  # a mesh member on no list
AUTH_SERVICE_ID = "auth-service"  # admitted to the credential routes only


def neighbour(service: Service, app_id: str) -> Iterator[DaprApp]:
    app = stand_in(app_id, "tests.support.bystander:app")
    service.stack.start_dapr_app(app)
    yield app
    service.stack.stop_dapr_app(app_id)


@pytest.fixture(scope="session")
def gateway(service: Service) -> Iterator[DaprApp]:
    yield from neighbour(service, GATEWAY_ID)


@pytest.fixture(scope="session")
def auth_service(service: Service) -> Iterator[DaprApp]:
    yield from neighbour(service, AUTH_SERVICE_ID)


@pytest.fixture(scope="session")
def intruder(service: Service) -> Iterator[DaprApp]:
    yield from neighbour(service, INTRUDER_ID)


@pytest.fixture
def app_port(service: Service) -> Iterator[httpx.Client]:
    """A client of the app's own port, as anything on the host could open it, with no token."""
    with httpx.Client(base_url=f"http://127.0.0.1:{service.app.ports.app}", timeout=10) as client:
        yield client
