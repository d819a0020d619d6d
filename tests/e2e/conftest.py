"""The full stack for e2e tests: real placement, scheduler and daprd, the customer service, and a
recorder app (its own daprd) subscribed to everything the service publishes.

Every request in these tests goes through daprd: the REST API by service invocation, actor state by
daprd's actor API, events by daprd's publish API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.servers import LocalPostgres
from devstack.stack import DaprApp, SidecarPorts, Stack, python_app_argv, service_argv
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, bearer

SERVICE_ID = "customer-service"
RECORDER_ID = "event-recorder"
ORDER_SERVICE_ID = "order-service"


@dataclass
class Service:
    stack: Stack
    app: DaprApp
    recorder: DaprApp
    http: httpx.Client

    @property
    def dapr(self) -> str:
        return f"http://127.0.0.1:{self.app.ports.http}"

    def api(self, method: str, path: str, *, token: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """A REST call through daprd's service invocation, as other services make it."""
        headers = {**(token if token is not None else admin()), **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.dapr}/v1.0/invoke/{SERVICE_ID}/method{path}", headers=headers,
                                 **kwargs)

    def actor_state(self, customer_id: str, key: str) -> httpx.Response:
        return self.http.get(f"{self.dapr}/v1.0/actors/CustomerActor/{customer_id}/state/{key}")

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        response = self.http.post(f"{self.dapr}/v1.0/publish/pubsub/{topic}", json=payload)
        assert response.status_code == 204, response.text

    def received(self, topic: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.recorder.ports.http}/v1.0/invoke/{RECORDER_ID}/method/received"
        events = self.http.get(url).json()
        return [e["cloudEvent"]["data"] for e in events if e["topic"] == topic]

    def create_customer(self, **overrides: Any) -> dict[str, Any]:
        body = {"email": f"e2e-{uuid.uuid4().hex[:12]}@example.com", "password": "Sturdy-Passw0rd!",
                "profile": {"firstName": "Ada", "lastName": "Lovelace"}, **overrides}
        response = self.api("POST", "/v1/customers", json=body)
        assert response.status_code == 201, response.text
        customer: dict[str, Any] = response.json()["data"]["customer"]
        return customer

    def restart_app(self) -> None:
        self.stack.process(self.app.app_id).stop()
        self.stack.start_app(self.app)
        self.stack.wait_healthy(self.app)

    def restart_sidecar(self) -> None:
        self.stack.process(f"{self.app.app_id}-daprd").stop()
        self.stack.start_sidecar(self.app)
        self.stack.wait_healthy(self.app)

    def kill_app(self) -> None:
        self.stack.process(self.app.app_id).kill()

    def restart_app_with(self, **env: str) -> None:
        """Restarts the service with other settings (e.g. a fast clock); the same ports and daprd."""
        self.stack.process(self.app.app_id).stop()
        self.app = service_app(self.app.ports, **env)
        self.stack.start_app(self.app)
        self.stack.wait_healthy(self.app)


def admin() -> dict[str, str]:
    return bearer("svc:e2e-admin", "customers:admin")


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def service_app(ports: SidecarPorts, **env: str) -> DaprApp:
    return DaprApp(
        app_id=SERVICE_ID, ports=ports, app_argv=service_argv(),
        app_env={"SERVICE_PORT": str(ports.app), "JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER,
                 "JWT_AUDIENCE": AUDIENCE, "SEGMENT_UPDATE_INTERVAL": "3600", **env},
    )


@pytest.fixture(scope="session")
def service(stack: Stack) -> Iterator[Service]:
    stack.start_control_plane()
    app = service_app(SidecarPorts.free())
    recorder_ports = SidecarPorts.free()
    recorder = DaprApp(app_id=RECORDER_ID, ports=recorder_ports,
                       app_argv=python_app_argv("tests.support.recorder:app", recorder_ports.app))
    stack.start_dapr_app(recorder)
    stack.start_dapr_app(app)
    # Every call to a daprd of the stack carries its API token, as the platform's own callers do.
    with httpx.Client(timeout=30, headers=stack.config.dapr_headers) as http:
        yield Service(stack, app, recorder, http)


@pytest.fixture(scope="session")
def order_service(service: Service) -> Iterator[DaprApp]:
    """The stand-in Order Service as a second Dapr app with its own daprd."""
    ports = SidecarPorts.free()
    app = DaprApp(app_id=ORDER_SERVICE_ID, ports=ports,
                  app_argv=python_app_argv("tests.support.order_service:app", ports.app))
    service.stack.start_dapr_app(app)
    yield app
    service.stack.stop_dapr_app(ORDER_SERVICE_ID)


@pytest.fixture
def local_postgres(service: Service) -> LocalPostgres:
    """The stack's own PostgreSQL, for tests that stop and start it."""
    postgres = service.stack.local_postgres
    if postgres is None:
        pytest.skip("needs the project's own PostgreSQL process to stop and start it")
    return postgres


@pytest.fixture
def db(service: Service) -> Iterator[Any]:
    """A direct PostgreSQL connection, to check the durable record behind the API."""
    import psycopg

    with psycopg.connect(service.stack.database_url, autocommit=True) as conn:
        yield conn


def events_for(service: Service, topic: str, customer_id: str) -> list[dict[str, Any]]:
    return [e for e in service.received(topic) if e["data"]["customerId"] == customer_id]


def wait_for_events(service: Service, topic: str, customer_id: str, count: int = 1) -> list[dict[str, Any]]:
    return list(wait_for(lambda: (found := events_for(service, topic, customer_id)) and len(found) >= count
                         and found, what=f"{count} {topic} event(s) for {customer_id}"))
