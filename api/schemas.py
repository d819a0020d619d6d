"""Request and response bodies, camelCase as in the spec. Shape and types here; rules in domain/."""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent, camelCase, JSON-ready (a partial update)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ProfileIn(Body):
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    date_of_birth: date | None = None
    gender: Literal["male", "female", "non_binary", "other"] | None = None
    phone: str | None = Field(None, max_length=20)
    avatar: str | None = Field(None, max_length=500)


class MarketingIn(Body):
    email_opt_in: bool | None = None
    sms_opt_in: bool | None = None
    push_opt_in: bool | None = None


class NotificationsIn(Body):
    order_updates: bool | None = None
    promotions: bool | None = None
    newsletters: bool | None = None


class PreferencesIn(Body):
    language: str | None = Field(None, max_length=10)
    currency: str | None = Field(None, max_length=3)
    timezone: str | None = Field(None, max_length=64)
    marketing: MarketingIn | None = None
    notifications: NotificationsIn | None = None


class CreateCustomerIn(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    profile: ProfileIn = Field(default_factory=lambda: ProfileIn())
    preferences: PreferencesIn = Field(default_factory=lambda: PreferencesIn())


class UpdateCustomerIn(Body):
    profile: ProfileIn | None = None
    preferences: PreferencesIn | None = None


class ChangePasswordIn(Body):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class VerifyCredentialsIn(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


# -- responses ---------------------------------------------------------------------------------------
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


class Customer(BaseModel):
    id: str
    email: str
    profile: Profile
    segment: SegmentSummary
    preferences: Preferences
    status: Literal["active", "inactive", "suspended", "deleted"]
    emailVerified: bool
    phoneVerified: bool
    registrationDate: str
    lastLoginAt: str | None
    createdAt: str
    updatedAt: str


class CustomerData(BaseModel):
    customer: Customer


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None
    correlationId: str | None = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 412, 413, 429, 503)
}


class AddressIn(Body):
    type: Literal["shipping", "billing", "both"] | None = None
    is_default: bool | None = None
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=100)
    street: str | None = Field(None, max_length=255)
    street2: str | None = Field(None, max_length=255)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=50)
    zip_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2)
    phone: str | None = Field(None, max_length=20)


class SegmentOverrideIn(Body):
    tier: Literal["regular", "premium", "vip", "enterprise"] | None = None
    segment: Literal["new_customer", "regular_customer", "high_value", "frequent_buyer", "at_risk",
                     "churned"] | None = None
    reason: str = Field(min_length=3, max_length=500)
