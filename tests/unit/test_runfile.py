"""dapr.yaml, the dapr CLI's run file, is the one description of the local apps: the local stack and
every test stack read it (devstack/runfile.py), so it must say only what both understand."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.health import router as health
from devstack.runfile import RUN_FILE, RunFileError, read_run_file


def test_the_run_file_describes_the_service_and_the_order_service() -> None:
    apps = read_run_file()
    assert sorted(apps) == ["customer-service", "order-service"]
    service = apps["customer-service"]
    assert service.argv()[-2:] == ["-m", "service"]
    assert Path(service.argv()[0]).name == "python"
    assert service.env["SERVICE_PORT"] == str(service.app_port)  # the app listens where daprd calls it
    assert service.config_file.is_file()
    assert service.resources_path.is_dir()
    assert service.health_check
    assert service.health_interval == 1
    assert service.health_path in {getattr(route, "path", "") for route in health.routes}
    ports = [port for app in apps.values() for port in (app.app_port, app.dapr_http_port, app.dapr_grpc_port,
                                                        app.dapr_internal_grpc_port, app.metrics_port)]
    assert len(ports) == len(set(ports)), "every port of the run file is its own"


def test_a_field_the_reader_does_not_know_is_refused(tmp_path: Path) -> None:
    text = RUN_FILE.read_text().replace("    appPort: 8007\n", "    appPort: 8007\n    appPortt: 8008\n")
    (tmp_path / "components").mkdir()
    (tmp_path / "dapr.yaml").write_text(text)
    with pytest.raises(RunFileError, match="appPortt"):
        read_run_file(tmp_path / "dapr.yaml")
