"""The NetworkPolicy against what the app and its sidecar must reach, with the control plane's ports read
from the pinned Dapr module's own Helm chart, so a Dapr upgrade that moves a port fails here instead of
leaving pods without certificates or components under an enforcing network plugin. A policy port is the
destination pod's port: sentry's and the operator's Services listen on 443, their pods on the chart's
target ports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.manifests.test_manifests import built, built_with, dapr_module

NAMESPACE = "customers"  # k8s/kustomization.yaml


@dataclass(frozen=True)
class Destination:
    name: str
    port: int
    namespace: str = NAMESPACE
    labels: dict[str, str] = field(default_factory=dict)
    protocol: str = "TCP"


def control_plane() -> list[Destination]:
    charts = dapr_module() / "charts" / "dapr" / "charts"

    def values(chart: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((charts / chart / "values.yaml").read_text())
        return loaded

    scheduler_service = (charts / "dapr_scheduler" / "templates" / "dapr_scheduler_service.yaml").read_text()
    scheduler_port = re.search(r"port: 443\s+targetPort: (\d+)", scheduler_service)
    assert scheduler_port is not None, "the scheduler Service's 443 no longer names its pod port"
    system = "dapr-system"
    return [
        Destination("sentry", values("dapr_sentry")["ports"]["targetPort"], system, {"app": "dapr-sentry"}),
        Destination("operator", values("dapr_operator")["ports"]["targetPort"], system, {"app": "dapr-operator"}),
        Destination("placement", values("dapr_placement")["ports"]["apiPort"], system,
                    {"app": "dapr-placement-server"}),
        Destination("scheduler", int(scheduler_port[1]), system, {"app": "dapr-scheduler-server"}),
    ]


NEEDED = [
    Destination("DNS (UDP)", 53, "kube-system", {"k8s-app": "kube-dns"}, "UDP"),
    Destination("DNS (TCP)", 53, "kube-system", {"k8s-app": "kube-dns"}),
    Destination("PostgreSQL", 5432, labels={"app": "customers-postgres"}),
    Destination("Redis", 6379, labels={"app": "customers-redis"}),
    Destination("the trace collector", 4318, "monitoring", {"app": "otel-collector"}),
    Destination("another app's sidecar", 50002, "orders", {"app": "order-service"}),
]


def _peer_admits(peer: dict[str, Any], to: Destination) -> bool:
    """One `to` entry: a namespaceSelector (else the policy's own namespace) and a podSelector (else any pod)."""
    if "namespaceSelector" in peer:
        wanted = peer["namespaceSelector"].get("matchLabels", {})
        if any({"kubernetes.io/metadata.name": to.namespace}.get(k) != v for k, v in wanted.items()):
            return False
    elif to.namespace != NAMESPACE:
        return False
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    return all(to.labels.get(k) == v for k, v in pods.items())


def admits(policy: dict[str, Any], to: Destination) -> bool:
    for rule in policy["spec"].get("egress", []):
        ports = rule.get("ports")
        if ports and not any(p.get("port") == to.port and p.get("protocol", "TCP") == to.protocol for p in ports):
            continue
        if not rule.get("to") or any(_peer_admits(peer, to) for peer in rule["to"]):
            return True
    return False


def policy(documents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    [found] = [doc for doc in documents or built() if doc["kind"] == "NetworkPolicy"]
    return found


@pytest.mark.parametrize("destination", [*control_plane(), *NEEDED], ids=lambda d: d.name)
def test_the_pod_may_reach_what_it_needs(destination: Destination) -> None:
    assert admits(policy(), destination), destination


def test_the_check_refuses_what_the_policy_does_not_admit() -> None:
    """The Service port of sentry (443) is not its pod's: the policy before this test admitted only that."""
    assert not admits(policy(), Destination("sentry's Service port", 443, "dapr-system", {"app": "dapr-sentry"}))
    assert not admits(policy(), Destination("PostgreSQL elsewhere", 5432, "other", {"app": "customers-postgres"}))
    assert not admits(policy(), Destination("anything", 8080, "elsewhere", {"app": "x"}))


def test_the_consul_option_lets_the_pods_reach_consul(tmp_path: Path) -> None:
    documents = built_with(tmp_path, "consul")
    configuration = next(doc for doc in documents if doc["kind"] == "Configuration")
    host, port = configuration["spec"]["nameResolution"]["configuration"]["client"]["address"].rsplit(":", 1)
    consul = Destination("Consul", int(port), host.split(".")[1], {"app": "consul", "component": "server"})
    assert admits(policy(documents), consul)
    assert not admits(policy(), consul)  # the option brings it; without it, it is not admitted
    assert all(admits(policy(documents), needed) for needed in [*control_plane(), *NEEDED])


def test_the_external_upstreams_option_lets_the_pods_reach_each_upstream(tmp_path: Path) -> None:
    documents = built_with(tmp_path, "external-upstreams")
    upstreams = [urlsplit(doc["spec"]["baseUrl"]) for doc in documents if doc["kind"] == "HTTPEndpoint"]
    assert upstreams
    for url in upstreams:
        port = url.port or {"http": 80, "https": 443}[url.scheme]
        outside = Destination(f"upstream {url.hostname}", port, "somewhere-else", {"app": str(url.hostname)})
        assert admits(policy(documents), outside), url.geturl()
        assert not admits(policy(), outside)
