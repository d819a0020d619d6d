"""The cluster manifests, checked offline: `kustomize build k8s/` succeeds (kustomize from its own Go
module, tools/kustomize), every Kubernetes object validates against the Kubernetes schemas
(kubernetes-validate, strict: unknown fields are errors), and every Dapr object, in k8s/ and in
components/ (the local run's resources), against the CRD schemas shipped in the pinned Dapr module,
with unknown fields refused as Kubernetes' strict field validation would.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from devstack.stack import COMPONENTS_DIR, DAPR_GRACEFUL_SHUTDOWN_SECONDS, REPO_ROOT, http_endpoints

K8S_DIR = REPO_ROOT / "k8s"
KUBERNETES_VERSION = "1.33"
DAPR_TOOLS = REPO_ROOT / "tools" / "dapr-runtime"


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    binary = subprocess.run(["bash", str(REPO_ROOT / "tools" / "kustomize" / "build.sh")],
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    out = subprocess.run([binary, str(directory)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@cache
def built() -> list[dict[str, Any]]:
    """`kustomize build k8s/`."""
    return _kustomize(K8S_DIR)


def built_with(folder: Path, *components: str) -> list[dict[str, Any]]:
    """k8s/ with optional components enabled by an overlay in `folder`, as an operator would."""
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S_DIR, folder)],
        "components": [os.path.relpath(K8S_DIR / name, folder) for name in components]}))
    return _kustomize(folder)


@cache
def dapr_module() -> Path:
    """The pinned Dapr module's source (tools/dapr-runtime/go.mod), from Go's module cache."""
    module = json.loads(subprocess.run(["go", "mod", "download", "-json", "github.com/dapr/dapr"],
                                       cwd=DAPR_TOOLS, capture_output=True, text=True, check=True).stdout)
    return Path(module["Dir"])


@cache
def dapr_crds() -> dict[str, dict[str, Any]]:
    """The pinned Dapr module's CRDs by kind."""
    crds = {}
    for path in sorted((dapr_module() / "charts" / "dapr" / "crds").glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                crds[crd["spec"]["names"]["kind"]] = crd
    return crds


def _unknown_fields(value: Any, schema: dict[str, Any], where: str) -> Iterator[str]:
    """Fields the schema does not declare (Kubernetes prunes them silently, or refuses them strictly)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                yield f"{where}.{key}"
            else:
                yield from _unknown_fields(item, schema["properties"][key], f"{where}.{key}")
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            yield from _unknown_fields(item, schema["additionalProperties"], f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _unknown_fields(item, schema["items"], f"{where}[{index}]")


def dapr_problems(doc: dict[str, Any]) -> list[str]:
    crd = dapr_crds().get(doc["kind"])
    if crd is None:
        return [f"no CRD for kind {doc['kind']} in the pinned Dapr module"]
    group, _, version = doc["apiVersion"].partition("/")
    if group != crd["spec"]["group"]:
        return [f"apiVersion group {group}, the CRD's is {crd['spec']['group']}"]
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        return [f"version {version} is not served (served: {sorted(served)})"]
    schema = served[version]["schema"]["openAPIV3Schema"]
    body = {key: value for key, value in doc.items() if key not in ("apiVersion", "kind", "metadata")}
    problems = [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(body)]
    return problems + [f"unknown field {field}" for field in _unknown_fields(body, schema, doc["kind"])]


def local_resources() -> list[tuple[str, dict[str, Any]]]:
    return [(f"components/{path.name}", doc) for path in sorted(COMPONENTS_DIR.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_kustomize_builds_the_whole_deployment() -> None:
    kinds = sorted({doc["kind"] for doc in built()})
    assert kinds == sorted({"Namespace", "ConfigMap", "Job", "Deployment", "PodDisruptionBudget", "NetworkPolicy",
                            "HorizontalPodAutoscaler", "Component", "Configuration", "Resiliency"}), kinds
    assert all(doc["metadata"].get("namespace") == "customers" for doc in built() if doc["kind"] != "Namespace")


def _name(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("doc", built(), ids=_name)
def test_every_built_object_validates(doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("dapr.io/"):
        assert dapr_problems(doc) == []
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name_doc", local_resources(), ids=lambda nd: f"{nd[0]}:{nd[1]['metadata']['name']}")
def test_every_local_dapr_resource_validates(name_doc: tuple[str, dict[str, Any]]) -> None:
    assert dapr_problems(name_doc[1]) == []


def test_the_validation_refuses_a_misspelt_field() -> None:
    """The checks above can fail: a typo in a Dapr resource and one in a Deployment are both caught."""
    component = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"},
                 "spec": {"type": "state.redis", "version": "v1", "metadata": [{"name": "a", "valeu": "b"}]}}
    assert dapr_problems(component) == ["unknown field Component.spec.metadata[0].valeu"]
    deployment = next(doc for doc in built() if doc["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_deployment_is_ready_only_with_its_sidecar_and_keeps_two_replicas_through_disruptions() -> None:
    deployment = next(doc for doc in built() if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["exec"]["command"][-1] == "/health/ready"
    budget = next(doc for doc in built() if doc["kind"] == "PodDisruptionBudget")
    autoscaler = next(doc for doc in built() if doc["kind"] == "HorizontalPodAutoscaler")
    assert budget["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"] <= deployment["spec"]["replicas"]


def test_a_stopping_pod_stops_as_the_rolling_update_test_stopped_its_replicas() -> None:
    """The rolling-update test (tests/e2e/test_faults.py) stops daprd first, with the local stack's graceful
    shutdown, and the app once daprd has gone. In the pod both get SIGTERM at once: the app's preStop hook
    must outlast daprd's graceful shutdown, and the grace period the two."""
    pod = next(doc for doc in built() if doc["kind"] == "Deployment")["spec"]["template"]
    sidecar_grace = int(pod["metadata"]["annotations"]["dapr.io/graceful-shutdown-seconds"])
    assert sidecar_grace == DAPR_GRACEFUL_SHUTDOWN_SECONDS
    app_waits = pod["spec"]["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert app_waits > sidecar_grace + 2  # daprd's exit after its grace took 0.3-2.5 s in the test's runs
    assert pod["spec"]["terminationGracePeriodSeconds"] >= app_waits + 15


def test_a_new_version_serves_only_once_its_migrations_are_applied_and_replicas_spread_over_nodes() -> None:
    pod = next(doc for doc in built() if doc["kind"] == "Deployment")["spec"]["template"]["spec"]
    job = next(doc for doc in built() if doc["kind"] == "Job")
    [waits] = pod["initContainers"]
    app = pod["containers"][0]
    assert waits["image"] == app["image"] == job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert waits["command"][:4] == ["python", "-m", "persistence.migrations", "--wait"]
    assert waits["envFrom"] == [{"secretRef": {"name": "customer-service"}}]  # the app's role, not the owner's
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert [c["topologyKey"] for c in pod["topologySpreadConstraints"]] == ["kubernetes.io/hostname"]


def test_the_consul_option_resolves_app_ids_through_consul(tmp_path: Path) -> None:
    """k8s/consul, enabled by an overlay as an operator would: the Configuration names Consul, valid."""
    with_consul = built_with(tmp_path, "consul")
    configuration = next(doc for doc in with_consul if doc["kind"] == "Configuration")
    assert dapr_problems(configuration) == []
    resolution = configuration["spec"]["nameResolution"]
    assert resolution["component"] == "consul"
    assert resolution["configuration"]["client"]["address"].endswith(":8500")
    assert len(with_consul) == len(built())


def test_the_external_upstreams_option_adds_valid_http_endpoints(tmp_path: Path) -> None:
    """k8s/external-upstreams, enabled by an overlay: HTTPEndpoints named by the app ids the service
    invokes, valid against the pinned Dapr module's CRD, and the same HTTPEndpoint devstack writes for
    ORDER_SERVICE_URL locally."""
    endpoints = [doc for doc in built_with(tmp_path, "external-upstreams") if doc["kind"] == "HTTPEndpoint"]
    assert sorted(doc["metadata"]["name"] for doc in endpoints) == ["loyalty-service", "order-service"]
    for doc in endpoints:
        assert dapr_problems(doc) == []
    local = [doc for doc in yaml.safe_load_all(http_endpoints({"order-service": "http://127.0.0.1:9"})) if doc]
    assert [dapr_problems(doc) for doc in local] == [[]]


def test_the_resiliency_policy_is_one_policy_locally_and_in_the_cluster() -> None:
    """kustomize cannot read components/ from k8s/, so the file is copied: the copy may not drift."""
    local = yaml.safe_load((COMPONENTS_DIR / "resiliency.yaml").read_text())
    cluster = yaml.safe_load((K8S_DIR / "dapr-resiliency.yaml").read_text())
    assert cluster == local
