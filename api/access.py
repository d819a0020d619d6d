"""Who may call a route, declared on the route itself.

Every route under /v1 takes exactly one of the access dependencies below; `unguarded_routes` finds
any that does not, and the app refuses to start with one (see `service.main`). Each dependency
verifies the bearer token, charges the caller's rate limit (per customer it acts for, see
api/ratelimit.py), checks the scope, and, for a customer's record, that the caller may reach that
customer and that the id can name one (else 404).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.convertors import Convertor, register_url_convertor

from api.auth import ADMIN, CREDENTIALS, READ, WRITE, Principal, authorize_customer, forbidden, require_scope
from api.dependencies import ApiServices, Services
from domain.errors import not_found
from domain.ids import customer_uuid
from telemetry.logs import CUSTOMER_ID


class CustomerIdConvertor(Convertor[str]):
    """`{customer_id:customer}` in a route's path: only a segment starting cust_ is a customer id, so the
    fixed paths beside it (/v1/customers/segments, /password-resets, ...) are never taken for one, and the
    app routes as the OpenAPI document describes (a wrong method there is 405, not a customer's 404)."""

    regex = "cust_[^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("customer", CustomerIdConvertor())
# The pattern is documentation: a cust_ id that does not match it names no customer, and is answered 404.
CustomerIdPath = Annotated[str, Path(description="Customer id, cust_ followed by 32 hex digits",
                                     json_schema_extra={"pattern": "^cust_[0-9a-f]{32}$"})]


# The OpenAPI document's security scheme; each operation lists the scope it needs (`Security` below).
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A JWT from the platform's auth service: a customer's own (sub is its id) or a "
                                "service's, with the scopes customers:read, :write, :admin or :credentials")


async def authenticated(
    services: Services, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    return services.verifier.verify(None if credentials is None else f"Bearer {credentials.credentials}")


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _needs(scope: str, guard: F) -> F:
    """Declares the guard's `principal` as needing `scope`, for the OpenAPI document's security requirement.
    Set on the signature here, as a closure's own variable cannot appear in a string annotation."""
    guard.__annotations__["principal"] = Annotated[Principal, Security(authenticated, scopes=[scope])]
    return guard


async def _charge(request: Request, services: ApiServices, principal: Principal,
                  customer_id: str | None = None) -> None:
    """Counts the request against the caller's budgets; what is left goes out as the RateLimit fields of
    the answer (api/middleware.py)."""
    quota = await services.rate_limiter.check(principal.subject, is_customer=principal.is_customer,
                                              customer_id=customer_id)
    if quota is not None:
        request.state.quota = quota


@dataclass(frozen=True)
class CustomerAccess:
    """A caller allowed to reach one customer, and that customer's (well-formed) id."""

    principal: Principal
    customer_id: str


GUARDS: set[Callable[..., Awaitable[Any]]] = set()


def _guard(dependency: F) -> F:
    GUARDS.add(dependency)
    return dependency


def _customer_access(scope: str, *, service_tokens: bool = True, customer_tokens: bool = True,
                     admin_only: bool = False) -> Callable[..., Awaitable[CustomerAccess]]:
    @_guard
    @functools.partial(_needs, scope)
    async def access(request: Request, principal: Principal, customer_id: CustomerIdPath,
                     services: Services) -> CustomerAccess:
        await _charge(request, services, principal, customer_id)
        if admin_only and not principal.is_admin:
            raise forbidden(f"the token lacks the {ADMIN} scope")
        if not customer_tokens and principal.is_customer:
            raise forbidden("a customer's token cannot do this")
        authorize_customer(principal, customer_id, scope, services=service_tokens)
        if customer_uuid(customer_id) is None:
            raise not_found(customer_id)
        CUSTOMER_ID.set(customer_id)
        return CustomerAccess(principal, customer_id)

    return access


def _scope(scope: str, *, customer_tokens: bool = True) -> Callable[..., Awaitable[Principal]]:
    @_guard
    @functools.partial(_needs, scope)
    async def scoped(request: Request, principal: Principal, services: Services) -> Principal:
        await _charge(request, services, principal)
        if not customer_tokens and principal.is_customer:
            raise forbidden("a customer's token cannot do this")
        require_scope(principal, scope)
        return principal

    return scoped


@_guard
@functools.partial(_needs, WRITE)
async def _account_creator(request: Request, principal: Principal, services: Services) -> Principal:
    await _charge(request, services, principal)
    require_scope(principal, WRITE)
    if principal.is_customer and not principal.is_admin:
        raise forbidden("a customer token cannot create accounts")
    return principal


@_guard
async def _public() -> None:
    """No token: liveness and readiness only."""


# A customer's record: its own token, a service token with the scope, or an admin.
ReadCustomer = Annotated[CustomerAccess, Depends(_customer_access(READ))]
WriteCustomer = Annotated[CustomerAccess, Depends(_customer_access(WRITE))]
# The customer's own token or an admin: deactivation, GDPR export and erasure, password change.
ReadOwnCustomer = Annotated[CustomerAccess, Depends(_customer_access(READ, service_tokens=False))]
WriteOwnCustomer = Annotated[CustomerAccess, Depends(_customer_access(WRITE, service_tokens=False))]
# Services (and admins) on one customer, never the customer's own token: tags, internal notes.
ServiceReadCustomer = Annotated[CustomerAccess, Depends(_customer_access(READ, customer_tokens=False))]
ServiceWriteCustomer = Annotated[CustomerAccess, Depends(_customer_access(WRITE, customer_tokens=False))]
AdminCustomer = Annotated[CustomerAccess, Depends(_customer_access(ADMIN, admin_only=True))]
# The auth and notification side (customers:credentials) acting on one customer: verification flags.
CredentialsCustomer = Annotated[CustomerAccess, Depends(_customer_access(CREDENTIALS))]
Admin = Annotated[Principal, Depends(_scope(ADMIN))]
# Services that read customers (and admins), never a customer's own token: lookups across customers.
ServiceReader = Annotated[Principal, Depends(_scope(READ, customer_tokens=False))]
CredentialsService = Annotated[Principal, Depends(_scope(CREDENTIALS))]
AccountCreator = Annotated[Principal, Depends(_account_creator)]
Public = Annotated[None, Depends(_public)]


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def unguarded_routes(routers: Iterable[APIRouter]) -> list[str]:
    """Routes that declare none of the access dependencies."""
    return [f"{sorted(route.methods or ())} {route.path_format}" for router in routers for route in router.routes
            if isinstance(route, APIRoute) and not any(call in GUARDS for call in _calls(route.dependant))]
