"""Background processes owned by the local stack: started detached, tracked by pid files, logged to files."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("devstack")


class StackError(RuntimeError):
    """A part of the stack could not be started; the message says which and where its log is."""


@dataclass(frozen=True)
class ManagedProcess:
    """One long-running process of the stack (placement, scheduler, daprd, the app)."""

    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        if (pid := self.pid()) is not None:
            log.info("%s already running (pid %d)", self.name, pid)
            return pid
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - argv is built by the stack, never from input
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        log.info("started %s (pid %d), log %s", self.name, proc.pid, self.log_file)
        return proc.pid

    def stop(self, timeout: float = 15.0) -> None:
        pid = self.pid()
        if pid is not None:
            _terminate_group(pid, timeout)
            log.info("stopped %s (pid %d)", self.name, pid)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """Ends the process at once, as a crash would: no shutdown hooks run."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, 10.0)
        self.pid_file.unlink(missing_ok=True)

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid() is None:
                raise StackError(f"{self.name} exited before {what}; see {self.log_file}:\n{self.tail()}")
            time.sleep(0.1)
        raise StackError(f"{self.name} not {what} after {timeout:.0f}s; see {self.log_file}:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _terminate_group(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)


def http_ok(url: str, *, timeout: float = 1.0, headers: Mapping[str, str] | None = None) -> bool:
    try:
        request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - loopback URLs only
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback URLs only
            status: int = response.status
            return 200 <= status < 300
    except (urllib.error.URLError, OSError):
        return False


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return bool(sock.connect_ex((host, port)) == 0)


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def _below_the_ephemeral_range() -> range:
    try:
        first = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768  # Linux's default
    return range(max(1024, first - 12_000), first)


def free_port() -> int:
    """A free loopback port for a server of the stack, below the kernel's ephemeral range. A port the kernel
    hands out for bind(0) comes from that range, and in the moment before the server meant to take it
    starts, the kernel can give it to an outgoing connection as its source port: a daprd then failed with
    "bind: address already in use" (seen in a clean-clone CI run and in a bench run). Below the range no
    outgoing connection takes it; each port is handed out once per process."""
    candidates = _below_the_ephemeral_range()
    for _ in range(1000):
        port = random.choice(candidates)  # noqa: S311 - a port to try, not a secret
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {candidates}")
