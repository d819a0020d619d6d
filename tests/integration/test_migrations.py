"""Deploy order: each app pod's init container waits until every migration of its image is applied (the
migration Job applies them as the schema owner), so a new version never serves on an older schema."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from devstack.stack import REPO_ROOT, Stack
from persistence.migrations import apply_migrations, wait_until_applied


@pytest.fixture
def empty_database(stack: Stack) -> Iterator[str]:
    """A database of its own on the stack's PostgreSQL, with no schema yet."""
    primary = stack.local_postgres
    if primary is None:
        pytest.skip("needs the project's own PostgreSQL process to create a database on it")
    name = f"customers_fresh_{uuid.uuid4().hex[:8]}"
    admin_url = f"postgresql://postgres@127.0.0.1:{primary.port}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER customers")
    yield primary.url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def wait(database_url: str, seconds: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "persistence.migrations", "--wait", str(seconds)],
                          env={"DATABASE_URL": database_url, "PATH": ""}, cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)


def test_the_wait_is_over_at_once_on_a_migrated_database(database_url: str) -> None:
    assert wait_until_applied(database_url, timeout_seconds=0) is None
    assert wait(database_url, 5).returncode == 0


def test_the_wait_lasts_until_the_migrations_are_applied(empty_database: str) -> None:
    refused = wait(empty_database, 1)
    assert refused.returncode == 1
    assert "0001.customers-schema" in refused.stderr  # says what it was waiting for

    threading.Timer(1.5, apply_migrations, args=(empty_database,)).start()
    started = time.monotonic()
    assert wait_until_applied(empty_database, timeout_seconds=60, interval_seconds=0.2) is None
    assert time.monotonic() - started >= 1.5
