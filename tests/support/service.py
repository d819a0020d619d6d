"""The running service as the e2e and security tiers see it: a client that goes through daprd.

Every request goes through daprd: the REST API by service invocation, actor state by daprd's actor
API, events by daprd's publish API. The fixtures that start it are in tests/conftest.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from devstack.processes import free_port
from devstack.stack import DaprApp, SidecarPorts, Stack, run_file_app
from domain.ids import customer_uuid
from tests.support.tokens import AUDIENCE, ISSUER, SECRET, bearer

SERVICE_ID = "customer-service"
RECORDER_ID = "event-recorder"
ORDER_SERVICE_ID = "order-service"
LOYALTY_SERVICE_ID = "loyalty-service"
GATEWAY_ID = "api-gateway"  # a caller of the REST API that the access policy admits


@dataclass
class Service:
    stack: Stack
    app: DaprApp
    recorder: DaprApp
    # The producers of the events customer-service consumes, by topic prefix: pub/sub scoping lets
    # only them publish those topics.
    producers: dict[str, DaprApp]
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

    def publish(self, topic: str, payload: dict[str, Any], *, headers: dict[str, str] | None = None) -> None:
        """Publishes as the topic's producer would, through the producer's own daprd."""
        producer = self.producers[topic.split(".")[0]]
        response = self.http.post(f"http://127.0.0.1:{producer.ports.http}/v1.0/publish/pubsub/{topic}",
                                  json=payload, headers=headers)
        assert response.status_code == 204, response.text

    def wait_consumed(self, topic: str) -> None:
        """A barrier: every message published to `topic` so far has been delivered to customer-service and
        acknowledged. daprd delivers concurrently and out of order, so a later message's effect proves
        nothing about an earlier one; the consumer group's state in the stream does (Dapr's Redis pub/sub:
        one stream per topic, one group per subscribing app id, acknowledged after the app answered)."""
        store = self.stack.redis_client(decode_responses=True)
        last = tuple(int(part) for part in store.xinfo_stream(topic)["last-generated-id"].split("-"))

        def consumed() -> bool:
            group = next((g for g in store.xinfo_groups(topic) if g["name"] == SERVICE_ID), None)
            return group is not None and group["pending"] == 0 \
                and tuple(int(part) for part in group["last-delivered-id"].split("-")) >= last

        wait_for(consumed, what=f"every {topic} message consumed")

    def cloud_events(self, topic: str) -> list[dict[str, Any]]:
        """The CloudEvents a downstream subscriber received on `topic`, envelopes and all."""
        url = f"http://127.0.0.1:{self.recorder.ports.http}/v1.0/invoke/{RECORDER_ID}/method/received"
        return [e["cloudEvent"] for e in self.http.get(url).json() if e["topic"] == topic]

    def received(self, topic: str) -> list[dict[str, Any]]:
        return [event["data"] for event in self.cloud_events(topic)]

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


def wait_for(condition: Callable[[], Any], *, timeout: float = 45.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def service_app(ports: SidecarPorts, **env: str) -> DaprApp:
    """dapr.yaml's customer-service on these ports, its metrics on a free port of their own (SidecarPorts'
    metrics port is daprd's), with the tests' token issuer."""
    return DaprApp.of(run_file_app(SERVICE_ID), ports, **{
        "SERVICE_PORT": str(ports.app), "JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE,
        "SEGMENT_UPDATE_INTERVAL": "3600", "METRICS_PORT": str(free_port()), **env})


def outbox_count(db: Any, customer_id: str, topic: str) -> int:
    """The customer's events of `topic` as the outbox has them: written in the transaction of the change
    each announces, so "published once" and "never published" are settled there, not by what a
    subscriber has received so far while daprd still delivers."""
    row = db.execute("SELECT count(*) FROM outbox WHERE customer_id = %s AND topic = %s",
                     (customer_uuid(customer_id), topic)).fetchone()
    return int(row[0])


def events_for(service: Service, topic: str, customer_id: str) -> list[dict[str, Any]]:
    return [e for e in service.received(topic) if e["data"]["customerId"] == customer_id]


def wait_for_events(service: Service, topic: str, customer_id: str, count: int = 1) -> list[dict[str, Any]]:
    return list(wait_for(lambda: (found := events_for(service, topic, customer_id)) and len(found) >= count
                         and found, what=f"{count} {topic} event(s) for {customer_id}"))


def start_service(stack: Stack, http: httpx.Client, **env: str) -> Service:
    """customer-service with its neighbours on a stack whose storage is up: the recorder (a downstream
    subscriber) and stand-ins for the Order Service (also answering order summaries) and the Loyalty
    Service, each with its own daprd. `http` carries the stack's daprd API token."""
    stack.start_control_plane()
    app = service_app(SidecarPorts.free(), **env)
    recorder = stand_in(RECORDER_ID, "tests.support.recorder:app")
    producers = {"orders": stand_in(ORDER_SERVICE_ID, "tests.support.order_service:app"),
                 "loyalty": stand_in(LOYALTY_SERVICE_ID, "tests.support.bystander:app")}
    for neighbour in (recorder, *producers.values()):
        stack.start_dapr_app(neighbour)
    stack.start_dapr_app(app)
    return Service(stack, app, recorder, producers, http)


def stand_in(app_id: str, module_app: str) -> DaprApp:
    """A neighbouring Dapr app on free ports, with its own daprd: dapr.yaml's Order Service, or a test's
    own app (`module_app` served like it)."""
    order_service = run_file_app(ORDER_SERVICE_ID)
    run = replace(order_service, app_id=app_id, command=(*order_service.command[:-1], module_app))
    return DaprApp.of(run, SidecarPorts.free())
