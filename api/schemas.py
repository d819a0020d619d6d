"""Request bodies, camelCase as in the spec, and the response envelope.

Field limits and enumerations come from the domain's rules (one definition each); the customer
representation is the actor's result type (`actors.messages`). Bounds on the email and password
here only cap what is read: the domain's rules decide what is valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Response
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    JsonValue,
    StrictBool,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from actors.messages import CustomerRepresentation
from domain.addresses import DEFAULT_COUNTRY, AddressType
from domain.addresses import FIELD_LIMITS as ADDRESS_LIMITS
from domain.addresses import FIELDS as ADDRESS_FIELDS
from domain.customer import EXTERNAL_ID_PATTERN
from domain.notes import NOTE_MAX_LENGTH
from domain.segmentation import Segment, Tier
from domain.tags import MAX_TAGS, TAG_INPUT_PATTERN, TAG_MAX_LENGTH
from domain.tokens import TOKEN_MAX_LENGTH
from domain.validation import (
    COUNTRY_CODES,
    CURRENCY_PATTERN,
    DEFAULT_PASSWORD_MIN_LENGTH,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    LANGUAGE_PATTERN,
    MAX_PASSWORD_LENGTH,
    NOT_BLANK,
    OVERRIDE_REASON_LIMITS,
    PHONE_PATTERN,
    PREFERENCE_LIMITS,
    PROFILE_LIMITS,
    Gender,
    birth_date_pattern,
    password_pattern,
    timezones,
)

T = TypeVar("T")


def refuse_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL, and no field of ours has a use for it: bodies and query strings."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NO_NUL = "^[^\\u0000]*$"
# A text parameter that takes no NUL, and says so in the document.
NulFree = Annotated[str, AfterValidator(refuse_nul), Field(json_schema_extra={"pattern": NO_NUL})]

# A field that holds a secret (a password or a token): `format: password` and write-only in the OpenAPI
# document, and left out of an Idempotency-Key's fingerprint (api/idempotency.py), which must not keep a
# fast hash of a password beside its argon2 one.
SECRET: dict[str, JsonValue] = {"format": "password", "writeOnly": True}


def secret(*, max_length: int, default: Any = ...) -> Any:
    return Field(default, max_length=max_length, json_schema_extra=SECRET)


# A password being set: the document states the domain's rules (domain/validation.py) with the default
# length, which api/openapi.py replaces with the configured one; the domain checks them (WEAK_PASSWORD).
NEW_PASSWORD: dict[str, JsonValue] = {
    **SECRET, "pattern": password_pattern(min_length=DEFAULT_PASSWORD_MIN_LENGTH), "maxLength": MAX_PASSWORD_LENGTH,
    "minLength": DEFAULT_PASSWORD_MIN_LENGTH,
    "description": "Mixes two of lowercase, uppercase, digits and symbols; not one of the most common passwords, "
                   "nor two characters repeated; does not contain the name of the email address"}


def new_password() -> Any:
    return Field(max_length=PASSWORD_MAX, json_schema_extra=NEW_PASSWORD)


def documented(pattern: str, **more: JsonValue) -> dict[str, JsonValue]:
    """A domain rule, stated for the document only: the domain checks it and answers in the spec's terms."""
    return {"pattern": pattern, **more}


def _no_nul_in_the_document(schema: dict[str, Any]) -> None:
    """Says in the OpenAPI document what `_no_nul` enforces: no string field takes a NUL character (a field
    with a pattern of its own gets a guard in front of it)."""
    for field_schema in schema.get("properties", {}).values():
        for variant in (field_schema, *field_schema.get("anyOf", ())):
            if variant.get("type") != "string" or "enum" in variant:
                continue
            pattern = variant.get("pattern")
            variant["pattern"] = NO_NUL if pattern is None else without_nul(pattern)


NUL_GUARD = "^(?![\\s\\S]*\\u0000)"


def without_nul(pattern: str) -> str:
    """`pattern`, and no NUL anywhere in the text."""
    if pattern.startswith(NUL_GUARD):
        return pattern
    return NUL_GUARD + (pattern[1:] if pattern.startswith("^") else "[\\s\\S]*" + pattern)


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              json_schema_extra=_no_nul_in_the_document)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent, camelCase, JSON-ready (a partial update)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def without_secrets(self) -> dict[str, Any]:
        """What the client sent, minus the fields declared `secret`."""
        hidden = {name for name, f in type(self).model_fields.items() if f.json_schema_extra == SECRET}
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=hidden)


class ProfileIn(Body):
    first_name: str | None = Field(None, max_length=PROFILE_LIMITS["firstName"])
    last_name: str | None = Field(None, max_length=PROFILE_LIMITS["lastName"])
    date_of_birth: str | None = Field(None, max_length=10, json_schema_extra=documented(
        birth_date_pattern(date.today().year), description="YYYY-MM-DD, from 1900 to the end of last year"))
    gender: Gender | None = None
    phone: str | None = Field(None, max_length=PROFILE_LIMITS["phone"],
                              json_schema_extra=documented(PHONE_PATTERN.pattern))
    avatar: str | None = Field(None, max_length=PROFILE_LIMITS["avatar"])


class MarketingIn(Body):
    email_opt_in: StrictBool | None = None
    sms_opt_in: StrictBool | None = None
    push_opt_in: StrictBool | None = None


class NotificationsIn(Body):
    order_updates: StrictBool | None = None
    promotions: StrictBool | None = None
    newsletters: StrictBool | None = None


class PreferencesIn(Body):
    language: str | None = Field(None, max_length=PREFERENCE_LIMITS["language"],
                                 json_schema_extra=documented(LANGUAGE_PATTERN.pattern))
    currency: str | None = Field(None, max_length=PREFERENCE_LIMITS["currency"],
                                 json_schema_extra=documented(CURRENCY_PATTERN.pattern))
    timezone: str | None = Field(None, max_length=PREFERENCE_LIMITS["timezone"],
                                 json_schema_extra={"enum": list[JsonValue](sorted(timezones()))})
    marketing: MarketingIn | None = None
    notifications: NotificationsIn | None = None


PASSWORD_MAX = 1024
# The address rule the domain checks (domain/validation.py), for the document only: a body that breaks it
# still reaches the domain, which answers the spec's INVALID_EMAIL_FORMAT rather than a generic 400.
EMAIL: dict[str, JsonValue] = {"pattern": EMAIL_PATTERN.pattern, "maxLength": EMAIL_MAX_LENGTH}


def spec_example(example: dict[str, JsonValue]) -> Any:
    """The spec's example of a request body, in the document (and so in the fuzzer's examples phase)."""
    def extra(schema: dict[str, Any]) -> None:
        _no_nul_in_the_document(schema)
        schema["examples"] = [example]
    return extra


class CreateCustomerIn(Body):
    model_config = ConfigDict(json_schema_extra=spec_example({
        "email": "jane.smith@example.com", "password": "securePassword123",
        "profile": {"firstName": "Jane", "lastName": "Smith", "phone": "+1-555-0125"},
        "preferences": {"language": "en", "currency": "USD", "marketing": {"emailOptIn": True}}}))

    email: str = Field(max_length=320, json_schema_extra=EMAIL)
    password: str = new_password()
    profile: ProfileIn = Field(default_factory=lambda: ProfileIn())
    preferences: PreferencesIn = Field(default_factory=lambda: PreferencesIn())
    externalId: str | None = Field(None, pattern=EXTERNAL_ID_PATTERN, description=(
        "the id another system knows the customer by (a CRM, a shop migrated from): unique, never changed"))


def _an_email_change_is_guarded(schema: dict[str, Any]) -> None:
    """States the rule the route and the actor check: a new email comes with currentPassword or an
    emailChangeReason (which only privileged callers may give: 403 otherwise)."""
    _no_nul_in_the_document(schema)
    # if/then rather than a top-level anyOf, which generated clients turn into one type per branch.
    schema["if"] = {"required": ["email"], "properties": {"email": {"type": "string"}}}
    schema["then"] = {"anyOf": [{"required": [name], "properties": {name: {"type": "string"}}}
                                for name in ("currentPassword", "emailChangeReason")]}


class UpdateCustomerIn(Body):
    model_config = ConfigDict(json_schema_extra=_an_email_change_is_guarded)

    email: str | None = Field(None, max_length=320, json_schema_extra=EMAIL, description=(
        "A new login address. It waits as pendingEmail until confirmed with a verification token. It comes "
        "with currentPassword, or, from an admin or a customers:credentials service, with an "
        "emailChangeReason instead."))
    current_password: str | None = secret(max_length=PASSWORD_MAX, default=None)
    email_change_reason: str | None = Field(None, min_length=OVERRIDE_REASON_LIMITS[0],
                                            max_length=OVERRIDE_REASON_LIMITS[1])
    profile: ProfileIn | None = None
    preferences: PreferencesIn | None = None


class ReactivateIn(Body):
    # required from the owner, not from an admin
    password: str | None = secret(max_length=PASSWORD_MAX, default=None)


class SuspensionIn(Body):
    reason: str = Field(min_length=OVERRIDE_REASON_LIMITS[0], max_length=OVERRIDE_REASON_LIMITS[1])


class VerificationIn(Body):
    channel: Literal["email", "phone"]


class ChangePasswordIn(Body):
    current_password: str = secret(max_length=PASSWORD_MAX)
    new_password: str = new_password()


class VerifyCredentialsIn(Body):
    email: str = Field(max_length=320)
    password: str = secret(max_length=PASSWORD_MAX)
    # The end user's IP address, as the auth service saw it.
    client_address: Annotated[IPvAnyAddress | None, WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}, {"type": "null"}]})] \
        = None


# Text an address must have: something besides whitespace (the domain's "is required").
REQUIRED_TEXT = documented(NOT_BLANK.pattern)
COUNTRIES: list[JsonValue] = list[JsonValue](sorted(COUNTRY_CODES))
COUNTRY: dict[str, JsonValue] = {"enum": COUNTRIES, "description": "ISO 3166-1 alpha-2"}
REQUIRED_ADDRESS_FIELDS = tuple(name for name, _, required in ADDRESS_FIELDS if required)


def _without_null(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """The fields the domain requires take no null. The model itself takes one, so that the domain, not
    the parser, reports every missing field of a request at once."""
    for name in names:
        field = schema["properties"][name]
        (variant,) = [v for v in field.pop("anyOf", ()) if v.get("type") != "null"]
        field.pop("default", None)
        schema["properties"][name] = {**variant, **field}
    _no_nul_in_the_document(schema)


def _an_address_change(schema: dict[str, Any]) -> None:
    _without_null(schema, REQUIRED_ADDRESS_FIELDS)


def _a_new_address(schema: dict[str, Any]) -> None:
    _without_null(schema, REQUIRED_ADDRESS_FIELDS)
    schema["required"] = [name for name in REQUIRED_ADDRESS_FIELDS if name != "country"]
    # A new address without a country (absent, null or empty) is in the default one (domain/addresses.py).
    schema["properties"]["country"] = {
        "anyOf": [{"type": "string", "enum": [*COUNTRIES, ""]}, {"type": "null"}],
        "default": DEFAULT_COUNTRY, "description": f"ISO 3166-1 alpha-2; {DEFAULT_COUNTRY} if not given"}
    schema["examples"] = [{"type": "shipping", "isDefault": True, "firstName": "John", "lastName": "Doe",
                           "street": "123 Main St", "street2": "Apt 4B", "city": "New York", "state": "NY",
                           "zipCode": "10001", "country": "US", "phone": "+1-555-0123"}]


class AddressChangesIn(Body):
    """A partial update: a field the domain requires may be left out, not emptied."""

    model_config = ConfigDict(json_schema_extra=_an_address_change)

    type: AddressType | None = None
    is_default: StrictBool | None = None
    first_name: str | None = Field(None, max_length=ADDRESS_LIMITS["firstName"])
    last_name: str | None = Field(None, max_length=ADDRESS_LIMITS["lastName"])
    company: str | None = Field(None, max_length=ADDRESS_LIMITS["company"])
    street: str | None = Field(None, max_length=ADDRESS_LIMITS["street"], json_schema_extra=REQUIRED_TEXT)
    street2: str | None = Field(None, max_length=ADDRESS_LIMITS["street2"])
    city: str | None = Field(None, max_length=ADDRESS_LIMITS["city"], json_schema_extra=REQUIRED_TEXT)
    state: str | None = Field(None, max_length=ADDRESS_LIMITS["state"])
    zip_code: str | None = Field(None, max_length=ADDRESS_LIMITS["zipCode"], json_schema_extra=REQUIRED_TEXT)
    country: str | None = Field(None, max_length=ADDRESS_LIMITS["country"], json_schema_extra=COUNTRY)
    phone: str | None = Field(None, max_length=ADDRESS_LIMITS["phone"],
                              json_schema_extra=documented(PHONE_PATTERN.pattern))


class AddressIn(AddressChangesIn):
    """A new address: the document requires street, city and zip code."""

    model_config = ConfigDict(json_schema_extra=_a_new_address)


class PasswordResetRequestIn(Body):
    email: str = Field(max_length=320, json_schema_extra=EMAIL)


class PasswordResetIn(Body):
    token: str = secret(max_length=TOKEN_MAX_LENGTH)
    new_password: str = new_password()


class EmailVerificationIn(Body):
    customer_id: str = Field(max_length=37, description="cust_ followed by 32 hex digits")


class EmailConfirmationIn(Body):
    token: str = secret(max_length=TOKEN_MAX_LENGTH)


def _a_tier_or_a_segment(schema: dict[str, Any]) -> None:
    """States the rule the route checks: an override sets a tier, a segment, or both."""
    _no_nul_in_the_document(schema)
    # if/then rather than a top-level anyOf, which generated clients turn into one type per branch.
    schema["if"] = {"properties": {"tier": {"type": "null"}}}
    schema["then"] = {"required": ["segment"], "properties": {"segment": {"type": "string"}}}


class SegmentOverrideIn(Body):
    model_config = ConfigDict(json_schema_extra=_a_tier_or_a_segment)

    tier: Tier | None = None
    segment: Segment | None = None
    reason: str = Field(min_length=OVERRIDE_REASON_LIMITS[0], max_length=OVERRIDE_REASON_LIMITS[1])


class TagsIn(Body):
    tags: list[Annotated[str, Field(max_length=TAG_MAX_LENGTH, pattern=TAG_INPUT_PATTERN)]] = Field(
        max_length=MAX_TAGS, description=(
        "every tag the customer has (replaces them): trimmed, lower-cased, spaces as -, each once; "
        "at most 20 of 1 to 40 letters, digits or . _ : -"))


class NoteIn(Body):
    text: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)


# A positive decimal up to 1,000,000 with at most 8 decimals, as text (no digit lost to a float).
USD_PER_UNIT_PATTERN = (r"^(?:1000000(?:\.0{1,8})?|[1-9][0-9]{0,5}(?:\.[0-9]{1,8})?"
                        r"|0\.(?:[1-9][0-9]{0,7}|0[1-9][0-9]{0,6}|00[1-9][0-9]{0,5}|000[1-9][0-9]{0,4}|0000[1-9][0-9]{0,3}|00000[1-9][0-9]{0,2}|000000[1-9][0-9]?"
                        r"|0000000[1-9]))$")


def _calendar_date(value: object) -> object:
    # Only the document's form: pydantic alone would also take a number (a Unix time) for a date.
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]


class ExchangeRateIn(Body):
    usdPerUnit: str = Field(pattern=USD_PER_UNIT_PATTERN, examples=["1.08"],
                            description="what one unit of the currency is worth in USD: a decimal, as text")
    effectiveDate: CalendarDate = Field(description="the date the rate is of")


# -- responses ---------------------------------------------------------------------------------------
class ActivityOut(BaseModel):
    type: str = Field(description="e.g. registration, login, profile_updated, order_completed, order_refunded")
    occurredAt: str
    data: dict[str, Any] | None = Field(description="what the activity recorded; null on the customer's own "
                                                    "timeline for what staff wrote (a suspension's reason)")
    sessionId: str | None
    ipAddress: str | None
    userAgent: str | None


class ActivitiesData(BaseModel):
    activities: list[ActivityOut]
    nextCursor: str | None = Field(description="the next page's cursor; null on the last page")


class NoteOut(BaseModel):
    id: str
    author: str = Field(description="the subject of the token that wrote it")
    text: str
    createdAt: str


class NoteData(BaseModel):
    note: NoteOut


class NotesData(BaseModel):
    notes: list[NoteOut]
    nextCursor: str | None


class ExchangeRateOut(BaseModel):
    currency: str
    usdPerUnit: str = Field(description="a decimal, as text so no digit is lost")
    effectiveDate: str
    setBy: str
    setAt: str


class ExchangeRateData(BaseModel):
    exchangeRate: ExchangeRateOut


class ExchangeRatesData(BaseModel):
    exchangeRates: list[ExchangeRateOut]


class CustomerData(BaseModel):
    customer: CustomerRepresentation


class AddressOut(BaseModel):
    id: str
    type: AddressType
    isDefault: bool
    firstName: str | None = None
    lastName: str | None = None
    company: str | None = None
    street: str
    street2: str | None = None
    city: str
    state: str | None = None
    zipCode: str
    country: str
    phone: str | None = None
    createdAt: str
    updatedAt: str


class AddressBookData(BaseModel):
    addresses: list[AddressOut]


class AddressData(BaseModel):
    address: AddressOut


class SegmentMetrics(BaseModel):
    totalSpent: float
    orderCount: int
    averageOrderValue: float
    lastOrderDate: str | None
    daysSinceLastOrder: int | None
    lifetimeValue: float
    ordersLast6Months: int
    currency: str
    otherCurrencies: dict[str, dict[str, float]]


class SegmentOut(BaseModel):
    customerId: str
    tier: Tier
    segment: Segment
    computed: dict[str, str] = Field(description="the tier and segment the rules give, under any override")
    override: dict[str, Any] | None
    loyaltyPoints: int
    metrics: SegmentMetrics
    qualifications: dict[str, Any]
    nextTier: dict[str, Any] | None
    nextReviewAt: str | None
    updatedAt: str | None


class SegmentData(BaseModel):
    segment: SegmentOut


class IssuedTokenData(BaseModel):
    token: str = Field(description="shown once; only its SHA-256 is kept")
    expiresAt: str
    email: str | None = Field(None, description="email verification: the address to send the link to")


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


def json_response(data: dict[str, Any], *, status_code: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """The success envelope around `data`, already JSON-shaped (views from the cache or the actor): encoded
    once, without FastAPI re-validating it against the route's response model (which stays the documented
    shape). The hot read path's largest cost before this, measured with py-spy (see bench/)."""
    body = json.dumps(envelope(data), separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=body, status_code=status_code, headers=headers, media_type="application/json")


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 412, 413, 422, 429, 500, 503)
}
