"""Customer accounts: create, read, update, deactivate, GDPR export and erasure, password change."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from api.access import CustomerId, reach
from api.auth import READ, WRITE, forbidden, require_scope
from api.dependencies import ActorsDep, ContainerDep, CorrelationIdDep, PrincipalDep, RequestContextDep
from api.schemas import ERRORS, ChangePasswordIn, CreateCustomerIn, CustomerData, Envelope, UpdateCustomerIn, envelope
from domain.ids import new_customer_id
from domain.passwords import hash_password
from domain.validation import check_email, check_password
from persistence.cache import profile_key

router = APIRouter(prefix="/v1/customers", tags=["customers"])


def _customer_response(result: dict[str, Any], response: Response) -> dict[str, Any]:
    response.headers["ETag"] = result["etag"]
    return envelope({"customer": result["customer"]})


@router.post("", status_code=201, response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Create a customer account")
async def create_customer(body: CreateCustomerIn, principal: PrincipalDep, actors: ActorsDep,
                          container: ContainerDep, correlation_id: CorrelationIdDep,
                          context: RequestContextDep, response: Response) -> dict[str, Any]:
    require_scope(principal, WRITE)
    if principal.is_customer and not principal.is_admin:
        raise forbidden("a customer token cannot create accounts")
    email = check_email(body.email)
    check_password(body.password, min_length=container.settings.password_min_length, email=email)
    password_hash = await asyncio.to_thread(hash_password, body.password)
    customer_id = new_customer_id()
    result = await actors.call(customer_id, "create", {
        "email": email, "passwordHash": password_hash, "profile": body.profile.changes(),
        "preferences": body.preferences.changes(), "correlationId": correlation_id, "context": context,
    })
    response.headers["Location"] = f"/v1/customers/{customer_id}"
    return _customer_response(result, response)


@router.get("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Get a customer")
async def get_customer(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                       container: ContainerDep, response: Response) -> dict[str, Any]:
    reach(principal, customer_id, READ)
    cached = await container.cache.get(profile_key(customer_id))
    return _customer_response(cached if cached is not None else await actors.call(customer_id, "get"), response)


@router.put("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Update profile and preferences (partial; nested preferences merge)")
async def update_customer(customer_id: CustomerId, body: UpdateCustomerIn, principal: PrincipalDep,
                          actors: ActorsDep, correlation_id: CorrelationIdDep, context: RequestContextDep,
                          response: Response,
                          if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    reach(principal, customer_id, WRITE)
    changes = body.changes()
    result = await actors.call(customer_id, "update", {
        "profile": changes.get("profile") or {}, "preferences": changes.get("preferences") or {},
        "ifMatch": if_match, "correlationId": correlation_id, "context": context,
        "source": "admin" if principal.is_admin and principal.subject != customer_id else "customer",
    })
    return _customer_response(result, response)


@router.delete("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS,
               summary="Deactivate a customer account (idempotent)")
async def deactivate_customer(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                              correlation_id: CorrelationIdDep, context: RequestContextDep,
                              response: Response) -> dict[str, Any]:
    reach(principal, customer_id, WRITE, services=False)
    result = await actors.call(customer_id, "deactivate", {"correlationId": correlation_id, "context": context})
    return _customer_response(result, response)


@router.get("/{customer_id}/export", responses=ERRORS,
            summary="GDPR access: every piece of personal data held about the customer")
async def export_customer(customer_id: CustomerId, principal: PrincipalDep,
                          actors: ActorsDep) -> dict[str, Any]:
    reach(principal, customer_id, READ, services=False)
    result = await actors.call(customer_id, "export")
    return envelope({"export": result["export"]})


@router.post("/{customer_id}/erasure", responses=ERRORS,
             summary="GDPR erasure: anonymise the customer and announce customers.customer.erased")
async def erase_customer(customer_id: CustomerId, principal: PrincipalDep, actors: ActorsDep,
                         correlation_id: CorrelationIdDep) -> dict[str, Any]:
    reach(principal, customer_id, WRITE, services=False)
    result = await actors.call(customer_id, "erase", {"correlationId": correlation_id})
    return envelope({"customerId": customer_id, "erased": True, "changed": result["changed"]})


@router.put("/{customer_id}/password", status_code=204, responses=ERRORS,
            summary="Change the password; the current password is always required")
async def change_password(customer_id: CustomerId, body: ChangePasswordIn, principal: PrincipalDep,
                          actors: ActorsDep, correlation_id: CorrelationIdDep,
                          context: RequestContextDep) -> Response:
    reach(principal, customer_id, WRITE, services=False)
    await actors.call(customer_id, "change_password", {
        "currentPassword": body.current_password, "newPassword": body.new_password,
        "correlationId": correlation_id, "context": context,
    })
    return Response(status_code=204)

