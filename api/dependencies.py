"""Annotated dependency aliases for the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from actors.client import CustomerActorClient
from api.auth import Principal
from service.bootstrap import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_actors(container: ContainerDep) -> CustomerActorClient:
    return container.actors


ActorsDep = Annotated[CustomerActorClient, Depends(get_actors)]


async def get_principal(
    container: ContainerDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    principal = container.verifier.verify(authorization)
    await container.rate_limiter.check(principal.subject)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def correlation_id(request: Request) -> str:
    value: str = request.state.correlation_id
    return value


CorrelationIdDep = Annotated[str, Depends(correlation_id)]


def request_context(request: Request) -> dict[str, str | None]:
    """Who made the request, recorded with the customer's activity rows."""
    return {
        "session_id": request.headers.get("x-session-id"),
        "ip_address": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent"),
    }


RequestContextDep = Annotated[dict[str, str | None], Depends(request_context)]
