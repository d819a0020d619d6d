"""The customer account: profile, preferences, status, and the rules for changing them.

A customer serialises to the spec's camelCase shape; the same dict is the actor's state and the
API's `customer` object (the segment summary is added beside it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain.clock import iso, parse_iso
from domain.errors import DomainError, ErrorCode, invalid_token
from domain.validation import GENDERS, PROFILE_LIMITS, FieldChecks, check_email

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,100}$"
EXTERNAL_ID_RULE = "must be 1 to 100 letters, digits or . _ : -"


class Status(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    DELETED = "deleted"


MARKETING_CHANNELS = {"emailOptIn": "email", "smsOptIn": "sms", "pushOptIn": "push"}
NOTIFICATION_KEYS = ("orderUpdates", "promotions", "newsletters")
PROFILE_KEYS = ("firstName", "lastName", "dateOfBirth", "gender", "phone", "avatar")


def default_preferences() -> dict[str, Any]:
    """What a customer who said nothing gets: no marketing without opt-in; order updates on."""
    return {
        "language": "en",
        "currency": "USD",
        "timezone": "UTC",
        "marketing": {"emailOptIn": False, "smsOptIn": False, "pushOptIn": False},
        "notifications": {"orderUpdates": True, "promotions": False, "newsletters": False},
    }


def merge_preferences(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Nested merge: a change to one marketing flag leaves the others as they were. A null changes nothing:
    every preference always has a value (a null `notifications` or `language` was a 500 once, found by
    schemathesis's stateful phase)."""
    merged = {**current}
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            merged[key] = {**current[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class ConsentChange:
    """One marketing consent decision, kept as history (GDPR: who agreed to what, when, how)."""

    channel: str
    granted: bool
    source: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "granted": self.granted, "source": self.source,
                "recordedAt": iso(self.recorded_at)}


def consent_changes(before: dict[str, Any] | None, after: dict[str, Any], *, source: str,
                    at: datetime) -> list[ConsentChange]:
    old = (before or {}).get("marketing", {})
    new = after.get("marketing", {})
    return [
        ConsentChange(channel, bool(new[key]), source, at)
        for key, channel in MARKETING_CHANNELS.items()
        if key in new and (before is None or bool(old.get(key)) != bool(new[key]))
    ]


def check_profile(profile: dict[str, Any], today: date, checks: FieldChecks) -> None:
    for name, max_length in PROFILE_LIMITS.items():
        checks.text(f"profile.{name}", profile.get(name), max_length=max_length)
    checks.one_of("profile.gender", profile.get("gender"), GENDERS)
    checks.phone("profile.phone", profile.get("phone"))
    checks.birth_date("profile.dateOfBirth", profile.get("dateOfBirth"), today)


def check_preferences(preferences: dict[str, Any], checks: FieldChecks) -> None:
    checks.language("preferences.language", preferences.get("language"))
    checks.currency("preferences.currency", preferences.get("currency"))
    checks.timezone("preferences.timezone", preferences.get("timezone"))


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    profile: dict[str, Any]
    preferences: dict[str, Any]
    status: Status
    registration_date: datetime
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None = None
    email_verified: bool = False
    phone_verified: bool = False
    version: int = 1
    consent_history: tuple[ConsentChange, ...] = field(default=())
    # A new address waiting for its verification; the login stays `email` until it is confirmed.
    pending_email: str | None = None
    # The id another system knows the customer by (a CRM, the shop this data migrated from): unique, set
    # when the customer is created or imported and never changed, so a sync can rely on it.
    external_id: str | None = None
    tags: tuple[str, ...] = ()  # domain/tags.py

    @classmethod
    def register(cls, *, customer_id: str, email: str, profile: dict[str, Any], preferences: dict[str, Any],
                 now: datetime, consent_source: str = "registration",
                 external_id: str | None = None) -> tuple[Customer, list[ConsentChange]]:
        email = check_email(email)
        checks = FieldChecks()
        if external_id is not None and not re.fullmatch(EXTERNAL_ID_PATTERN, external_id):
            checks.fail("externalId", EXTERNAL_ID_RULE)
        full_profile = {key: profile.get(key) for key in PROFILE_KEYS}
        check_profile(full_profile, now.date(), checks)
        full_preferences = merge_preferences(default_preferences(), preferences)
        check_preferences(full_preferences, checks)
        checks.raise_if_any()
        consents = consent_changes(None, full_preferences, source=consent_source, at=now)
        customer = cls(
            id=customer_id, email=email, profile=full_profile, preferences=full_preferences,
            status=Status.ACTIVE, registration_date=now, created_at=now, updated_at=now,
            consent_history=tuple(consents), external_id=external_id,
        )
        return customer, consents

    def require_active(self) -> None:
        if self.status is not Status.ACTIVE:
            raise DomainError(ErrorCode.CUSTOMER_NOT_ACTIVE, f"customer {self.id} is {self.status.value}")

    def update(self, *, profile: dict[str, Any], preferences: dict[str, Any], now: datetime,
               source: str, email: str | None = None) -> tuple[Customer, list[ConsentChange], list[str]]:
        """Partial update. Returns the new customer, consent changes, and the fields that changed. A new
        email address does not replace the login: it waits as `pendingEmail` until confirmed
        (`email_confirmed`); asking for the current address again cancels a pending change. A new phone
        number is not verified, whatever the old one was."""
        self.require_active()
        pending = self.pending_email
        if email is not None:
            requested = check_email(email)
            pending = None if requested == self.email else requested
        new_profile = {**self.profile, **profile}
        new_preferences = merge_preferences(self.preferences, preferences)
        checks = FieldChecks()
        check_profile(new_profile, now.date(), checks)
        check_preferences(new_preferences, checks)
        checks.raise_if_any()
        changed = ["pendingEmail"] if pending != self.pending_email else []
        changed += [f"profile.{k}" for k in PROFILE_KEYS if new_profile.get(k) != self.profile.get(k)]
        changed += _changed_preference_paths(self.preferences, new_preferences)
        if not changed:
            return self, [], []
        consents = consent_changes(self.preferences, new_preferences, source=source, at=now)
        updated = replace(self, pending_email=pending, profile=new_profile, preferences=new_preferences,
                          updated_at=now, version=self.version + 1,
                          consent_history=self.consent_history + tuple(consents),
                          phone_verified=self.phone_verified and "profile.phone" not in changed)
        return updated, consents, changed

    def verification_target(self) -> str:
        """The address a verification token is for: a pending change, else the login if unverified."""
        self.require_active()
        if self.pending_email is not None:
            return self.pending_email
        if not self.email_verified:
            return self.email
        raise DomainError(ErrorCode.NOTHING_TO_VERIFY, "the email address is verified and no change is pending")

    def email_confirmed(self, email: str, now: datetime) -> Customer:
        """A verification token for `email` redeemed: a pending address becomes the login, verified; the
        login itself becomes verified. A token for any other address is refused: a newer change has
        superseded it."""
        self.require_active()
        if email == self.pending_email:
            return replace(self, email=email, pending_email=None, email_verified=True, updated_at=now,
                           version=self.version + 1)
        if email == self.email and not self.email_verified:
            return replace(self, email_verified=True, updated_at=now, version=self.version + 1)
        raise invalid_token()

    def _moved(self, to: Status, *, allowed_from: frozenset[Status], action: str, now: datetime) -> Customer:
        if self.status not in allowed_from:
            raise DomainError(ErrorCode.INVALID_STATUS_TRANSITION,
                              f"a {self.status.value} customer cannot be {action}")
        return replace(self, status=to, updated_at=now, version=self.version + 1)

    def deactivate(self, now: datetime) -> Customer | None:
        """Deactivation is idempotent: None means there is nothing to change. A suspended customer
        cannot deactivate (an admin lifts the suspension first); erasure is always possible."""
        if self.status is Status.INACTIVE:
            return None
        return self._moved(Status.INACTIVE, allowed_from=frozenset({Status.ACTIVE}), action="deactivated", now=now)

    def reactivate(self, now: datetime) -> Customer:
        return self._moved(Status.ACTIVE, allowed_from=frozenset({Status.INACTIVE}), action="reactivated", now=now)

    def suspend(self, now: datetime) -> Customer:
        return self._moved(Status.SUSPENDED, allowed_from=frozenset({Status.ACTIVE, Status.INACTIVE}),
                           action="suspended", now=now)

    def lift_suspension(self, now: datetime) -> Customer:
        return self._moved(Status.ACTIVE, allowed_from=frozenset({Status.SUSPENDED}),
                           action="released from a suspension", now=now)

    def verified(self, channel: str, now: datetime) -> Customer | None:
        """The email address or phone number confirmed; None when it already was."""
        self.require_active()
        if channel == "phone":
            if not self.profile.get("phone"):
                raise DomainError(ErrorCode.INVALID_STATUS_TRANSITION, "the customer has no phone number")
            return None if self.phone_verified else replace(self, phone_verified=True, updated_at=now,
                                                            version=self.version + 1)
        return None if self.email_verified else replace(self, email_verified=True, updated_at=now,
                                                        version=self.version + 1)

    def logged_in(self, now: datetime) -> Customer:
        return replace(self, last_login_at=now, version=self.version + 1, updated_at=now)

    def bumped(self, now: datetime) -> Customer:
        """The same customer at the next version: another part of its aggregate (segment, address book)
        changed, so its representation did, and updatedAt moves with the ETag."""
        return replace(self, version=self.version + 1, updated_at=now)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "profile": dict(self.profile),
            "preferences": self.preferences,
            "status": self.status.value,
            "emailVerified": self.email_verified,
            "phoneVerified": self.phone_verified,
            "pendingEmail": self.pending_email,
            "externalId": self.external_id,
            "tags": list(self.tags),
            "registrationDate": iso(self.registration_date),
            "lastLoginAt": iso(self.last_login_at),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "version": self.version,
        }

    def view(self, segment_summary: dict[str, Any]) -> dict[str, Any]:
        """The spec's `customer` object of GET /customers/{id}."""
        body = self.to_dict()
        del body["version"]
        return {**body, "segment": segment_summary}

    def to_state(self) -> dict[str, Any]:
        return {**self.to_dict(), "consentHistory": [c.to_dict() for c in self.consent_history]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Customer:
        return cls(
            id=state["id"],
            email=state["email"],
            profile=state["profile"],
            preferences=state["preferences"],
            status=Status(state["status"]),
            registration_date=required_time_of(state["registrationDate"]),
            created_at=required_time_of(state["createdAt"]),
            updated_at=required_time_of(state["updatedAt"]),
            last_login_at=parse_iso(state.get("lastLoginAt")),
            email_verified=state.get("emailVerified", False),
            phone_verified=state.get("phoneVerified", False),
            version=state.get("version", 1),
            pending_email=state.get("pendingEmail"),
            external_id=state.get("externalId"),
            tags=tuple(state.get("tags", ())),
            consent_history=tuple(
                ConsentChange(c["channel"], c["granted"], c["source"], required_time_of(c["recordedAt"]))
                for c in state.get("consentHistory", [])
            ),
        )


def required_time_of(value: str) -> datetime:
    parsed = parse_iso(value)
    assert parsed is not None
    return parsed


def _changed_preference_paths(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    paths = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            paths += [f"preferences.{key}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            paths.append(f"preferences.{key}")
    return paths
