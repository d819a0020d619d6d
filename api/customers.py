"""Customer accounts: create, read, update, deactivate, GDPR export and erasure, password change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from actors import messages as m
from api.access import AccountCreator, ReadCustomer, ReadOwnCustomer, WriteCustomer, WriteOwnCustomer
from api.auth import Principal
from api.dependencies import Actors, Cache, Hashing, Origin, Policy, Throttle
from api.schemas import ERRORS, ChangePasswordIn, CreateCustomerIn, CustomerData, Envelope, UpdateCustomerIn, envelope
from api.views import customer_response, customer_view
from domain.ids import new_customer_id
from domain.validation import check_email, check_password

router = APIRouter(prefix="/v1/customers", tags=["customers"])


def consent_source(principal: Principal, how: str) -> str:
    """Who made a consent change, as recorded in its history: the customer, or the service subject."""
    who = "customer" if principal.is_customer else "service"
    return f"{how}:{who}:{principal.subject}"[:200]


@router.post("", status_code=201, response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Create a customer account")
async def create_customer(body: CreateCustomerIn, principal: AccountCreator, actors: Actors, policy: Policy,
                          hashing: Hashing, origin: Origin) -> Response:
    email = check_email(body.email)
    check_password(body.password, min_length=policy.password_min_length, email=email)
    password_hash = await hashing.hash(body.password)
    customer_id = new_customer_id()
    view = await actors.create(customer_id, m.CreateCustomer(
        email=email, password_hash=password_hash, profile=body.profile.changes(),
        preferences=body.preferences.changes(), consent_source=consent_source(principal, "registration"),
        origin=origin))
    return customer_response(view, status_code=201, headers={"Location": f"/v1/customers/{customer_id}"})


@router.get("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS, summary="Get a customer")
async def get_customer(access: ReadCustomer, actors: Actors, cache: Cache) -> Response:
    return customer_response(await customer_view(cache, actors, access.customer_id))


@router.put("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Update profile and preferences (partial; nested preferences merge)")
async def update_customer(access: WriteCustomer, body: UpdateCustomerIn, actors: Actors, origin: Origin,
                          if_match: Annotated[str | None, Header()] = None) -> Response:
    principal = access.principal
    changes = body.changes()
    view = await actors.update(access.customer_id, m.UpdateCustomer(
        email=body.email, profile=changes.get("profile") or {}, preferences=changes.get("preferences") or {},
        if_match=if_match,
        source=consent_source(principal, "update"),
        origin=origin))
    return customer_response(view)


@router.delete("/{customer_id}", response_model=Envelope[CustomerData], responses=ERRORS,
               summary="Deactivate a customer account (idempotent)")
async def deactivate_customer(access: WriteOwnCustomer, actors: Actors, origin: Origin) -> Response:
    return customer_response(await actors.deactivate(access.customer_id, m.Deactivate(origin=origin)))


@router.get("/{customer_id}/export", responses=ERRORS,
            summary="GDPR access: every piece of personal data held about the customer")
async def export_customer(access: ReadOwnCustomer, actors: Actors) -> dict[str, Any]:
    return envelope({"export": (await actors.export(access.customer_id)).export})


@router.post("/{customer_id}/erasure", responses=ERRORS,
             summary="GDPR erasure: anonymise the customer and announce customers.customer.erased")
async def erase_customer(access: WriteOwnCustomer, actors: Actors, origin: Origin) -> dict[str, Any]:
    result = await actors.erase(access.customer_id, m.Erase(origin=origin))
    return envelope({"customerId": access.customer_id, "erased": True, "changed": result.changed})


@router.put("/{customer_id}/password", status_code=204, responses=ERRORS,
            summary="Change the password; the current password is always required")
async def change_password(access: WriteOwnCustomer, body: ChangePasswordIn, actors: Actors, throttle: Throttle,
                          origin: Origin) -> Response:
    # Counted before the current password is checked, like a login: no unlimited guessing here either.
    # Per account only: the client address seen here is the caller's sidecar, shared by every caller.
    await throttle.attempt(account=access.customer_id, client=None)
    await actors.change_password(access.customer_id, m.ChangePassword(
        current_password=body.current_password, new_password=body.new_password, origin=origin))
    await throttle.succeeded(account=access.customer_id)
    return Response(status_code=204)
