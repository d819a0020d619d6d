"""Email verification: a token for the address waiting to be confirmed (a new account's, or a changed
one's), issued to the trusted service that mails it, and redeemed to confirm it.

The credentials side (scope customers:credentials) asks for a token when it hears of a new account
(customers.customer.created) or an email change (customers.customer.email_change_requested), and mails
the link to that address. Redeeming sets emailVerified; for a pending change the new address becomes
the login only then. Tokens are single-use, expire after EMAIL_VERIFICATION_TOKEN_TTL, and are void
once another is issued, the pending address changes again, or the customer is erased.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from actors import interface as methods
from actors import messages as m
from api.access import CredentialsService
from api.dependencies import Actors, Origin, Policy, Records
from api.idempotency import IdempotencyKey
from api.schemas import (
    ERRORS,
    CustomerData,
    EmailConfirmationIn,
    EmailVerificationIn,
    Envelope,
    IssuedTokenData,
    envelope,
)
from api.views import customer_response
from domain.clock import iso
from domain.errors import invalid_token, not_found
from domain.ids import customer_uuid
from domain.tokens import TokenPurpose, new_token, token_hash

router = APIRouter(prefix="/v1/customers", tags=["credentials"])


@router.post("/email-verifications/confirmation", response_model=Envelope[CustomerData], responses=ERRORS,
             summary="Confirm an email address with its verification token (scope customers:credentials)")
async def confirm_email(body: EmailConfirmationIn, principal: CredentialsService, actors: Actors, records: Records,
                        policy: Policy, origin: Origin, idempotency: IdempotencyKey) -> Response:
    hashed = token_hash(body.token)
    owner = await records.token_owner(hashed, TokenPurpose.EMAIL_VERIFICATION, now=policy.clock.now())
    if owner is None or owner.email is None or (owner.redeemed and idempotency.key is None):
        raise invalid_token()
    return customer_response(await actors.call(owner.customer_id, methods.CONFIRM_EMAIL, m.ConfirmEmail(
        token_hash=hashed.hex(), email=owner.email, origin=origin, **idempotency.command(principal, body))))


@router.post("/email-verifications", status_code=201, response_model=Envelope[IssuedTokenData],
             responses=ERRORS, summary="An email verification token for the address a customer waits to confirm, "
                                       "to mail to it (scope customers:credentials)")
async def issue_email_verification(body: EmailVerificationIn, _: CredentialsService, actors: Actors, policy: Policy,
                                   origin: Origin) -> dict[str, Any]:
    """The customer's id is in the body, not the path, so the caller's access policy can name the route:
    Dapr 1.18's matcher cannot admit a path with a variable segment in the middle
    (components/configuration.yaml)."""
    if customer_uuid(body.customer_id) is None:
        raise not_found(body.customer_id)
    token = new_token(TokenPurpose.EMAIL_VERIFICATION)
    expires_at = policy.clock.now() + policy.email_verification_token_ttl
    issued = await actors.call(body.customer_id, methods.ISSUE_EMAIL_VERIFICATION, m.IssueEmailVerification(
        token_hash=token_hash(token).hex(), expires_at=expires_at, origin=origin))
    return envelope({"token": token, "expiresAt": iso(expires_at), "email": issued.email})
