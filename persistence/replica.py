"""Reads that tolerate a little lag, from a PostgreSQL streaming replica (DATABASE_READ_URL).

Which database each read uses, and why:

| read                                   | database | why                                                        |
|----------------------------------------|----------|------------------------------------------------------------|
| search (GET /v1/customers)             | replica  | a list across customers; a second-old page is still a page |
| segment counts                         | replica  | totals over every customer, moving all the time anyway     |
| behaviour analytics                    | replica  | counts over 30/90/365-day windows of past activity         |
| the segment sweep's selection          | replica  | a customer it misses is in the next sweep; one it picks    |
|                                        |          | twice is reviewed idempotently by its actor                |
| everything an actor's change reads     | primary  | a turn must see its own writes (and holds the write lock)  |
| the GDPR export                        | primary  | an access request must hold every change already answered  |
| credentials, tokens, idempotent replies| primary  | security decisions and exactly-once need the latest row    |

A read goes to the primary instead (counted in customers_read_replica_fallbacks_total by reason) when
the replica is down or failed the read, or when it lags: it has not replayed what the primary had
written `max_lag` ago (a check every max_lag / 2, in `monitor_forever`). Without DATABASE_READ_URL every
read goes to the primary and nothing is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

import asyncpg

from persistence.store import UNAVAILABLE_ERRORS, Store
from telemetry.metrics import READ_REPLICA_FALLBACKS, READ_REPLICA_LAG

log = logging.getLogger(__name__)
T = TypeVar("T")

# A replica cancels a query that conflicts with the WAL it replays (serialization_failure): the primary
# answers it instead.
FAILED_READS = (*UNAVAILABLE_ERRORS, asyncpg.SerializationError)
WAL_POSITION = "pg_current_wal_lsn() - '0/0'::pg_lsn"
REPLAYED_POSITION = "pg_is_in_recovery(), pg_last_wal_replay_lsn() - '0/0'::pg_lsn"


class ReplicaState(StrEnum):
    SERVING = "serving"
    DOWN = "down"
    LAGGING = "lagging"


class ReadReplica:
    def __init__(self, primary: Store, pool: asyncpg.Pool | None, *, max_lag_seconds: float) -> None:
        self._primary = primary
        self._pool = pool
        self._max_lag = max_lag_seconds
        self._state = ReplicaState.SERVING
        self._primary_positions: deque[tuple[float, int]] = deque()  # (monotonic time, WAL position)

    @classmethod
    async def connect(cls, primary: Store, url: str | None, *, max_connections: int,
                      max_lag_seconds: float) -> ReadReplica:
        """No connection is made until the first read or check, so a replica that is down at start only
        sends reads to the primary."""
        pool = None if url is None else await asyncpg.create_pool(
            url, min_size=0, max_size=max_connections, command_timeout=10, timeout=2)
        return cls(primary, pool, max_lag_seconds=max_lag_seconds)

    @property
    def state(self) -> ReplicaState:
        return self._state

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def read(self, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`query`'s answer from the replica, or from the primary when the replica cannot give it."""
        if self._pool is not None and self._state is ReplicaState.SERVING:
            try:
                async with self._pool.acquire() as conn:
                    return await query(conn)
            except FAILED_READS as exc:
                log.warning("read replica failed a read, the primary answers it: %r", exc)
                READ_REPLICA_FALLBACKS.labels("failed").inc()
                if not isinstance(exc, asyncpg.SerializationError):
                    self._state = ReplicaState.DOWN
        elif self._pool is not None:
            READ_REPLICA_FALLBACKS.labels(self._state.value).inc()
        async with self._primary.connection() as conn:
            return await query(conn)

    async def check(self) -> ReplicaState:
        """Measures the replica against the primary: down, lagging more than max_lag, or serving."""
        if self._pool is None:
            return self._state
        now = time.monotonic()
        try:
            async with self._primary.connection() as conn:
                self._primary_positions.append((now, int(await conn.fetchval(f"SELECT {WAL_POSITION}"))))
        except UNAVAILABLE_ERRORS:
            return self._state  # the primary's outage is not the replica's: nothing to compare with
        try:
            async with self._pool.acquire() as conn:
                in_recovery, replayed = await conn.fetchrow(f"SELECT {REPLAYED_POSITION}")
        except UNAVAILABLE_ERRORS:
            READ_REPLICA_LAG.set(-1)
            return self._become(ReplicaState.DOWN)
        newest = self._primary_positions[-1][1]
        # A promoted replica replays nothing: it is as current as a primary.
        replayed = newest if not in_recovery or replayed is None else int(replayed)
        READ_REPLICA_LAG.set(max(0, newest - replayed))
        while len(self._primary_positions) > 1 and self._primary_positions[1][0] <= now - self._max_lag:
            self._primary_positions.popleft()
        due_at, due = self._primary_positions[0]
        lagging = due_at <= now - self._max_lag and replayed < due
        return self._become(ReplicaState.LAGGING if lagging else ReplicaState.SERVING)

    def _become(self, state: ReplicaState) -> ReplicaState:
        if state is not self._state:
            log.warning("read replica %s (was %s)", state.value, self._state.value)
            self._state = state
        return state

    async def monitor_forever(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._max_lag / 2)
