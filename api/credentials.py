"""Credential checks for the platform's auth service, and the sessions they open."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from actors import interface as methods
from actors import messages as m
from api.access import CredentialsService
from api.dependencies import Actors, Hashing, Origin, Records, Sessions, Throttle
from api.schemas import ERRORS, VerifyCredentialsIn, envelope
from domain.errors import DomainError, ErrorCode
from telemetry.metrics import LOGIN_FAILURES

router = APIRouter(prefix="/v1/customers", tags=["credentials"])
# An id that does not match names no session, and is answered 404.
SESSION_ID = re.compile(r"sess_[A-Za-z0-9_-]{1,64}")
SessionIdPath = Annotated[str, Path(description="Session id, sess_ followed by up to 64 URL-safe characters",
                                    json_schema_extra={"pattern": f"^{SESSION_ID.pattern}$"})]


def _invalid() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "email or password is wrong")


@router.post("/credentials/verify", responses=ERRORS,
             summary="Check an email and password; opens a session (scope customers:credentials)")
async def verify_credentials(body: VerifyCredentialsIn, _: CredentialsService, actors: Actors, records: Records,
                             throttle: Throttle, hashing: Hashing, sessions: Sessions,
                             origin: Origin) -> dict[str, Any]:
    """No timing oracle: a known email with a wrong password and an unknown email do the same work (one
    indexed read, one argon2 check, against a dummy hash when there is no account) and nothing else; only
    a right password goes on to the customer's actor, which records the login (tests/security/test_timing.py)."""
    # The end user's address, as the auth service saw it; the limit per address throttles spraying.
    client = str(body.client_address) if body.client_address else None
    await throttle.attempt(account=body.email, client=client)
    credentials = await records.credentials(body.email)
    # Checked whether or not there is an account (None: against a dummy hash): no short cut for either.
    matches = await hashing.verify(None if credentials is None else credentials.password_hash, body.password)
    if credentials is None or not matches:
        LOGIN_FAILURES.inc()
        raise _invalid()
    try:
        result = await actors.call(credentials.customer_id, methods.AUTHENTICATE, m.Authenticate(
            password=body.password, verified_hash=credentials.password_hash, origin=origin))
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
async def get_session(session_id: SessionIdPath, _: CredentialsService, sessions: Sessions) -> dict[str, Any]:
    session = await sessions.get(session_id)
    if session is None:
        raise DomainError(ErrorCode.SESSION_NOT_FOUND, "no such session, or it has expired")
    return envelope({"session": session})


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS,
               summary="End a session (idempotent; an id that cannot be a session's is 404)")
async def end_session(session_id: SessionIdPath, _: CredentialsService, sessions: Sessions) -> Response:
    if not SESSION_ID.fullmatch(session_id):
        raise DomainError(ErrorCode.SESSION_NOT_FOUND, "no such session, or it has expired")
    await sessions.delete(session_id)
    return Response(status_code=204)
