"""What happened to a customer, and who asked for it.

An `Activity` is the domain's record of one change (a `customer_activities` row); an `Origin` is the
request behind it: the correlation id and trace context carried into the change's events, and the
caller's session, address and user agent recorded beside the activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Activities whose data staff write for staff (an override's or a suspension's reason, who set it): the
# customer's own timeline shows that they happened, and when, but not their data.
STAFF_ONLY_DATA = frozenset({"segment_overridden", "segment_override_cleared", "suspended", "suspension_lifted"})


@dataclass(frozen=True)
class Activity:
    activity_type: str
    data: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Origin:
    correlation_id: str
    session_id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    # The W3C trace context of the request, carried into the change's events.
    traceparent: str | None = None
