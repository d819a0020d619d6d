"""Events this service publishes (past tense), and the spec's envelope around them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from domain.clock import iso

VERSION = "1.0"


@dataclass(frozen=True)
class Event:
    topic: ClassVar[str]
    event_type: ClassVar[str]
    customer_id: str

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id}


@dataclass(frozen=True)
class CustomerCreated(Event):
    topic: ClassVar[str] = "customers.customer.created"
    event_type: ClassVar[str] = "CustomerCreated"
    email: str
    first_name: str | None
    last_name: str | None
    tier: str
    segment: str
    registration_date: datetime

    def data(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id,
            "email": self.email,
            "profile": {"firstName": self.first_name, "lastName": self.last_name},
            "segment": {"tier": self.tier, "segment": self.segment},
            "registrationDate": iso(self.registration_date),
        }


@dataclass(frozen=True)
class CustomerProfileUpdated(Event):
    topic: ClassVar[str] = "customers.profile.updated"
    event_type: ClassVar[str] = "CustomerProfileUpdated"
    changed_fields: tuple[str, ...]
    version: int

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "changedFields": list(self.changed_fields),
                "version": self.version}


@dataclass(frozen=True)
class CustomerDeactivated(Event):
    topic: ClassVar[str] = "customers.customer.deactivated"
    event_type: ClassVar[str] = "CustomerDeactivated"
    deactivated_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "status": "inactive", "deactivatedAt": iso(self.deactivated_at)}


@dataclass(frozen=True)
class CustomerReactivated(Event):
    topic: ClassVar[str] = "customers.customer.reactivated"
    event_type: ClassVar[str] = "CustomerReactivated"
    reactivated_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "status": "active", "reactivatedAt": iso(self.reactivated_at)}


@dataclass(frozen=True)
class CustomerSuspended(Event):
    topic: ClassVar[str] = "customers.customer.suspended"
    event_type: ClassVar[str] = "CustomerSuspended"
    reason: str
    suspended_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "status": "suspended", "reason": self.reason,
                "suspendedAt": iso(self.suspended_at)}


@dataclass(frozen=True)
class CustomerSuspensionLifted(Event):
    topic: ClassVar[str] = "customers.customer.unsuspended"
    event_type: ClassVar[str] = "CustomerSuspensionLifted"
    reason: str
    lifted_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "status": "active", "reason": self.reason,
                "liftedAt": iso(self.lifted_at)}


@dataclass(frozen=True)
class CustomerVerified(Event):
    """The customer's email address or phone number was confirmed."""

    topic: ClassVar[str] = "customers.customer.verified"
    event_type: ClassVar[str] = "CustomerVerified"
    channel: str
    verified_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "channel": self.channel, "verifiedAt": iso(self.verified_at)}


@dataclass(frozen=True)
class CustomerEmailChangeRequested(Event):
    """A new address waits for confirmation: the notification service mails a verification link to the
    new address and tells the current one, whose owner may not be the one asking."""

    topic: ClassVar[str] = "customers.customer.email_change_requested"
    event_type: ClassVar[str] = "CustomerEmailChangeRequested"
    current_email: str
    new_email: str
    requested_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "currentEmail": self.current_email, "newEmail": self.new_email,
                "requestedAt": iso(self.requested_at)}


@dataclass(frozen=True)
class CustomerPasswordReset(Event):
    """The password was set with a reset token, and every session ended. No secret travels here."""

    topic: ClassVar[str] = "customers.customer.password_reset"
    event_type: ClassVar[str] = "CustomerPasswordReset"
    reset_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "resetAt": iso(self.reset_at)}


@dataclass(frozen=True)
class CustomerErased(Event):
    """GDPR erasure: downstream services must delete or anonymise what they hold for this customer."""

    topic: ClassVar[str] = "customers.customer.erased"
    event_type: ClassVar[str] = "CustomerErased"
    erased_at: datetime

    def data(self) -> dict[str, Any]:
        return {"customerId": self.customer_id, "erasedAt": iso(self.erased_at)}


@dataclass(frozen=True)
class CustomerSegmentChanged(Event):
    topic: ClassVar[str] = "customers.segment.changed"
    event_type: ClassVar[str] = "CustomerSegmentChanged"
    old_tier: str
    new_tier: str
    old_segment: str
    new_segment: str
    reason: str

    def data(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id,
            "previous": {"tier": self.old_tier, "segment": self.old_segment},
            "current": {"tier": self.new_tier, "segment": self.new_segment},
            "reason": self.reason,
        }


def envelope(event: Event, *, event_id: str, timestamp: datetime, correlation_id: str, source: str) -> dict[str, Any]:
    """The spec's event envelope; `source` is the publishing service's name (SERVICE_NAME)."""
    return {
        "eventId": event_id,
        "eventType": event.event_type,
        "version": VERSION,
        "timestamp": iso(timestamp),
        "source": source,
        "data": event.data(),
        "metadata": {"correlationId": correlation_id},
    }


PUBLISHED_TOPICS = (CustomerCreated.topic, CustomerProfileUpdated.topic, CustomerDeactivated.topic,
                    CustomerReactivated.topic, CustomerSuspended.topic, CustomerSuspensionLifted.topic,
                    CustomerVerified.topic, CustomerErased.topic, CustomerSegmentChanged.topic,
                    CustomerEmailChangeRequested.topic, CustomerPasswordReset.topic)
