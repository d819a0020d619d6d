"""The dapr CLI's Multi-App Run file (dapr.yaml), read the way the CLI reads it, so the local stack
and the tests run what `dapr run -f .` runs.

Only the fields the file uses are read; any other field is refused, so the file cannot say something
this reader would silently ignore. Field names are the CLI's (github.com/dapr/cli,
pkg/standalone/run.go: RunConfig and SharedRunConfig; pkg/runfileconfig: version, common, apps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RUN_FILE = Path(__file__).resolve().parent.parent / "dapr.yaml"

COMMON_FIELDS = {"resourcesPath", "configFilePath", "appProtocol", "apiListenAddresses", "enableAppHealthCheck",
                 "appHealthCheckPath", "appHealthProbeInterval", "logLevel", "env"}
APP_FIELDS = COMMON_FIELDS | {"appID", "appDirPath", "appPort", "daprHTTPPort", "daprGRPCPort", "daprInternalGRPCPort",
                              "metricsPort", "command"}


class RunFileError(ValueError):
    """dapr.yaml says something this reader does not understand."""


@dataclass(frozen=True)
class RunApp:
    """One app of the run file, with the common section applied (an app's own fields win)."""

    app_id: str
    app_dir: Path
    app_port: int
    dapr_http_port: int
    dapr_grpc_port: int
    dapr_internal_grpc_port: int
    metrics_port: int
    command: tuple[str, ...]
    env: Mapping[str, str]
    resources_path: Path
    config_file: Path
    app_protocol: str
    listen_addresses: str
    health_check: bool
    health_path: str
    health_interval: int
    log_level: str

    def argv(self) -> list[str]:
        """The command, a relative program resolved in the app's folder (as the CLI's `sh -c` does)."""
        program = self.command[0]
        resolved = self.app_dir / program if "/" in program and not program.startswith("/") else program
        return [str(resolved), *self.command[1:]]


def _refuse_unknown(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(section) - allowed
    if unknown:
        raise RunFileError(f"{where}: fields this project's reader does not know: {sorted(unknown)}")


def read_run_file(path: Path = RUN_FILE) -> dict[str, RunApp]:
    """The apps of the run file by app id."""
    document = yaml.safe_load(path.read_text())
    if document.get("version") != 1:
        raise RunFileError(f"{path}: version must be 1")
    _refuse_unknown(document, {"version", "common", "apps"}, str(path))
    common = document.get("common", {})
    _refuse_unknown(common, COMMON_FIELDS, f"{path}: common")
    base = path.parent
    apps = {}
    for entry in document["apps"]:
        _refuse_unknown(entry, APP_FIELDS, f"{path}: app {entry.get('appID')}")
        merged = {**common, **entry, "env": {**common.get("env", {}), **entry.get("env", {})}}
        app_dir = (base / merged.get("appDirPath", ".")).resolve()
        apps[merged["appID"]] = RunApp(
            app_id=merged["appID"], app_dir=app_dir, app_port=int(merged["appPort"]),
            dapr_http_port=int(merged["daprHTTPPort"]), dapr_grpc_port=int(merged["daprGRPCPort"]),
            dapr_internal_grpc_port=int(merged["daprInternalGRPCPort"]), metrics_port=int(merged["metricsPort"]),
            command=tuple(merged["command"]), env={k: str(v) for k, v in merged["env"].items()},
            resources_path=(base / merged["resourcesPath"]).resolve(),
            config_file=(base / merged["configFilePath"]).resolve(),
            app_protocol=merged.get("appProtocol", "http"),
            listen_addresses=merged.get("apiListenAddresses", "127.0.0.1"),
            health_check=bool(merged.get("enableAppHealthCheck", False)),
            health_path=merged.get("appHealthCheckPath", "/healthz"),
            health_interval=int(merged.get("appHealthProbeInterval", 5)),
            log_level=merged.get("logLevel", "info"),
        )
    return apps
