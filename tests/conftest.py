"""Infrastructure for the integration and e2e tiers, started once per test session.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set, from testcontainers when a Docker
engine answers, and otherwise from server processes of the project's own under .data/test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import REPO_ROOT, Stack, StackConfig


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    config = StackConfig.for_tests(REPO_ROOT / ".data" / "test")
    stack = Stack(config)
    stack.down()  # whatever an interrupted earlier run left behind
    stack.wipe()
    stack.start_storage()
    stack.migrate()
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def database_url(stack: Stack) -> str:
    return stack.database_url


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    return stack.redis_url
