"""Customer accounts: create, read, update, deactivate, GDPR export and erasure, password change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response

from actors import interface as methods
from actors import messages as m
from actors.messages import QUERY
from api.access import (
    AccountCreator,
    ReadCustomer,
    ReadOwnCustomer,
    ServiceReader,
    WriteCustomer,
    WriteOwnCustomer,
)
from api.auth import ADMIN, CREDENTIALS, Principal, forbidden
from api.dependencies import Actors, Cache, Hashing, Origin, Policy, Reads, Throttle
from api.idempotency import IdempotencyKey
from api.schemas import ERRORS, ChangePasswordIn, CreateCustomerIn, CustomerData, Envelope, UpdateCustomerIn, envelope
from api.views import customer_response, customer_view
from domain.customer import EXTERNAL_ID_PATTERN
from domain.errors import DomainError, ErrorCode
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
                          hashing: Hashing, origin: Origin, idempotency: IdempotencyKey) -> Response:
    email = check_email(body.email)
    check_password(body.password, min_length=policy.password_min_length, email=email)
    password_hash = await hashing.hash(body.password)
    customer_id = idempotency.customer_id(principal) or new_customer_id()
    view = await actors.call(customer_id, methods.CREATE, m.CreateCustomer(
        email=email, password_hash=password_hash, profile=body.profile.changes(),
        preferences=body.preferences.changes(), consent_source=consent_source(principal, "registration"),
        external_id=body.externalId, origin=origin, **idempotency.command(principal, body)))
    return customer_response(view, status_code=201, headers={"Location": f"/v1/customers/{customer_id}"})


@router.get("/external-ids/{external_id}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Get a customer by the id another system knows it by (services and admins)")
async def get_customer_by_external_id(
        _: ServiceReader, external_id: Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN)], reads: Reads,
        actors: Actors, cache: Cache) -> Response:
    customer_id = await reads.customer_with_external_id(external_id)
    if customer_id is None:
        raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND, "no customer has this external id")
    return customer_response(await customer_view(cache, actors, customer_id))


@router.get("/{customer_id:customer}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Get a customer")
async def get_customer(access: ReadCustomer, actors: Actors, cache: Cache) -> Response:
    return customer_response(await customer_view(cache, actors, access.customer_id))


@router.put("/{customer_id:customer}", response_model=Envelope[CustomerData], responses=ERRORS,
            summary="Update profile and preferences (partial; nested preferences merge); a new email address "
                    "waits for verification")
async def update_customer(access: WriteCustomer, body: UpdateCustomerIn, actors: Actors, origin: Origin,
                          throttle: Throttle, if_match: Annotated[str | None, Header()] = None) -> Response:
    """An email change is guarded: it gives the current password (checked by the actor, counted like a
    login), or, from a caller with customers:credentials or admin, a reason instead. A customer's own
    token cannot give a reason (403); a service with neither scope cannot change the email (403)."""
    principal = access.principal
    changes = body.changes()
    password = reason = None
    if body.email is not None:
        if principal.is_customer and body.email_change_reason is not None:
            raise forbidden(f"an emailChangeReason is for callers with the {CREDENTIALS} or {ADMIN} scope; "
                            "give currentPassword")
        if not (principal.is_customer or principal.is_admin or CREDENTIALS in principal.scopes):
            raise forbidden(f"changing the email address needs the {CREDENTIALS} or {ADMIN} scope")
        password, reason = body.current_password, body.email_change_reason
        if password is not None:  # a guess is counted; a client resending its unchanged email is not
            await throttle.attempt(account=access.customer_id, client=None)
    view = await actors.call(access.customer_id, methods.UPDATE, m.UpdateCustomer(
        email=body.email, profile=changes.get("profile") or {}, preferences=changes.get("preferences") or {},
        if_match=if_match, source=consent_source(principal, "update"), current_password=password,
        email_change_reason=reason, origin=origin))
    if password is not None:
        await throttle.succeeded(account=access.customer_id)
    return customer_response(view)


@router.delete("/{customer_id:customer}", response_model=Envelope[CustomerData], responses=ERRORS,
               summary="Deactivate a customer account (idempotent)")
async def deactivate_customer(access: WriteOwnCustomer, actors: Actors, origin: Origin,
                              idempotency: IdempotencyKey) -> Response:
    return customer_response(await actors.call(access.customer_id, methods.DEACTIVATE, m.Deactivate(
        origin=origin, **idempotency.command(access.principal))))


@router.get("/{customer_id:customer}/export", responses=ERRORS,
            summary="GDPR access: every piece of personal data held about the customer")
async def export_customer(access: ReadOwnCustomer, actors: Actors) -> dict[str, Any]:
    return envelope({"export": (await actors.call(access.customer_id, methods.EXPORT, QUERY)).export})


@router.post("/{customer_id:customer}/erasure", responses=ERRORS,
             summary="GDPR erasure: anonymise the customer and announce customers.customer.erased")
async def erase_customer(access: WriteOwnCustomer, actors: Actors, origin: Origin,
                         idempotency: IdempotencyKey) -> dict[str, Any]:
    result = await actors.call(access.customer_id, methods.ERASE, m.Erase(
        origin=origin, **idempotency.command(access.principal)))
    return envelope({"customerId": access.customer_id, "erased": True, "changed": result.changed})


@router.put("/{customer_id:customer}/password", status_code=204, responses=ERRORS,
            summary="Change the password; the current password is always required")
async def change_password(access: WriteOwnCustomer, body: ChangePasswordIn, actors: Actors, throttle: Throttle,
                          origin: Origin, idempotency: IdempotencyKey) -> Response:
    # Counted before the current password is checked, like a login: no unlimited guessing here either.
    # Per account only: the client address seen here is the caller's sidecar, shared by every caller.
    await throttle.attempt(account=access.customer_id, client=None)
    await actors.call(access.customer_id, methods.CHANGE_PASSWORD, m.ChangePassword(
        current_password=body.current_password, new_password=body.new_password, origin=origin,
        **idempotency.command(access.principal, body)))
    await throttle.succeeded(account=access.customer_id)
    return Response(status_code=204)
