"""A CI-sized schemathesis run over the public OpenAPI through daprd: no generated request may get a
server error. `python -m bench.fuzz` runs the large one with every check (README, Security)."""

from __future__ import annotations

from bench.fuzz import run_schemathesis
from tests.support.service import Service


def test_generated_requests_never_get_a_server_error(service: Service) -> None:
    result = run_schemathesis(dapr_http_port=service.app.ports.http,
                              dapr_api_token=service.stack.config.dapr_api_token, max_examples=8,
                              report_dir=service.stack.config.data_dir / "fuzz", seed=7, checks="not_a_server_error")
    assert result.cases >= 300, result.line()
    assert (result.unique_failures, result.exit_code) == (0, 0), result.failure_lines()
