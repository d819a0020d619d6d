"""The actor method fast path: daprd's method calls reach the actor runtime with their body and
reentrancy id, under the SDK route's template; every other request goes on to FastAPI."""

from __future__ import annotations

from typing import Any

import pytest
from dapr.actor import ActorRuntime
from starlette.types import Message, Receive, Scope, Send

from api.actor_calls import ActorMethodCalls


async def exchange(path: str, *, method: str = "PUT", body: bytes = b"{}",
                   headers: list[tuple[bytes, bytes]] | None = None) -> tuple[list[Message], Scope, list[str]]:
    passed_on: list[str] = []

    async def fastapi(scope: Scope, receive: Receive, send: Send) -> None:
        passed_on.append(scope["path"])

    scope: Scope = {"type": "http", "method": method, "path": path, "headers": headers or []}
    chunks = [{"type": "http.request", "body": body[:2], "more_body": True},
              {"type": "http.request", "body": body[2:], "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await ActorMethodCalls(fastapi)(scope, receive, send)
    return sent, scope, passed_on


async def test_a_method_call_is_dispatched_with_its_body_and_reentrancy_id(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    async def dispatch(*args: Any) -> bytes:
        calls.append(args)
        return b'{"ok": true}'

    monkeypatch.setattr(ActorRuntime, "dispatch", dispatch)
    sent, scope, passed_on = await exchange("/actors/CustomerActor/cust_1/method/update", body=b'{"a": 1}',
                                            headers=[(b"dapr-reentrancy-id", b"r-1")])
    assert calls == [("CustomerActor", "cust_1", "update", b'{"a": 1}', "r-1")]
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"ok": true}'
    assert scope["route"].path == "/actors/{actor_type_name}/{actor_id}/method/{method_name}"
    assert passed_on == []


async def test_a_runtime_failure_is_a_500_without_its_details(monkeypatch: pytest.MonkeyPatch) -> None:
    async def dispatch(*args: Any) -> bytes:
        raise AttributeError("secret detail")

    monkeypatch.setattr(ActorRuntime, "dispatch", dispatch)
    sent, _, _ = await exchange("/actors/CustomerActor/cust_1/method/nope")
    assert sent[0]["status"] == 500
    assert b"secret" not in sent[1]["body"]


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/actors/CustomerActor/cust_1/method/remind/segment-review"),
    ("PUT", "/actors/CustomerActor/cust_1/method/timer/t"),
    ("DELETE", "/actors/CustomerActor/cust_1"),
    ("PUT", "/v1/customers/cust_1"),
    ("GET", "/actors/CustomerActor/cust_1/method/get"),
])
async def test_everything_else_goes_on_to_fastapi(method: str, path: str) -> None:
    sent, _, passed_on = await exchange(path, method=method)
    assert passed_on == [path]
    assert sent == []
