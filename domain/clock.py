"""Time, injectable.

Production runs at rate 1. Tests run the service with a fast clock (CLOCK_RATE, CLOCK_ANCHOR) so that
months of segment decay pass in seconds while reminders still fire through Dapr's real scheduler:
domain time is anchor + (wall time - anchor) * rate, the same in every process given the same settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Clock:
    rate: float = 1.0
    anchor: float = 0.0

    def now(self) -> datetime:
        wall = time.time()
        return datetime.fromtimestamp(self.anchor + (wall - self.anchor) * self.rate, UTC)

    def wall_delay(self, until: datetime) -> timedelta:
        """How long to wait in wall time until domain time reaches `until` (zero if it has)."""
        remaining = (until - self.now()).total_seconds() / self.rate
        return timedelta(seconds=max(remaining, 0.0))


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
