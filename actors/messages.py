"""What crosses the actor boundary: one request and one result type per CustomerActor method.

Requests and results are pydantic models, serialised once on each side (`actors.interface.ActorMethod`
knows each method's two types). Commands carry a request id, so the actor can answer a call daprd
retries as the first attempt did, and the `Origin` of the request, recorded with the change.
The customer representation here is also the REST API's response shape: one definition of each.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.activity import Origin
from domain.aggregate import CustomerAggregate, PointsMovement
from domain.orders import AdjustmentKind, OrderAdjustment
from domain.segmentation import Segment, Tier
from telemetry import tracing


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RequestOrigin(Message):
    correlation_id: str
    session_id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None

    def domain(self) -> Origin:
        """The origin as the actor records it, in the trace of the actor call being served."""
        return Origin(self.correlation_id, self.session_id, self.ip_address, self.user_agent,
                      traceparent=tracing.current_traceparent())


class Query(Message):
    """A read: no request id, nothing to replay."""


QUERY = Query()


class Command(Message):
    """A change. `request_id` is what a repeat is known by: random per request, or derived from the
    caller's Idempotency-Key (api/idempotency.py), whose `fingerprint` then tells a retry of the same
    request from another request under the same key."""

    request_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    fingerprint: str | None = None
    origin: RequestOrigin


# -- commands ------------------------------------------------------------------------------------------
class CreateCustomer(Command):
    email: str
    password_hash: str
    profile: dict[str, Any]
    preferences: dict[str, Any]
    consent_source: str  # who registered the customer, recorded with the first consent decisions
    external_id: str | None = None


class UpdateCustomer(Command):
    email: str | None = None
    profile: dict[str, Any]
    preferences: dict[str, Any]
    if_match: str | None = None
    source: str
    # A new email address needs one of these: the owner's current password, or a privileged caller's reason.
    current_password: str | None = None
    email_change_reason: str | None = None


class Deactivate(Command):
    pass


class Erase(Command):
    pass


class Reactivate(Command):
    password: str | None  # the owner's fresh credential check; None when an admin reactivates


class Suspend(Command):
    reason: str
    set_by: str


class LiftSuspension(Command):
    reason: str
    set_by: str


class Verify(Command):
    channel: Literal["email", "phone"]


class Authenticate(Command):
    """A login whose password the API checked against `verified_hash`: the actor records it if that is
    still the customer's hash (a password changed meanwhile fails it), renewing an outdated hash."""

    password: str
    verified_hash: str


class RequestPasswordReset(Command):
    token_hash: str  # hex SHA-256 of the token; the token itself never reaches the actor
    expires_at: datetime


class ResetPassword(Command):
    token_hash: str
    new_password: str


class IssueEmailVerification(Command):
    token_hash: str
    expires_at: datetime


class ConfirmEmail(Command):
    token_hash: str
    email: str  # the address the token was issued for, as its row says


class ChangePassword(Command):
    current_password: str
    new_password: str


class ApplyOrder(Command):
    event_id: str
    order_id: str
    amount: Decimal
    currency: str
    completed_at: datetime


class AdjustOrder(Command):
    """A refund (refund_id, amount, currency) or the cancellation of an order (kind "cancellation")."""

    event_id: str
    order_id: str
    kind: AdjustmentKind
    refund_id: str | None = None
    amount: Decimal = Decimal(0)
    currency: str | None = None
    at: datetime

    @model_validator(mode="after")
    def _refund_is_whole(self) -> AdjustOrder:
        if self.kind is AdjustmentKind.REFUND and (self.refund_id is None or self.currency is None):
            raise ValueError("a refund carries its id, amount and currency")
        return self

    def adjustment(self) -> OrderAdjustment:
        if self.kind is AdjustmentKind.REFUND:
            assert self.refund_id is not None, "checked by _refund_is_whole"
            assert self.currency is not None, "checked by _refund_is_whole"
            return OrderAdjustment.refund(order_id=self.order_id, refund_id=self.refund_id, amount=self.amount,
                                          currency=self.currency, at=self.at)
        return OrderAdjustment.cancellation(order_id=self.order_id, at=self.at)


class ApplyPoints(Command):
    event_id: str
    points: int
    movement: PointsMovement = PointsMovement.EARNED
    reason: str | None = None


class SetTags(Command):
    tags: list[str]


class AddNote(Command):
    author: str
    text: str


class AddAddress(Command):
    address: dict[str, Any]


class UpdateAddress(Command):
    address_id: str
    changes: dict[str, Any]


class RemoveAddress(Command):
    address_id: str


class OverrideSegment(Command):
    tier: Tier | None
    segment: Segment | None
    reason: str
    set_by: str


class ClearOverride(Command):
    set_by: str


# -- the customer representation (GET /customers/{id}) --------------------------------------------------
class Marketing(BaseModel):
    emailOptIn: bool
    smsOptIn: bool
    pushOptIn: bool


class Notifications(BaseModel):
    orderUpdates: bool
    promotions: bool
    newsletters: bool


class Preferences(BaseModel):
    language: str
    currency: str
    timezone: str
    marketing: Marketing
    notifications: Notifications


class Profile(BaseModel):
    firstName: str | None
    lastName: str | None
    dateOfBirth: str | None
    gender: str | None
    phone: str | None
    avatar: str | None


class SegmentSummary(BaseModel):
    tier: str
    segment: str
    loyaltyPoints: int
    totalSpent: float
    orderCount: int
    averageOrderValue: float


class CustomerRepresentation(BaseModel):
    id: str
    email: str
    profile: Profile
    segment: SegmentSummary
    preferences: Preferences
    status: Literal["active", "inactive", "suspended", "deleted"]
    emailVerified: bool
    phoneVerified: bool
    pendingEmail: str | None = Field(description="a new address waiting for its verification; the login "
                                                 "stays `email` until then")
    externalId: str | None = Field(description="the id another system knows the customer by; set at creation")
    tags: list[str] = Field(description="the merchant's labels, normalised (lower case, sorted)")
    registrationDate: str
    lastLoginAt: str | None
    createdAt: str
    updatedAt: str


# -- results ---------------------------------------------------------------------------------------------
class CustomerView(Message):
    customer: CustomerRepresentation
    etag: str

    @classmethod
    def of(cls, aggregate: CustomerAggregate) -> CustomerView:
        return cls.model_validate(aggregate.view())


class Deactivated(CustomerView):
    changed: bool


class Erased(Message):
    changed: bool


class Exported(Message):
    export: dict[str, Any]


class LoggedIn(Message):
    customer_id: str
    last_login_at: str


class Done(Message):
    pass


class VerificationIssued(Message):
    email: str  # where the notification service sends the link


class SegmentView(Message):
    segment: dict[str, Any]


class EventApplied(Message):
    duplicate: bool


class Reviewed(Message):
    changed: bool


class AddressBookView(Message):
    addresses: list[dict[str, Any]]


class NoteAdded(Message):
    note: dict[str, Any]


class AddressChanged(Message):
    address: dict[str, Any]


class Analytics(Message):
    analytics: dict[str, Any]
