"""Reaching one customer's data: who may, which id is valid, and reads served from the view cache."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from actors.client import CustomerActorClient
from api.auth import Principal, authorize_customer
from domain.errors import not_found
from domain.ids import customer_uuid
from service.bootstrap import Container

CustomerId = Annotated[str, Path(description="Customer id, cust_ followed by 32 hex digits")]


def reach(principal: Principal, customer_id: str, scope: str, *, services: bool = True) -> str:
    """Authorizes the call, then checks the id; an id that can't name a customer is a 404."""
    authorize_customer(principal, customer_id, scope, services=services)
    if customer_uuid(customer_id) is None:
        raise not_found(customer_id)
    return customer_id


async def read_through(container: Container, actors: CustomerActorClient, *, key: str, customer_id: str,
                       method: str, field: str) -> Any:
    """The cached view if there is one, else the actor's answer (the actor refreshes the cache)."""
    cached = await container.cache.get(key)
    return cached if cached is not None else (await actors.call(customer_id, method))[field]
