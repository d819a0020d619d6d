"""A stand-in Order Service for e2e tests, run as its own Dapr app ("order-service").

It answers the one endpoint customer-service uses, and can be told to be slow.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

app = FastAPI()
behaviour: dict[str, float] = {"delay_ms": 0}


@app.get("/orders/customer/{customer_id}/summary")
async def summary(customer_id: str) -> dict[str, Any]:
    await asyncio.sleep(behaviour["delay_ms"] / 1000)
    return {"customerId": customer_id, "orderCount": 42, "totalSpent": 4242.42, "openOrders": 1}


@app.put("/control")
async def control(settings: dict[str, float]) -> dict[str, float]:
    behaviour.update(settings)
    return behaviour


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
