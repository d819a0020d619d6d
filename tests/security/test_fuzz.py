"""A CI-sized schemathesis run over the public OpenAPI through daprd, with every check and every phase:
no failure, and the stateful phase follows the document's links to real customers. `python -m bench.fuzz`
runs the large one (README, Security)."""

from __future__ import annotations

from bench.fuzz import run_schemathesis
from tests.support.service import Service

# Operations that answered 2xx at least once in this seeded run; the large run reaches more.
REACHED_AT_LEAST = 18


def test_generated_requests_pass_every_check(service: Service) -> None:
    result = run_schemathesis(dapr_http_port=service.app.ports.http,
                              dapr_api_token=service.stack.config.dapr_api_token, max_examples=8,
                              report_dir=service.stack.config.data_dir / "fuzz", seed=7)
    assert result.cases >= 1000, result.line()
    assert (result.unique_failures, result.exit_code) == (0, 0), result.failure_lines()
    assert len(result.reached_2xx) >= REACHED_AT_LEAST, result.line()
