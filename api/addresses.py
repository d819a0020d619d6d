"""The address book: at most 10 addresses, one default per type (see domain/addresses.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.access import CustomerId, reach, read_through
from api.auth import READ, WRITE
from api.dependencies import ActorsDep, ContainerDep, CorrelationIdDep, PrincipalDep, RequestContextDep
from api.schemas import ERRORS, AddressIn, envelope
from domain.addresses import address_not_found
from domain.ids import address_uuid
from persistence.cache import addresses_key

router = APIRouter(prefix="/v1/customers", tags=["addresses"])


def valid_address_id(address_id: str) -> str:
    if address_uuid(address_id) is None:
        raise address_not_found(address_id)
    return address_id


@router.get("/{customer_id}/addresses", responses=ERRORS, summary="The customer's address book")
async def list_addresses(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                         container: ContainerDep) -> dict[str, Any]:
    reach(principal, customer_id, READ)
    return envelope({"addresses": await read_through(container, actors, key=addresses_key(customer_id),
                                                     customer_id=customer_id, method="list_addresses",
                                                     field="addresses")})


@router.post("/{customer_id}/addresses", status_code=201, responses=ERRORS, summary="Add an address")
async def add_address(customer_id: CustomerId, body: AddressIn, principal: PrincipalDep, actors: ActorsDep,
                      correlation_id: CorrelationIdDep, context: RequestContextDep,
                      response: Response) -> dict[str, Any]:
    reach(principal, customer_id, WRITE)
    result = await actors.call(customer_id, "add_address", {
        "address": body.changes(), "correlationId": correlation_id, "context": context})
    response.headers["Location"] = f"/v1/customers/{customer_id}/addresses/{result['address']['id']}"
    return envelope({"address": result["address"]})


@router.put("/{customer_id}/addresses/{address_id}", responses=ERRORS, summary="Update an address (partial)")
async def update_address(customer_id: CustomerId, address_id: str, body: AddressIn, principal: PrincipalDep,
                         actors: ActorsDep, correlation_id: CorrelationIdDep,
                         context: RequestContextDep) -> dict[str, Any]:
    reach(principal, customer_id, WRITE)
    result = await actors.call(customer_id, "update_address", {
        "addressId": valid_address_id(address_id), "changes": body.changes(), "correlationId": correlation_id,
        "context": context})
    return envelope({"address": result["address"]})


@router.delete("/{customer_id}/addresses/{address_id}", status_code=204, responses=ERRORS,
               summary="Remove an address; a removed default is replaced by the oldest of its type")
async def remove_address(customer_id: CustomerId, address_id: str, principal: PrincipalDep, actors: ActorsDep,
                         correlation_id: CorrelationIdDep, context: RequestContextDep) -> Response:
    reach(principal, customer_id, WRITE)
    await actors.call(customer_id, "remove_address", {
        "addressId": valid_address_id(address_id), "correlationId": correlation_id, "context": context})
    return Response(status_code=204)
