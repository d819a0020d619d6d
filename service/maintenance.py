"""Periodic work, every SEGMENT_UPDATE_INTERVAL seconds, on one replica at a time.

- Monthly partitions of customer_activities for this month and the next.
- The segment sweep: customers whose next segment boundary has passed get their actor's
  review_segment called, catching anything a reminder missed.
- Outbox rows published more than OUTBOX_RETENTION_DAYS ago are deleted, actor answers older than the
  Idempotency-Key window, and expired reset and verification tokens.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from actors import interface as methods
from actors.client import ActorCalls, ActorUnavailable
from actors.messages import QUERY
from api.idempotency import IDEMPOTENCY_WINDOW
from domain.clock import Clock
from domain.errors import DomainError
from persistence.outbox import Outbox
from persistence.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

SWEEP_LOCK_ID = 7_120_002
SWEEP_BATCH = 500


class Maintenance:
    def __init__(self, store: Store, outbox: Outbox, actors: ActorCalls, clock: Clock, *,
                 interval_seconds: int, outbox_retention: timedelta) -> None:
        self._store = store
        self._outbox = outbox
        self._actors = actors
        self._clock = clock
        self._interval = interval_seconds
        self._outbox_retention = outbox_retention

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._store.ensure_activity_partitions(self._clock.now())
                await self.sweep_segments()
                if pruned := await self._outbox.prune(published_before=self._clock.now() - self._outbox_retention):
                    log.info("pruned %d published outbox row(s)", pruned)
                # daprd's retries come within minutes; clients' Idempotency-Keys are honoured for a day.
                if pruned := await self._store.prune_replies(before=self._clock.now() - IDEMPOTENCY_WINDOW):
                    log.info("pruned %d actor reply row(s)", pruned)
                # Kept past their expiry for the window, so a retried redemption is answered as the first.
                if pruned := await self._store.prune_tokens(expired_before=self._clock.now() - IDEMPOTENCY_WINDOW):
                    log.info("pruned %d expired token(s)", pruned)
            except StoreUnavailable as exc:
                log.warning("maintenance skipped, database unavailable: %s", exc)

    async def sweep_segments(self) -> int:
        due = await self._store.customers_due_for_review(now=self._clock.now(), limit=SWEEP_BATCH,
                                                         lock_id=SWEEP_LOCK_ID)
        reviewed = 0
        for customer_id in due:
            try:
                await self._actors.call(customer_id, methods.REVIEW_SEGMENT, QUERY)
                reviewed += 1
            except (DomainError, ActorUnavailable) as exc:
                log.warning("segment sweep: %s not reviewed: %s", customer_id, exc)
        if reviewed:
            log.info("segment sweep reviewed %d customer(s)", reviewed)
        return reviewed
