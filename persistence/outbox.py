"""The transactional outbox, as the relay reads it.

Rows are written by `Store.commit` in the transaction of the change they announce. The relay claims
a batch under a transaction-scoped advisory lock (one relay at a time across replicas), in id order,
and marks what it published; a NOTIFY from each committing write wakes it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from persistence.store import OUTBOX_CHANNEL, UNAVAILABLE_ERRORS, Store, unavailable

RELAY_LOCK_ID = 7_120_001


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    topic: str
    payload: dict[str, Any]
    traceparent: str | None  # of the turn that committed the change


class OutboxBatch:
    """Unpublished rows, oldest first, claimed for one relay until the batch closes."""

    def __init__(self, conn: asyncpg.Connection, rows: list[OutboxRow]) -> None:
        self._conn = conn
        self.rows = rows

    async def published(self, row_ids: list[int]) -> None:
        if row_ids:
            await self._conn.execute("UPDATE outbox SET published_at = NOW(), attempts = attempts + 1 "
                                     "WHERE id = ANY($1::bigint[])", row_ids)

    async def failed(self, row_id: int, error: str) -> int:
        """Records a failed attempt; how many attempts the row has had."""
        attempts: int = await self._conn.fetchval(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1 RETURNING attempts",
            row_id, error[:500])
        return attempts

    async def dead_letter(self, row_id: int, reason: str) -> None:
        """Moves a row the pub/sub will never accept out of the way of the rows behind it."""
        await self._conn.execute(
            "WITH moved AS (DELETE FROM outbox WHERE id = $1 RETURNING *) "
            "INSERT INTO outbox_dead_letters (id, event_id, customer_id, topic, payload, created_at, attempts, reason) "
            "SELECT id, event_id, customer_id, topic, payload, created_at, attempts, $2 FROM moved",
            row_id, reason[:500])


class OutboxListener:
    """A LISTEN connection of its own, outside the pool (the pool may recycle its connections)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def closed(self) -> bool:
        return bool(self._conn.is_closed())

    def close(self) -> None:
        self._conn.terminate()


class Outbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[OutboxBatch | None]:
        """The oldest unpublished rows, or None while another replica's relay holds the outbox."""
        async with self._store.exclusive(RELAY_LOCK_ID) as conn:
            if conn is None:
                yield None
                return
            records = await conn.fetch("SELECT id, event_id, topic, payload, traceparent FROM outbox "
                                       "WHERE published_at IS NULL ORDER BY id LIMIT $1", limit)
            yield OutboxBatch(conn, [OutboxRow(r["id"], r["event_id"], r["topic"], json.loads(r["payload"]),
                                               r["traceparent"]) for r in records])

    async def backlog(self) -> tuple[int, float]:
        """Rows not yet published, and the age in seconds of the oldest of them (0 when none)."""
        async with self._store.connection() as conn:
            row = await conn.fetchrow("SELECT count(*) AS n, EXTRACT(EPOCH FROM NOW() - min(created_at)) AS age "
                                      "FROM outbox WHERE published_at IS NULL")
        assert row is not None
        return int(row["n"]), float(row["age"] or 0)

    async def prune(self, *, published_before: datetime) -> int:
        """Deletes rows published before the retention horizon: their events are out, and their payloads
        are copies of personal data nobody needs any more."""
        async with self._store.connection() as conn:
            status = await conn.execute("DELETE FROM outbox WHERE published_at < $1", published_before)
        return int(status.split()[-1])

    async def listen(self, on_notify: Callable[[], None]) -> OutboxListener:
        conn = await self._store.dedicated_connection()
        try:
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: on_notify())
        except UNAVAILABLE_ERRORS as exc:
            conn.terminate()
            raise unavailable(exc) from exc
        return OutboxListener(conn)
