"""A CI-sized schemathesis run over the public OpenAPI through daprd: no generated request may get a
server error. The full run (5,000+ cases) is `python -m bench.fuzz --max-examples 200`."""

from __future__ import annotations

from bench.fuzz import run_schemathesis
from tests.support.service import Service


def test_generated_requests_never_get_a_server_error(service: Service) -> None:
    result = run_schemathesis(dapr_http_port=service.app.ports.http,
                              dapr_api_token=service.stack.config.dapr_api_token, max_examples=8,
                              report_dir=service.stack.config.data_dir / "fuzz", seed=7)
    assert result.cases >= 300, result.line()
    assert result.failures == 0, result.report.read_text()[-4000:]
    assert result.exit_code == 0, result.report.read_text()[-4000:]
