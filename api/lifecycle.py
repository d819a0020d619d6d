"""The customer lifecycle beyond deactivation: reactivation, suspension and its lifting, and the
verification flags (see domain/customer.py for which transition applies from which status)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from actors import interface as methods
from actors import messages as m
from api.access import AdminCustomer, CredentialsCustomer, WriteOwnCustomer
from api.dependencies import Actors, Origin, Throttle
from api.idempotency import IdempotencyKey
from api.schemas import ERRORS, CustomerData, Envelope, ReactivateIn, SuspensionIn, VerificationIn
from api.views import customer_response
from domain.errors import invalid

router = APIRouter(prefix="/v1/customers", tags=["lifecycle"])


@router.post("/{customer_id:customer}/reactivation", response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Reactivate an inactive account: the owner with its password, or an admin")
async def reactivate(access: WriteOwnCustomer, body: ReactivateIn, actors: Actors, throttle: Throttle,
                     origin: Origin, idempotency: IdempotencyKey) -> Response:
    by_admin = access.principal.is_admin and access.principal.subject != access.customer_id
    if not by_admin:
        if body.password is None:
            raise invalid("password", "the owner reactivates with a fresh password check")
        await throttle.attempt(account=access.customer_id, client=None)  # per account, as a password change
    view = await actors.call(access.customer_id, methods.REACTIVATE, m.Reactivate(
        password=None if by_admin else body.password, origin=origin, **idempotency.command(access.principal, body)))
    if not by_admin:
        await throttle.succeeded(account=access.customer_id)
    return customer_response(view)


@router.post("/{customer_id:customer}/suspension", response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Suspend a customer, with a reason (admin): no login, no change; services still read")
async def suspend(access: AdminCustomer, body: SuspensionIn, actors: Actors, origin: Origin,
                  idempotency: IdempotencyKey) -> Response:
    return customer_response(await actors.call(access.customer_id, methods.SUSPEND, m.Suspend(
        reason=body.reason, set_by=access.principal.subject, origin=origin,
        **idempotency.command(access.principal, body))))


@router.delete("/{customer_id:customer}/suspension", response_model=Envelope[CustomerData], responses=ERRORS,
               summary="Lift a suspension, with a reason (admin)")
async def lift_suspension(access: AdminCustomer, body: SuspensionIn, actors: Actors, origin: Origin,
                          idempotency: IdempotencyKey) -> Response:
    return customer_response(await actors.call(access.customer_id, methods.LIFT_SUSPENSION, m.LiftSuspension(
        reason=body.reason, set_by=access.principal.subject, origin=origin,
        **idempotency.command(access.principal, body))))


@router.post("/{customer_id:customer}/verification", response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Mark the email address or phone number verified (scope customers:credentials)")
async def verify(access: CredentialsCustomer, body: VerificationIn, actors: Actors, origin: Origin,
                 idempotency: IdempotencyKey) -> Response:
    return customer_response(await actors.call(access.customer_id, methods.VERIFY, m.Verify(
        channel=body.channel, origin=origin, **idempotency.command(access.principal, body))))
