"""Copies of a customer's published events in the pub/sub transport: removed at erasure, and trimmed
by age.

Dapr's Redis pub/sub keeps each topic as a Redis stream (key: the topic) whose entries hold the
CloudEvent under "data", and trims a stream only by length (maxLenApprox). An erased customer's
earlier events would stay there until trimmed; the outbox still knows, for every event of the
customer it published, its topic, its event id (the CloudEvent id) and when it was published, so each
copy is found in a few seconds' window of its stream and deleted. The outbox keeps those rows for its
retention only, so the retention (service/retention.py) first trims every copy older than the rows it is
about to delete: no copy outlives the row that finds it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from persistence.redis_connection import RedisClient
from persistence.store import Store

log = logging.getLogger(__name__)

# The relay marks a row published after the batch it was in: the stream entry is at most this much older
# (and the clocks of Redis and the app may differ by a little of it).
WINDOW = timedelta(minutes=2)
WINDOW_MS = int(WINDOW.total_seconds() * 1000)
PAGE = 500


def _carries(fields: dict[bytes | str, bytes | str] | None, event_id: str) -> bool:
    """Whether a stream entry's CloudEvent is the event (its id is the event id)."""
    data = (fields or {}).get(b"data", b"")
    return event_id.encode() in (data if isinstance(data, bytes) else data.encode())


class PublishedEventCopies:
    def __init__(self, store: Store, redis: RedisClient) -> None:
        self._store = store
        self._redis = redis

    async def remove(self, customer_id: str) -> int:
        """Deletes the stream entries of every event published for the customer; how many it found."""
        removed = 0
        for event in await self._store.published_events(customer_id):
            published_ms = int(event.published_at.timestamp() * 1000)
            start, end = f"{published_ms - WINDOW_MS}", f"{published_ms + WINDOW_MS}"
            while True:
                entries = await self._redis.xrange(event.topic, min=start, max=end, count=PAGE) or []
                matching = [entry_id for entry_id, fields in entries
                            if entry_id is not None and _carries(fields, event.event_id)]
                if matching:
                    removed += await self._redis.xdel(event.topic, *matching)
                if len(entries) < PAGE:
                    break
                last = entries[-1][0]
                start = "(" + (last.decode() if isinstance(last, bytes) else str(last))
        log.info("removed %d pub/sub cop(ies) of %s's events", removed, customer_id)
        return removed

    async def trim(self, *, topics: tuple[str, ...], before: datetime) -> int:
        """Deletes every entry of the topics' streams added before `before` (exactly, not approximately)."""
        minid = str(int(before.timestamp() * 1000))
        trimmed = 0
        for topic in topics:
            trimmed += await self._redis.xtrim(topic, minid=minid, approximate=False)
        return trimmed
