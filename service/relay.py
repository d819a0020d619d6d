"""Publishes outbox rows to Dapr pub/sub, in commit order, at least once.

One relay at a time across replicas (a transaction-scoped advisory lock), rows in id order, and a
failed publish stops the batch, so events for one customer keep their order. A crash between
publishing and marking the row published means the event goes out again: duplicates are possible
(consumers de-duplicate on eventId), loss is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncpg

from persistence.store import OUTBOX_CHANNEL, UNAVAILABLE_ERRORS, Store, StoreUnavailable
from service.publisher import DaprPublisher, PublishFailed

log = logging.getLogger(__name__)

RELAY_LOCK_ID = 7_120_001
BATCH_SIZE = 200
LISTEN_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, *UNAVAILABLE_ERRORS)


class OutboxRelay:
    def __init__(self, store: Store, publisher: DaprPublisher, *, idle_poll_seconds: float = 1.0) -> None:
        self._store = store
        self._publisher = publisher
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen(listener)
                try:
                    published = await self.publish_pending()
                except UNAVAILABLE_ERRORS as exc:
                    log.warning("outbox relay: database unavailable: %s", exc)
                    published = 0
                if published == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        finally:
            if listener is not None:
                await listener.close()

    async def _listen(self, previous: asyncpg.Connection | None) -> asyncpg.Connection | None:
        """A NOTIFY from each committing write wakes the relay at once; polling covers missed ones and
        the time the LISTEN connection is being re-established after a database restart."""
        if previous is not None:
            previous.terminate()
        try:
            conn = await self._store.dedicated_connection()
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
            return conn
        except LISTEN_ERRORS as exc:
            log.warning("outbox relay: no LISTEN connection, polling: %s", exc)
            return None

    async def publish_pending(self) -> int:
        published = 0
        async with self._store.exclusive(RELAY_LOCK_ID) as conn:
            if conn is None:
                return 0
            rows = await conn.fetch(
                "SELECT id, event_id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
                BATCH_SIZE,
            )
            done: list[int] = []
            for row in rows:
                payload: dict[str, Any] = json.loads(row["payload"])
                try:
                    await self._publisher.publish(row["topic"], payload, event_id=row["event_id"])
                except PublishFailed as exc:
                    log.warning("outbox relay: %s not published yet: %s", row["event_id"], exc)
                    await conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                                       row["id"], str(exc)[:500])
                    break
                done.append(row["id"])
            if done:
                await conn.execute("UPDATE outbox SET published_at = NOW(), attempts = attempts + 1 "
                                   "WHERE id = ANY($1::bigint[])", done)
                published = len(done)
        return published
