"""Argon2 work off the event loop, a bounded number at a time.

Each argon2id hash or check takes about 64 MiB and tens of milliseconds of a core. Without a bound, a
burst of logins or registrations would start one of each per request and the process would be killed
for its memory; with it, a request that cannot get a slot within the wait is refused with 503 and
Retry-After. The API (registration) and the actor (login, password change) share one pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from domain import passwords
from domain.errors import DomainError, ErrorCode

T = TypeVar("T")


class PasswordHashing:
    def __init__(self, *, concurrency: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._wait = wait_seconds

    async def _run(self, work: Callable[..., T], *args: str | None) -> T:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait)
        except TimeoutError as exc:
            raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, "too many password checks at once; retry shortly",
                              headers={"Retry-After": "1"}) from exc
        try:
            return await asyncio.to_thread(work, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(passwords.hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """None (no account): the work of a wrong password, so timing does not tell them apart."""
        return await self._run(passwords.verify_password, password_hash, password)
