"""How long the service keeps each store of personal data, enforced on every maintenance tick (the README's
Retention table lists each store, its setting and its default).

- Outbox rows: deleted OUTBOX_RETENTION_DAYS after they were published. Before them, every copy of an
  event in the pub/sub's streams that old is trimmed (with a margin for the clocks of Redis and the app):
  the outbox row is how erasure finds a copy, so no copy may outlive its row. If the streams cannot be
  trimmed, the rows stay for the next tick.
- The dead-letter topic's stream and the outbox's dead letters: DEAD_LETTER_RETENTION_DAYS.
- Processed inbound event ids: PROCESSED_EVENTS_RETENTION_DAYS, which must exceed the time a producer's
  event can be delivered again (its stream's retention), or a late redelivery would be applied twice.
- Activities: whole monthly partitions, ACTIVITY_RETENTION_DAYS after their month ended.
- Actor answers kept for Idempotency-Keys, and reset and verification tokens past their expiry: a day
  (api.idempotency.IDEMPOTENCY_WINDOW), so a retry within it is answered as the first was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from api.idempotency import IDEMPOTENCY_WINDOW
from domain.clock import Clock
from domain.events import PUBLISHED_TOPICS
from persistence.outbox import Outbox
from persistence.pubsub_streams import WINDOW, PublishedEventCopies
from persistence.store import Store
from subscriptions.events import DEAD_LETTER_TOPIC

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    outbox: timedelta
    processed_events: timedelta
    dead_letters: timedelta
    activities: timedelta
    published_topics: tuple[str, ...] = PUBLISHED_TOPICS
    dead_letter_topics: tuple[str, ...] = (DEAD_LETTER_TOPIC,)


class Retention:
    def __init__(self, store: Store, outbox: Outbox, copies: PublishedEventCopies, clock: Clock,
                 policy: RetentionPolicy) -> None:
        self._store = store
        self._outbox = outbox
        self._copies = copies
        self._clock = clock
        self._policy = policy

    async def enforce(self) -> None:
        """One pass over every store; raises (and deletes no outbox row) if the streams cannot be trimmed."""
        now, policy = self._clock.now(), self._policy
        self._report("pub/sub stream entr(ies)", await self._copies.trim(
            topics=policy.published_topics, before=now - policy.outbox + WINDOW))
        self._report("dead-letter stream entr(ies)", await self._copies.trim(
            topics=policy.dead_letter_topics, before=now - policy.dead_letters))
        self._report("published outbox row(s)", await self._outbox.prune(published_before=now - policy.outbox))
        self._report("outbox dead letter(s)", await self._store.prune_dead_letters(before=now - policy.dead_letters))
        self._report("processed event id(s)",
                     await self._store.prune_processed_events(before=now - policy.processed_events))
        self._report("activity partition(s)",
                     await self._store.drop_activity_partitions(before=now - policy.activities))
        self._report("actor reply row(s)", await self._store.prune_replies(before=now - IDEMPOTENCY_WINDOW))
        self._report("expired token(s)", await self._store.prune_tokens(expired_before=now - IDEMPOTENCY_WINDOW))

    @staticmethod
    def _report(what: str, count: int) -> None:
        if count:
            log.info("retention: deleted %d %s", count, what)
