"""Background workers that must not die: a failure is logged and the worker starts again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def supervise(name: str, run: Callable[[], Awaitable[None]], *, max_backoff: float = 30.0) -> None:
    backoff = 0.5
    while True:
        try:
            await run()
            log.warning("worker %s returned; starting it again", name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s failed; starting it again in %.1fs", name, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
