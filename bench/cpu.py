"""Where a load's CPU goes, from /proc: the whole box's busy time (the budget's measure: every process
on the machine, the load generator included), and each process of the stack, per request.

On a 2-core box every process competes for the same cores, so the CPU per request bounds the
throughput: 2,000 ms of CPU a second / (ms of CPU a request) requests a second, at best.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _box_ticks() -> tuple[int, int]:
    """(ticks the machine spent busy, ticks stolen by the hypervisor) since boot, from /proc/stat's cpu line:
    user nice system idle iowait irq softirq steal. Steal is not the workload's CPU: it is time the
    hypervisor gave to other machines (11% of this box's time in one 5 s sample), and it varies with
    them, so counting it made the same path cost 0.18 ms in one run and 0.24 in the next."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return user + nice + system + irq + softirq, steal


def box_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, steal excluded."""
    return _box_ticks()[0] / TICKS


def box_stolen_seconds() -> float:
    """CPU seconds the hypervisor has taken from this machine since boot."""
    return _box_ticks()[1] / TICKS


def calibration_ms() -> float:
    """The CPU time of a fixed piece of Python work (JSON, hashing, dict and string handling, as a request
    does), best of five: the machine's speed at this moment. On this VM the same request path cost twice
    the CPU at one hour as at another, with no steal to show for it, so each run states its speed and
    figures are compared at the same speed (or in alternating runs)."""
    payload = {"customer": {"id": "cust_" + "0" * 32, "profile": {"firstName": "Ada", "lastName": "Lovelace"},
                            "tags": list(range(20))}, "etag": '"7"'}
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for i in range(4000):
            text = json.dumps({**payload, "n": i})
            hashlib.sha256(text.encode()).hexdigest()
            json.loads(text)["customer"]["profile"].get("firstName", "").upper()
        best = min(best, time.process_time() - started)
    return best * 1000


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
