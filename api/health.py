"""Liveness and readiness. Dapr's actor extension owns GET /healthz, so these live under /health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.access import Public
from api.dependencies import Cache, Records, Sidecar
from persistence.store import StoreUnavailable

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
async def live(_: Public) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="PostgreSQL, Redis and the Dapr sidecar answer", response_model=None)
async def ready(_: Public, records: Records, cache: Cache, sidecar: Sidecar) -> dict[str, Any] | JSONResponse:
    """Ready only with its sidecar: without daprd no actor call, publish or invocation can succeed."""
    checks: dict[str, str] = {"dapr": "ok" if await sidecar.ready() else "unavailable"}
    try:
        await records.ping()
        checks["postgres"] = "ok"
    except StoreUnavailable:
        checks["postgres"] = "unavailable"
    try:
        await cache.ping()
        checks["redis"] = "ok"
    except (RedisError, OSError):
        checks["redis"] = "unavailable"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
