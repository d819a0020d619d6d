"""Periodic work, every SEGMENT_UPDATE_INTERVAL seconds, on one replica at a time.

- Monthly partitions of customer_activities for this month and the next.
- The segment sweep: customers whose next segment boundary has passed get their actor's
  review_segment called, catching anything a reminder missed.
- The retention of every store of personal data (service/retention.py).
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from actors import interface as methods
from actors.client import ActorCalls, ActorUnavailable
from actors.messages import QUERY
from domain.clock import Clock
from domain.errors import DomainError
from persistence.read_models import ReadModels
from persistence.store import Store, StoreUnavailable
from service.retention import Retention

log = logging.getLogger(__name__)

SWEEP_LOCK_ID = 7_120_002
SWEEP_BATCH = 500


class Maintenance:
    def __init__(self, store: Store, read_models: ReadModels, retention: Retention, actors: ActorCalls,
                 clock: Clock, *, interval_seconds: int) -> None:
        self._store = store
        self._read_models = read_models
        self._retention = retention
        self._actors = actors
        self._clock = clock
        self._interval = interval_seconds

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._store.ensure_activity_partitions(self._clock.now())
                await self.sweep_segments()
                await self._retention.enforce()
            except StoreUnavailable as exc:
                log.warning("maintenance skipped, database unavailable: %s", exc)
            except RedisError as exc:
                log.warning("retention incomplete, the pub/sub's Redis failed (the outbox rows stay): %s", exc)

    async def sweep_segments(self) -> int:
        # One replica sweeps at a time: the lock is the primary's, the selection may come from a read replica.
        async with self._store.exclusive(SWEEP_LOCK_ID) as held:
            if held is None:
                return 0
            due = await self._read_models.customers_due_for_review(now=self._clock.now(), limit=SWEEP_BATCH)
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
