"""The service's own metrics, scraped from their port after known traffic: each count moves by what
the traffic did."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from devstack.stack import REPO_ROOT
from tests.e2e.test_dapr_foundation import order_event
from tests.e2e.test_events_in import wait_orders
from tests.support.service import Service
from tests.support.tokens import bearer


def scrape(service: Service) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{service.app.app_env['METRICS_PORT']}/metrics", timeout=5).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def moved(before: dict[str, float], after: dict[str, float], pattern: str) -> float:
    keys = [k for k in after if re.fullmatch(pattern, k)]
    return sum(after[k] - before.get(k, 0.0) for k in keys)


def test_traffic_moves_the_counts_it_should(service: Service) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}"
    service.api("GET", path)  # the create cached the profile: a hit
    before = scrape(service)
    for _ in range(3):
        assert service.api("GET", path).status_code == 200
    service.api("GET", f"/v1/customers/{customer['id']}/addresses")
    assert service.api("GET", path, token=bearer("svc:x", "customers:admins")).status_code == 403
    service.publish("orders.order.completed", order_event(customer["id"]))
    wait_orders(service, customer["id"], 1)
    service.api("POST", "/v1/customers/credentials/verify", token=bearer("svc:auth", "customers:credentials"),
                json={"email": f"nobody-{uuid.uuid4().hex[:6]}@example.com", "password": "Wrong-Passw0rd!"})
    after = scrape(service)

    route = r'customers_http_requests_total\{method="GET",route="/v1/customers/\{customer_id\}",status="%s"\}'
    assert moved(before, after, route % "200") == 3
    assert moved(before, after, route % "403") == 1
    assert moved(before, after, r'customers_cache_lookups_total\{kind="profile",result="hit"\}') >= 3
    assert moved(before, after, r'customers_inbound_events_total\{outcome="applied",topic="orders.order.completed"\}') \
        == 1
    assert moved(before, after, r'customers_actor_call_duration_seconds_count\{method="apply_order",outcome="ok"\}') \
        == 1
    assert moved(before, after, r"customers_login_failures_total") == 1
    assert "customers_outbox_backlog" in after
    assert not any(customer["id"] in k for k in after), "no customer ids in labels"


def test_every_series_the_dashboard_plots_is_served(service: Service) -> None:
    """k8s/dashboards/customer-service.json plots the app's metrics beside daprd's: each metric it names
    must be what the app or its daprd serves (after traffic of every kind the panels show)."""
    customer = service.create_customer()  # a publish: daprd's pub/sub egress
    service.publish("orders.order.completed", order_event(customer["id"]))  # ingress, and an actor call
    wait_orders(service, customer["id"], 1)
    # A call from another app's sidecar (the Order Service may read customers): invocations received.
    order_service = service.producers["orders"]
    read = service.http.get(f"http://127.0.0.1:{order_service.ports.http}/v1.0/invoke/customer-service/method"
                            f"/v1/customers/{customer['id']}", headers=bearer("svc:orders", "customers:read"))
    assert read.status_code == 200, read.text
    served = set()
    for port in (service.app.app_env["METRICS_PORT"], str(service.app.ports.metrics)):
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        served |= {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    dashboard = json.loads((REPO_ROOT / "k8s" / "dashboards" / "customer-service.json").read_text())
    plotted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b((?:customers|dapr)_[a-z_]+)\{", target["expr"])}
    assert len(plotted) >= 12
    assert plotted - served == set(), sorted(name for name in served if name.startswith("dapr_"))
