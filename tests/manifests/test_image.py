"""The production image's recipe, checked offline (no container engine runs here, and no registry
answers: the image itself is built by the release pipeline): the Dockerfile passes hadolint, installs
only the runtime lock with its hashes, runs as a non-root user, and its build context holds only the
service's own packages."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from devstack.stack import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
SERVICE_PACKAGES = {"telemetry", "domain", "persistence", "actors", "api", "subscriptions", "service"}


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(REPO_ROOT / ".venv" / "bin" / "hadolint"))
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_image_installs_the_runtime_lock_only_and_runs_as_a_user() -> None:
    steps = instructions()
    runs = [argument for instruction, argument in steps if instruction == "RUN"]
    assert any("--require-hashes -r /tmp/runtime.lock" in run for run in runs)
    assert not any("dev.lock" in argument for _, argument in steps)
    bases = [argument for instruction, argument in steps if instruction == "FROM"]
    assert bases
    assert all(base.split()[0] == "${BASE_IMAGE}" for base in bases)
    assert ("ARG", "BASE_IMAGE") in steps  # no default: the digest is always given
    final_stage = steps[max(i for i, (instruction, _) in enumerate(steps) if instruction == "FROM"):]
    assert ("USER", "10001:10001") in final_stage
    copied = {argument.split()[0] for instruction, argument in final_stage if instruction == "COPY"
              and not argument.startswith("--from")}
    assert copied == SERVICE_PACKAGES


def test_the_build_context_admits_only_what_is_copied() -> None:
    rules = [line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
             if line and not line.startswith("#")]
    assert rules[0] == "*"
    admitted = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    assert admitted == SERVICE_PACKAGES | {"requirements/runtime.lock"}
