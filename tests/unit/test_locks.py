"""The two locks agree: the runtime's is the dev lock's subset at the same versions and hashes, holds every
runtime dependency of pyproject.toml, and none of the test, lint or bench tools."""

from __future__ import annotations

import re
import tomllib

from devstack.stack import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)((?:\s*\\\n\s+--hash=\S+)+)", re.M)


def pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Package (normalised) -> (version, hashes)."""
    text = (REQUIREMENTS / name).read_text()
    return {re.sub(r"[-_.]+", "-", m[1]).lower(): (m[2], frozenset(re.findall(r"--hash=(\S+)", m[3])))
            for m in PIN.finditer(text)}


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0]).lower()
            for requirement in requirements}


def test_every_pin_has_hashes_and_the_runtime_lock_is_the_dev_locks_subset() -> None:
    runtime, dev = pins("runtime.lock"), pins("dev.lock")
    text = (REQUIREMENTS / "runtime.lock").read_text()
    assert len(runtime) == text.count("==")
    assert all(hashes for _, hashes in runtime.values())
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_runtime_lock_has_the_runtime_dependencies_and_no_dev_tool() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = pins("runtime.lock")
    assert requirement_names(project["dependencies"]) <= set(runtime)
    assert requirement_names(project["optional-dependencies"]["dev"]).isdisjoint(runtime)
