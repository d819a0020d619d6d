"""The address book: at most 10 addresses, one default per type (see domain/addresses.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from actors import interface as methods
from actors import messages as m
from api.access import ReadCustomer, WriteCustomer
from api.dependencies import Actors, Cache, Origin
from api.idempotency import IdempotencyKey
from api.schemas import (
    ERRORS,
    AddressBookData,
    AddressChangesIn,
    AddressData,
    AddressIn,
    Envelope,
    envelope,
    json_response,
)
from api.views import address_book
from domain.addresses import address_not_found
from domain.ids import address_uuid

router = APIRouter(prefix="/v1/customers", tags=["addresses"])


# The pattern is documentation: an id that does not match it names no address, and is answered 404.
AddressIdPath = Annotated[str, Path(description="Address id, addr_ followed by 32 hex digits",
                                    json_schema_extra={"pattern": "^addr_[0-9a-f]{32}$"})]


def valid_address_id(address_id: str) -> str:
    if address_uuid(address_id) is None:
        raise address_not_found(address_id)
    return address_id


@router.get("/{customer_id:customer}/addresses", response_model=Envelope[AddressBookData], responses=ERRORS,
            summary="The customer's address book")
async def list_addresses(access: ReadCustomer, actors: Actors, cache: Cache) -> Response:
    return json_response({"addresses": await address_book(cache, actors, access.customer_id)})


@router.post("/{customer_id:customer}/addresses", status_code=201, response_model=Envelope[AddressData],
             responses=ERRORS, summary="Add an address")
async def add_address(access: WriteCustomer, body: AddressIn, actors: Actors, origin: Origin,
                      response: Response, idempotency: IdempotencyKey) -> dict[str, Any]:
    result = await actors.call(access.customer_id, methods.ADD_ADDRESS, m.AddAddress(
        address=body.changes(), origin=origin, **idempotency.command(access.principal, body)))
    response.headers["Location"] = f"/v1/customers/{access.customer_id}/addresses/{result.address['id']}"
    return envelope({"address": result.address})


@router.put("/{customer_id:customer}/addresses/{address_id}", response_model=Envelope[AddressData], responses=ERRORS,
            summary="Update an address (partial)")
async def update_address(access: WriteCustomer, address_id: AddressIdPath, body: AddressChangesIn, actors: Actors,
                         origin: Origin) -> dict[str, Any]:
    result = await actors.call(access.customer_id, methods.UPDATE_ADDRESS, m.UpdateAddress(
        address_id=valid_address_id(address_id), changes=body.changes(), origin=origin))
    return envelope({"address": result.address})


@router.delete("/{customer_id:customer}/addresses/{address_id}", status_code=204, responses=ERRORS,
               summary="Remove an address; a removed default is replaced by the oldest of its type")
async def remove_address(access: WriteCustomer, address_id: AddressIdPath, actors: Actors,
                         origin: Origin) -> Response:
    await actors.call(access.customer_id, methods.REMOVE_ADDRESS,
                      m.RemoveAddress(address_id=valid_address_id(address_id), origin=origin))
    return Response(status_code=204)
