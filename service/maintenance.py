"""Periodic work, every SEGMENT_UPDATE_INTERVAL seconds, on one replica at a time.

- Monthly partitions of customer_activities for this month and the next.
- The segment sweep: customers whose next segment boundary has passed get their actor's
  review_segment called, catching anything a reminder missed.
- The currency sweep: customers with orders kept apart in a currency that now has an exchange rate get
  their actor's count_in_usd called (domain/orders.py).
- The retention of every store of personal data (service/retention.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from actors import interface as methods
from actors.client import ActorCalls, ActorUnavailable
from actors.interface import ActorMethod
from actors.messages import QUERY, Query, Reviewed
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
                await self.sweep_currencies()
                await self._retention.enforce()
            except StoreUnavailable as exc:
                log.warning("maintenance skipped, database unavailable: %s", exc)
            except RedisError as exc:
                log.warning("retention incomplete, the pub/sub's Redis failed (the outbox rows stay): %s", exc)

    async def sweep_segments(self) -> int:
        due = await self._selected(lambda: self._read_models.customers_due_for_review(
            now=self._clock.now(), limit=SWEEP_BATCH))
        return await self._call_each(due, methods.REVIEW_SEGMENT, "segment sweep reviewed")

    async def sweep_currencies(self) -> int:
        awaiting = await self._selected(lambda: self._read_models.customers_with_orders_awaiting_a_rate(
            limit=SWEEP_BATCH))
        return await self._call_each(awaiting, methods.COUNT_IN_USD, "currency sweep counted the orders of")

    async def _selected(self, select: Callable[[], Awaitable[list[str]]]) -> list[str]:
        # One replica sweeps at a time: the lock is the primary's, the selection may come from a read replica.
        async with self._store.exclusive(SWEEP_LOCK_ID) as held:
            return [] if held is None else await select()

    async def _call_each(self, customer_ids: list[str], method: ActorMethod[Query, Reviewed], done: str) -> int:
        called = 0
        for customer_id in customer_ids:
            try:
                await self._actors.call(customer_id, method, QUERY)
                called += 1
            except (DomainError, ActorUnavailable) as exc:
                log.warning("%s: %s not called: %s", method.name, customer_id, exc)
        if called:
            log.info("%s %d customer(s)", done, called)
        return called
