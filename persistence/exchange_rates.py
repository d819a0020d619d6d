"""The exchange-rate table admins set (migration 0013), and the rates actors count orders at.

An actor reads the rates only for an order in a currency other than USD, through a cache of a few seconds,
so a stream of such orders costs one query per replica every few seconds, not one per order. A rate set in
the meantime is missed by at most that long: the order waits apart in its currency, and the maintenance
sweep counts it with a fresh read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock import iso
from domain.orders import ExchangeRate
from persistence.statements import insert
from persistence.store import Store

CACHE_SECONDS = 5.0
SAVE_RATE = insert("exchange_rates", ("currency", "usd_per_unit", "effective_date", "set_by", "set_at"),
                   conflict="currency")


@dataclass(frozen=True)
class RecordedRate:
    rate: ExchangeRate
    set_by: str
    set_at: datetime

    def to_dict(self) -> dict[str, Any]:
        # As given: 1.25, whatever scale PostgreSQL's DECIMAL(18,8) hands back.
        usd_per_unit = format(self.rate.usd_per_unit.normalize(), "f")
        return {"currency": self.rate.currency, "usdPerUnit": usd_per_unit,
                "effectiveDate": self.rate.effective_date.isoformat(), "setBy": self.set_by,
                "setAt": iso(self.set_at)}


class ExchangeRates:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cached: dict[str, ExchangeRate] = {}
        self._read_at = float("-inf")

    async def set(self, *, rate: ExchangeRate, set_by: str, at: datetime) -> RecordedRate:
        async with self._store.connection() as conn:
            await conn.execute(SAVE_RATE.sql, *SAVE_RATE.args({
                "currency": rate.currency, "usd_per_unit": rate.usd_per_unit, "effective_date": rate.effective_date,
                "set_by": set_by, "set_at": at}))
        self._read_at = float("-inf")
        return RecordedRate(rate, set_by, at)

    async def recorded(self) -> list[RecordedRate]:
        """Every rate with who set it and when, by currency."""
        async with self._store.connection() as conn:
            rows = await conn.fetch("SELECT currency, usd_per_unit, effective_date, set_by, set_at "
                                    "FROM exchange_rates ORDER BY currency")
        return [RecordedRate(ExchangeRate(r["currency"], r["usd_per_unit"], r["effective_date"]), r["set_by"],
                             r["set_at"]) for r in rows]

    async def current(self, *, max_age_seconds: float = CACHE_SECONDS) -> dict[str, ExchangeRate]:
        """The rates by currency, read again if the copy in hand is older than `max_age_seconds`."""
        if time.monotonic() - self._read_at > max_age_seconds:
            self._cached = {r.rate.currency: r.rate for r in await self.recorded()}
            self._read_at = time.monotonic()
        return self._cached
