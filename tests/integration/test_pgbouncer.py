"""Why DATABASE_PGBOUNCER exists, against a real PgBouncer in transaction mode (tests/integration/test_store.py
runs the whole store through it): statements kept prepared break there, and LISTEN must bypass it."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import pytest

from persistence.store import Store


async def statement_run_twice_while_another_client_holds_its_server(pgbouncer_url: str, **options: int) -> int:
    """A client prepares a statement on the one server connection PgBouncer has opened; another client
    holds that connection in a transaction; the first runs its statement again, on a second server."""
    first, second = (await asyncpg.connect(pgbouncer_url, **options),
                     await asyncpg.connect(pgbouncer_url, **options))
    try:
        await first.fetchval("SELECT 1 + $1::int", 1)
        async with second.transaction():
            await second.fetchval("SELECT 1")
            answer: int = await first.fetchval("SELECT 1 + $1::int", 2)
        return answer
    finally:
        await asyncio.gather(first.close(), second.close())


async def test_statements_kept_prepared_are_lost_through_a_transaction_pooler(pgbouncer_url: str) -> None:
    with pytest.raises(asyncpg.InvalidSQLStatementNameError):
        await statement_run_twice_while_another_client_holds_its_server(pgbouncer_url)
    # As Store.connect(pgbouncer=True) opens its connections:
    assert await statement_run_twice_while_another_client_holds_its_server(pgbouncer_url,
                                                                           statement_cache_size=0) == 3


async def test_listen_goes_to_the_primary_itself(pgbouncer_url: str, database_url: str) -> None:
    store = await Store.connect(pgbouncer_url, max_connections=2, source="customer-service-it", pgbouncer=True,
                                listen_url=database_url)
    try:
        listener = await store.dedicated_connection()
        try:
            assert await listener.fetchval("SELECT inet_server_port()") == urlsplit(database_url).port
        finally:
            await listener.close()
        async with store.connection() as conn:  # while the pool's connections go through PgBouncer
            assert await conn.fetchval("SHOW port") == str(urlsplit(database_url).port)
            assert urlsplit(pgbouncer_url).port != urlsplit(database_url).port
    finally:
        await store.close()
