"""Password reset: a trusted service (the auth or notification side, scope customers:credentials) asks
for a token for an email address and mails it; redeeming it sets a new password.

No enumeration. The request is answered 202 with a token of the same shape whether or not the address
has an account (for none, or for an account that is not active, the token is stored nowhere and will
never redeem), counted against the same throttles, and no sooner than PASSWORD_RESET_RESPONSE_FLOOR_MS
after it arrived, so the actor's write for a real account does not show in the time either
(tests/security/test_timing.py measures it). Only a failure of the store can tell them apart: a
503 says nothing was done, and it comes for an unknown address too when PostgreSQL is down.

Redeeming: single-use (the token is marked in the transaction that sets the password), expired after
PASSWORD_RESET_TOKEN_TTL, void once a newer token is issued, the password changed, or the customer
erased. The new password meets the same policy as a registration's; every session ends, and
customers.customer.password_reset is published with no secret in it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Response

from actors import interface as methods
from actors import messages as m
from api.access import CredentialsService
from api.dependencies import Actors, Origin, Policy, Records, ResetThrottle
from api.idempotency import IdempotencyKey
from api.schemas import ERRORS, Envelope, IssuedTokenData, PasswordResetIn, PasswordResetRequestIn, envelope
from domain.clock import iso
from domain.errors import invalid_token
from domain.tokens import TokenPurpose, new_token, token_hash
from domain.validation import check_email

router = APIRouter(prefix="/v1/customers/password-resets", tags=["credentials"])


@router.post("", status_code=202, response_model=Envelope[IssuedTokenData], responses=ERRORS,
             summary="A password reset token for an email address, to mail to it (scope customers:credentials); "
                     "the same answer whether or not the address has an account")
async def request_password_reset(body: PasswordResetRequestIn, principal: CredentialsService, actors: Actors,
                                 records: Records, throttle: ResetThrottle, policy: Policy,
                                 origin: Origin) -> dict[str, Any]:
    answer_at = time.monotonic() + policy.password_reset_response_floor.total_seconds()
    email = check_email(body.email)
    token = new_token(TokenPurpose.PASSWORD_RESET)
    expires_at = policy.clock.now() + policy.password_reset_token_ttl
    try:
        await throttle.attempt(account=email, client=principal.subject)
        account = await records.credentials(email)
        if account is not None:
            await actors.call(account.customer_id, methods.REQUEST_PASSWORD_RESET, m.RequestPasswordReset(
                token_hash=token_hash(token).hex(), expires_at=expires_at, origin=origin))
    finally:
        await asyncio.sleep(max(0.0, answer_at - time.monotonic()))
    return envelope({"token": token, "expiresAt": iso(expires_at)})


@router.post("/redemption", status_code=204, responses=ERRORS,
             summary="Set a new password with a reset token; ends every session (scope customers:credentials)")
async def reset_password(body: PasswordResetIn, principal: CredentialsService, actors: Actors, records: Records,
                         policy: Policy, origin: Origin, idempotency: IdempotencyKey) -> Response:
    hashed = token_hash(body.token)
    owner = await records.token_owner(hashed, TokenPurpose.PASSWORD_RESET, now=policy.clock.now())
    if owner is None or (owner.redeemed and idempotency.key is None):
        raise invalid_token()
    await actors.call(owner.customer_id, methods.RESET_PASSWORD, m.ResetPassword(
        token_hash=hashed.hex(), new_password=body.new_password, origin=origin,
        **idempotency.command(principal, body)))
    return Response(status_code=204)
