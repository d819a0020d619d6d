"""Latency percentiles and throughput, printed one line per measurement."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    latencies_ms: list[float]
    wall_seconds: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def line(self, baseline: Measurement | None = None) -> str:
        text = (f"{self.name:44} n={len(self.latencies_ms):5}  {self.throughput:8.1f}/s  "
                f"p50 {self.percentile(50):7.2f} ms  p95 {self.percentile(95):7.2f} ms  "
                f"p99 {self.percentile(99):7.2f} ms  mean {statistics.fmean(self.latencies_ms):7.2f} ms")
        if baseline is not None:
            text += f"  ({self.percentile(50) / baseline.percentile(50):.2f}x baseline p50)"
        return text
