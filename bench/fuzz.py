"""Schemathesis over the public OpenAPI, through daprd, looking for any server error.

    .venv/bin/python -m bench.fuzz --max-examples 200

starts a stack of its own (free ports, .data/fuzz) with the rate limit raised, runs every phase
(examples, coverage, fuzzing, and stateful sequences linked by the Location headers the API returns,
so ids are real), NUL characters allowed, and prints how many cases ran and how many failed. The
security tier runs the same function with a small budget against the test stack.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.stacks import bench_app, fresh_stack
from tests.support.tokens import bearer

SERVICE_ID = "customer-service"


@dataclass(frozen=True)
class FuzzResult:
    cases: int
    failures: int
    exit_code: int
    report: Path

    def line(self) -> str:
        return (f"schemathesis: {self.cases} cases, {self.failures} failures (exit {self.exit_code}), "
                f"report {self.report}")


def _count(output: str) -> tuple[int, int]:
    """Cases run and unique failures found, from the summary schemathesis prints."""
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"found (\d+) unique failures?", output)
    return int(cases[1]) if cases else 0, int(failures[1]) if failures else 0


def run_schemathesis(*, dapr_http_port: int, dapr_api_token: str, max_examples: int, report_dir: Path,
                     subject: str = "svc:fuzz-admin", seed: int | None = None) -> FuzzResult:
    report_dir.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{dapr_http_port}/v1.0/invoke/{SERVICE_ID}/method"
    argv = [str(Path(sys.executable).with_name("st")), "run", f"{base}/openapi.json", "--url", base,
            "--header", f"Authorization: {bearer(subject, 'customers:admin')['Authorization']}",
            "--header", f"dapr-api-token: {dapr_api_token}",
            "--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(max_examples), "--generation-allow-x00", "true",
            "--request-timeout", "30", "--workers", "2", "--continue-on-failure", "--warnings", "off"]
    if seed is not None:
        argv += ["--seed", str(seed)]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - our argv
    output = completed.stdout + completed.stderr
    (report_dir / "output.txt").write_text(output)
    cases, failures = _count(output)
    return FuzzResult(cases, failures, completed.returncode, report_dir / "output.txt")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.fuzz")
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    stack = fresh_stack("fuzz")
    app = bench_app()
    try:
        stack.up([app])
        result = run_schemathesis(dapr_http_port=app.ports.http, dapr_api_token=stack.config.dapr_api_token,
                                  max_examples=args.max_examples, report_dir=stack.config.data_dir / "report",
                                  seed=args.seed)
        print(result.line())
        print((stack.config.data_dir / "report" / "output.txt").read_text()[-3000:])
    finally:
        stack.down()
    sys.exit(0 if result.exit_code == 0 and result.failures == 0 and result.cases > 0 else 1)


if __name__ == "__main__":
    main()
