"""What the integration modules share: the store on the stack's PostgreSQL, one per module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from persistence.store import Store


@pytest.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = await Store.connect(database_url, max_connections=4, source="customer-service-it")
    yield store
    await store.close()
