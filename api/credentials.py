"""Credential checks for the platform's auth service, and the sessions they open."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from fastapi import APIRouter, Response
from redis.exceptions import RedisError

from api.auth import CREDENTIALS, require_scope
from api.dependencies import ActorsDep, ContainerDep, CorrelationIdDep, PrincipalDep, RequestContextDep
from api.schemas import ERRORS, VerifyCredentialsIn, envelope
from domain.errors import DomainError, ErrorCode
from domain.passwords import burn_verification_time

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/customers", tags=["credentials"])


def _failures_key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"customers:login-failures:{digest}"


def _invalid() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "email or password is wrong")


@router.post("/credentials/verify", responses=ERRORS,
             summary="Check an email and password; opens a session (scope customers:credentials)")
async def verify_credentials(body: VerifyCredentialsIn, principal: PrincipalDep, actors: ActorsDep,
                             container: ContainerDep, correlation_id: CorrelationIdDep,
                             context: RequestContextDep) -> dict[str, Any]:
    require_scope(principal, CREDENTIALS)
    settings = container.settings
    key = _failures_key(body.email)
    try:
        failures = int(await container.redis.get(key) or 0)
    except RedisError:
        failures = 0
    if failures >= settings.login_max_failures:
        ttl = await container.redis.ttl(key)
        raise DomainError(ErrorCode.TOO_MANY_LOGIN_ATTEMPTS, "too many failed attempts; try again later",
                          headers={"Retry-After": str(max(ttl, 1))})
    credentials = await container.store.credentials(body.email)
    try:
        if credentials is None:
            # Same work as a wrong password, so response time does not reveal which emails exist.
            await asyncio.to_thread(burn_verification_time, body.password)
            raise _invalid()
        result = await actors.call(credentials.customer_id, "authenticate", {
            "password": body.password, "correlationId": correlation_id, "context": context,
        })
    except DomainError as exc:
        if exc.code in (ErrorCode.INVALID_CREDENTIALS, ErrorCode.CUSTOMER_NOT_FOUND):
            async with container.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, settings.login_failure_window)
                await pipe.execute()
            raise _invalid() from exc
        raise
    await container.redis.delete(key)
    session = await container.sessions.create(customer_id=result["customerId"], ip_address=context["ip_address"],
                                              user_agent=context["user_agent"])
    return envelope({"customerId": result["customerId"], "lastLoginAt": result["lastLoginAt"],
                     "session": session})


@router.get("/sessions/{session_id}", responses=ERRORS, summary="Look up a session")
async def get_session(session_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    require_scope(principal, CREDENTIALS)
    session = await container.sessions.get(session_id)
    if session is None:
        raise DomainError(ErrorCode.SESSION_NOT_FOUND, "no such session, or it has expired")
    return envelope({"session": session})


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS, summary="End a session")
async def end_session(session_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    require_scope(principal, CREDENTIALS)
    await container.sessions.delete(session_id)
    return Response(status_code=204)
