"""Where a load's CPU goes, from /proc: the whole box's busy time (the budget's measure: every process
on the machine, the load generator included), and each process of the stack, per request.

On a 2-core box every process competes for the same cores, so the CPU per request bounds the
throughput: 2,000 ms of CPU a second / (ms of CPU a request) requests a second, at best.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def box_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICKS  # user nice system idle iowait irq softirq steal


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def cpu_seconds(run_dir: Path) -> dict[str, float]:
    """CPU seconds used so far by each process the stack started (by its pid file's name), and by all
    PostgreSQL processes together (one per connection)."""
    used = {}
    for pid_file in sorted(run_dir.glob("*.pid")):
        try:
            used[pid_file.stem] = _cpu(int(pid_file.read_text().strip()))
        except ValueError:
            continue
    postgres = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" ", 2)[1] == "(postgres)":
                postgres += _cpu(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    used["postgresql"] = postgres
    return used


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """'app 2.1 ms, customer-service-daprd 0.9 ms, ...': CPU ms per request, largest first, and the sum."""
    spent = {name: (after.get(name, 0.0) - before.get(name, 0.0)) * 1000 / max(requests, 1) for name in after}
    shown = sorted(((ms, name) for name, ms in spent.items() if ms >= 0.05), reverse=True)
    total = sum(ms for ms, _ in shown)
    return f"CPU per request {total:.2f} ms: " + ", ".join(f"{name} {ms:.2f}" for ms, name in shown)
