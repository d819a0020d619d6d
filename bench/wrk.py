"""Load from wrk (a C load generator: a Python one would take the core the app needs), one JSON result
line per run from bench/lua/report.lua."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPORT = Path(__file__).with_name("lua") / "report.lua"


@dataclass(frozen=True)
class Load:
    name: str
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    errors: int

    def line(self, baseline: Load | None = None) -> str:
        text = (f"{self.name:52} {self.rps:9.1f}/s  p50 {self.p50:7.2f} ms  p95 {self.p95:7.2f} ms  "
                f"p99 {self.p99:7.2f} ms  n={self.requests} errors={self.errors}")
        if baseline is not None:
            text += (f"  ({self.rps / baseline.rps:.0%} of {baseline.name}'s rate, "
                     f"p50 +{self.p50 - baseline.p50:.2f} ms)")
        return text


def wrk(name: str, url: str, *, headers: Mapping[str, str], connections: int = 16, seconds: int = 10,
        script: Path = REPORT, script_args: Sequence[str] = ()) -> Load:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian package wrk; scripts/bootstrap installs it)")
    argv = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
    for header, value in headers.items():
        argv += ["-H", f"{header}: {value}"]
    if script_args:
        argv += ["--", *script_args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603 - our argv
    result = json.loads(out.strip().splitlines()[-1])
    return Load(name, result["rps"], result["p50"], result["p95"], result["p99"], result["requests"],
                result["errors"])


def script(name: str) -> Path:
    """One of bench/lua's request scripts."""
    return REPORT.with_name(name)
