"""Liveness and readiness. Dapr's actor extension owns GET /healthz, so these live under /health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.dependencies import ContainerDep
from persistence.store import UNAVAILABLE_ERRORS

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="PostgreSQL and Redis answer", response_model=None)
async def ready(container: ContainerDep) -> dict[str, Any] | JSONResponse:
    checks: dict[str, str] = {}
    try:
        await container.store.pool.fetchval("SELECT 1")
        checks["postgres"] = "ok"
    except UNAVAILABLE_ERRORS as exc:
        checks["postgres"] = f"unavailable: {type(exc).__name__}"
    try:
        await container.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # any Redis failure means not ready
        checks["redis"] = f"unavailable: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
