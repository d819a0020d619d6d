"""A Dapr app that only answers its health probe: a neighbour whose app id is what a test is about
(the Loyalty Service that publishes points, an app the access policy admits, an intruder)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
