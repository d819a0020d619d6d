"""Publishes outbox rows to Dapr pub/sub, in commit order, at least once.

One relay at a time across replicas, rows in id order, and a failed publish stops the batch, so events
for one customer keep their order. A crash between publishing and marking the row published means
the event goes out again: duplicates are possible (consumers de-duplicate on eventId), loss is not.

A row daprd refuses outright (a 4xx: a topic the pub/sub scopes do not allow, say) would block every
row behind it forever; after PERMANENT_FAILURE_ATTEMPTS such refusals it moves to the
outbox_dead_letters table with the reason, an error is logged for the operators, and the rows behind
it flow on. Transient failures (daprd or Redis down) are retried without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from persistence.outbox import Outbox, OutboxListener
from persistence.store import StoreUnavailable
from service.publisher import DaprPublisher, PublishFailed
from telemetry.metrics import OUTBOX_BACKLOG, OUTBOX_DEAD_LETTERED, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)

BATCH_SIZE = 200
PERMANENT_FAILURE_ATTEMPTS = 3
BACKLOG_MEASURE_SECONDS = 1.0


class OutboxRelay:
    def __init__(self, outbox: Outbox, publisher: DaprPublisher, *, idle_poll_seconds: float = 1.0) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()
        self._measured_at = float("-inf")

    async def run(self) -> None:
        listener: OutboxListener | None = None
        try:
            while True:
                if listener is None or listener.closed:
                    listener = await self._listen(listener)
                try:
                    published = await self.publish_pending()
                    await self._measure_backlog()
                except StoreUnavailable as exc:
                    log.warning("outbox relay: database unavailable: %s", exc)
                    published = 0
                if published == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        finally:
            if listener is not None:
                listener.close()

    async def _measure_backlog(self) -> None:
        """The backlog gauges, at most once a second: under load the relay loops far more often."""
        now = time.monotonic()
        if now - self._measured_at < BACKLOG_MEASURE_SECONDS:
            return
        self._measured_at = now
        backlog, oldest = await self._outbox.backlog()
        OUTBOX_BACKLOG.set(backlog)
        OUTBOX_OLDEST_AGE.set(oldest)

    async def _listen(self, previous: OutboxListener | None) -> OutboxListener | None:
        """A NOTIFY from each committing write wakes the relay at once; polling covers missed ones and
        the time the LISTEN connection is being re-established after a database restart."""
        if previous is not None:
            previous.close()
        try:
            return await self._outbox.listen(self._wake.set)
        except StoreUnavailable as exc:
            log.warning("outbox relay: no LISTEN connection, polling: %s", exc)
            return None

    async def publish_pending(self) -> int:
        async with self._outbox.claim(BATCH_SIZE) as batch:
            if batch is None:
                return 0
            done: list[int] = []
            for row in batch.rows:
                try:
                    await self._publisher.publish(row.topic, row.payload, event_id=row.event_id,
                                                  traceparent=row.traceparent)
                except PublishFailed as exc:
                    attempts = await batch.failed(row.id, str(exc))
                    if exc.permanent and attempts >= PERMANENT_FAILURE_ATTEMPTS:
                        await batch.dead_letter(row.id, str(exc))
                        OUTBOX_DEAD_LETTERED.inc()
                        log.error("ALERT outbox relay: %s to %s dead-lettered after %d refusals: %s",
                                  row.event_id, row.topic, attempts, exc)
                        continue
                    log.warning("outbox relay: %s not published yet: %s", row.event_id, exc)
                    break
                done.append(row.id)
            await batch.published(done)
        return len(done)
