"""Each process's database pool, derived from the service's connection budget and its replica ceiling,
and the cluster manifests held to it: at the autoscaler's ceiling the pods fit in the budget."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from devstack.stack import REPO_ROOT
from service.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings(service_env="local", **values)


def test_without_a_budget_the_pool_is_database_max_connections() -> None:
    assert settings(database_max_connections=25).database_pool_size == 25


def test_with_a_budget_each_pod_takes_its_share_less_its_listen_connection() -> None:
    # 12 pods of 25 would need 312 connections; a server of 100 keeps 10 for others.
    pool = settings(database_max_connections=25, database_server_connections=90, service_max_replicas=12)
    assert pool.database_pool_size == 6
    assert 12 * (pool.database_pool_size + 1) <= 90
    roomy = settings(database_max_connections=25, database_server_connections=1000, service_max_replicas=12)
    assert roomy.database_pool_size == 25


def test_a_budget_too_small_for_the_pods_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="fewer than 3 connections"):
        settings(database_server_connections=24, service_max_replicas=12)


def test_the_cluster_configuration_fits_its_autoscalers_ceiling() -> None:
    config = yaml.safe_load((REPO_ROOT / "k8s" / "configmap.yaml").read_text())["data"]
    autoscaler = next(doc for doc in yaml.safe_load_all((REPO_ROOT / "k8s" / "deployment.yaml").read_text())
                      if doc and doc["kind"] == "HorizontalPodAutoscaler")
    assert int(config["SERVICE_MAX_REPLICAS"]) == autoscaler["spec"]["maxReplicas"]
    pool = settings(database_max_connections=int(config["DATABASE_MAX_CONNECTIONS"]),
                    database_server_connections=int(config["DATABASE_SERVER_CONNECTIONS"]),
                    service_max_replicas=int(config["SERVICE_MAX_REPLICAS"])).database_pool_size
    assert autoscaler["spec"]["maxReplicas"] * (pool + 1) <= int(config["DATABASE_SERVER_CONNECTIONS"])
