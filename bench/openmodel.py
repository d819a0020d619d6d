"""Latency at a fixed arrival rate, from vegeta (an open-model generator: requests leave on schedule
whether or not earlier ones have been answered, so a slow service meets a queue, as it would in
production). wrk's closed loop at saturation measures its own queue instead; it stays for CPU per
request (bench/wrk.py).

vegeta is built from its Go module by tools/vegeta/build.sh (cached in the user's cache directory).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.stack import REPO_ROOT

BUILD = REPO_ROOT / "tools" / "vegeta" / "build.sh"
MIXED_SHARE = ("get",) * 7 + ("segment", "addresses", "put")  # the mixed load, in wrk's order


@dataclass(frozen=True)
class OpenRun:
    name: str
    rate: int  # requests a second offered
    seconds: int
    achieved: float  # requests a second answered
    p50: float  # ms
    p95: float
    p99: float
    requests: int
    errors: int  # anything but a 2xx, timeouts included

    @property
    def holds_sla(self) -> bool:
        """The issue's bar for this box: P99 under 100 ms with no errors (the spec's P99 is 500 ms)."""
        return self.p99 < 100 and self.errors == 0

    def line(self) -> str:
        return (f"{self.name:38} {self.rate:5d}/s offered {self.achieved:8.1f}/s answered  p50 {self.p50:8.2f} ms  "
                f"p95 {self.p95:8.2f} ms  p99 {self.p99:8.2f} ms  n={self.requests} errors={self.errors}"
                f"  {'holds' if self.holds_sla else 'FAILS'} p99<100ms")


def vegeta() -> str:
    return subprocess.run(["bash", str(BUILD)], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603,S607


def mixed_targets(path: Path, base: str, ids: Sequence[str], headers: Mapping[str, str], *, count: int = 4000) -> Path:
    """vegeta's JSON targets for the mixed load over `ids`, round robin (vegeta cycles through them)."""
    header = {name: [value] for name, value in headers.items()}
    lines = []
    for n in range(1, count + 1):
        customer = f"{base}/v1/customers/{ids[n % len(ids)]}"
        kind = MIXED_SHARE[n % 10]
        if kind == "put":
            body = json.dumps({"profile": {"firstName": f"Bench{n}"}}).encode()
            lines.append({"method": "PUT", "url": customer, "body": base64.b64encode(body).decode(),
                          "header": {**header, "Content-Type": ["application/json"]}})
        else:
            suffix = {"get": "", "segment": "/segment", "addresses": "/addresses"}[kind]
            lines.append({"method": "GET", "url": customer + suffix, "header": header})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def attack(name: str, targets: Path, *, rate: int, seconds: int, binary: str) -> OpenRun:
    """Offers `rate` requests a second for `seconds` from `targets`, then reports vegeta's figures."""
    results = targets.with_suffix(f".{rate}.bin")
    with results.open("wb") as out:
        subprocess.run([binary, "attack", "-format=json", f"-targets={targets}", f"-rate={rate}/s",  # noqa: S603
                        f"-duration={seconds}s", "-timeout=10s", "-keepalive=true"], stdout=out, check=True)
    report = json.loads(subprocess.run([binary, "report", "-type=json", str(results)],  # noqa: S603
                                       capture_output=True, text=True, check=True).stdout)
    results.unlink()
    latencies = report["latencies"]
    ok = sum(count for code, count in report["status_codes"].items() if code.startswith("2"))
    return OpenRun(name, rate, seconds, report["throughput"], latencies["50th"] / 1e6, latencies["95th"] / 1e6,
                   latencies["99th"] / 1e6, report["requests"], report["requests"] - ok)
