"""Request bodies are capped at one request's size, except daprd's batched event deliveries."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request

from api.middleware import RequestContextMiddleware

LIMIT = 1024


def capped_app() -> FastAPI:
    app = FastAPI()

    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_api_route("/events/orders/completed", echo, methods=["POST"])
    app.add_api_route("/v1/customers", echo, methods=["POST"])
    app.add_middleware(RequestContextMiddleware, max_body_bytes=LIMIT, delivery_prefix="/events/",
                       max_delivery_bytes=LIMIT * 100)
    return app


@pytest.mark.parametrize(("path", "size", "status"), [
    ("/v1/customers", LIMIT + 1, 413),
    ("/v1/customers", LIMIT, 200),
    ("/events/orders/completed", LIMIT * 50, 200),  # a batch of events
    ("/events/orders/completed", LIMIT * 100 + 1, 413),
])
async def test_a_body_is_capped_by_its_route(path: str, size: int, status: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=capped_app()), base_url="http://app") as client:
        response = await client.post(path, content=b"x" * size)
    assert response.status_code == status
    if status == 413:
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    else:
        assert response.json() == {"received": size}
