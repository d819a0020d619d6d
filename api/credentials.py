"""Credential checks for the platform's auth service, and the sessions they open."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from actors import messages as m
from api.access import CredentialsService
from api.dependencies import Actors, Hashing, Origin, Records, Sessions, Throttle
from api.schemas import ERRORS, VerifyCredentialsIn, envelope
from domain.errors import DomainError, ErrorCode
from telemetry.metrics import LOGIN_FAILURES

router = APIRouter(prefix="/v1/customers", tags=["credentials"])


def _invalid() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "email or password is wrong")


@router.post("/credentials/verify", responses=ERRORS,
             summary="Check an email and password; opens a session (scope customers:credentials)")
async def verify_credentials(body: VerifyCredentialsIn, _: CredentialsService, actors: Actors, records: Records,
                             throttle: Throttle, hashing: Hashing, sessions: Sessions,
                             origin: Origin) -> dict[str, Any]:
    # The end user's address, as the auth service saw it; the limit per address throttles spraying.
    client = str(body.client_address) if body.client_address else None
    await throttle.attempt(account=body.email, client=client)
    credentials = await records.credentials(body.email)
    try:
        if credentials is None:
            # Same work as a wrong password, so response time does not reveal which emails exist.
            await hashing.burn(body.password)
            raise _invalid()
        result = await actors.authenticate(credentials.customer_id,
                                           m.Authenticate(password=body.password, origin=origin))
    except DomainError as exc:
        if exc.code in (ErrorCode.INVALID_CREDENTIALS, ErrorCode.CUSTOMER_NOT_FOUND):
            LOGIN_FAILURES.inc()
            raise _invalid() from exc
        raise
    await throttle.succeeded(account=body.email)
    session = await sessions.create(customer_id=result.customer_id, ip_address=client or origin.ip_address,
                                    user_agent=origin.user_agent)
    return envelope({"customerId": result.customer_id, "lastLoginAt": result.last_login_at, "session": session})


@router.get("/sessions/{session_id}", responses=ERRORS, summary="Look up a session")
async def get_session(session_id: str, _: CredentialsService, sessions: Sessions) -> dict[str, Any]:
    session = await sessions.get(session_id)
    if session is None:
        raise DomainError(ErrorCode.SESSION_NOT_FOUND, "no such session, or it has expired")
    return envelope({"session": session})


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS, summary="End a session")
async def end_session(session_id: str, _: CredentialsService, sessions: Sessions) -> Response:
    await sessions.delete(session_id)
    return Response(status_code=204)
