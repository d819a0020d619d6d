"""Read models over many rows, for the API: the GDPR export, behaviour analytics, segment counts, and
finding customers.

Every query names its columns: the export says exactly what it exports, so a column added later
(a secret, say) does not leak into it by default.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from domain.clock import iso
from domain.errors import not_found
from domain.ids import address_id_of, customer_id_of
from domain.notes import NOTE_PREFIX, Note
from persistence.replica import ReadReplica
from persistence.store import Store, key_of

# What the GDPR export contains, table by table. password_hash is deliberately absent.
EXPORT_CUSTOMER = ("id, email, first_name, last_name, date_of_birth, gender, phone, avatar_url, status, "
                   "email_verified, phone_verified, preferences, registration_date, last_login_at, created_at, "
                   "updated_at, pending_email")
EXPORT_ADDRESS = ("id, type, is_default, first_name, last_name, company, street, street2, city, state, zip_code, "
                  "country, phone, is_validated, created_at, updated_at")
EXPORT_CONSENT = "channel, granted, source, recorded_at"
EXPORT_SEGMENT = ("tier, segment, loyalty_points, total_spent, order_count, average_order_value, last_order_date, "
                  "lifetime_value, qualifications, override, tier_achieved_at, segment_achieved_at, updated_at")
EXPORT_ACTIVITY = "activity_type, activity_data, session_id, ip_address, user_agent, occurred_at"
EXPORT_ORDER = "order_id, amount, currency, completed_at, usd_rate"
EXPORT_ORDER_ADJUSTMENT = "order_id, adjustment_id, kind, amount, currency, occurred_at"
JSON_COLUMNS = frozenset({"preferences", "qualifications", "override", "activity_data"})


class ReadModels:
    """The export reads the primary; the others tolerate a little lag and read the replica (see
    persistence/replica.py for why, per read)."""

    def __init__(self, store: Store, replica: ReadReplica) -> None:
        self._store = store
        self._replica = replica

    async def export(self, customer_id: str) -> dict[str, Any]:
        """Every piece of personal data held about a customer (GDPR access request)."""
        key = key_of(customer_id)
        async with self._store.connection() as conn:
            customer = await conn.fetchrow(f"SELECT {EXPORT_CUSTOMER} FROM customers WHERE id = $1", key)
            if customer is None:
                raise not_found(customer_id)
            addresses = await conn.fetch(f"SELECT {EXPORT_ADDRESS} FROM customer_addresses "
                                         "WHERE customer_id = $1 ORDER BY created_at", key)
            consents = await conn.fetch(f"SELECT {EXPORT_CONSENT} FROM customer_consents "
                                        "WHERE customer_id = $1 ORDER BY id", key)
            segment = await conn.fetchrow(f"SELECT {EXPORT_SEGMENT} FROM customer_segments WHERE customer_id = $1",
                                          key)
            activities = await conn.fetch(f"SELECT {EXPORT_ACTIVITY} FROM customer_activities "
                                          "WHERE customer_id = $1 ORDER BY occurred_at", key)
            orders = await conn.fetch(f"SELECT {EXPORT_ORDER} FROM customer_orders "
                                      "WHERE customer_id = $1 ORDER BY completed_at", key)
            adjustments = await conn.fetch(f"SELECT {EXPORT_ORDER_ADJUSTMENT} FROM customer_order_adjustments "
                                           "WHERE customer_id = $1 ORDER BY occurred_at", key)
        return {
            "customer": _json_row(customer, id_of=customer_id_of),
            "addresses": [_json_row(a, id_of=address_id_of) for a in addresses],
            "consentHistory": [_json_row(c) for c in consents],
            "segment": _json_row(segment) if segment else None,
            "activities": [_json_row(a) for a in activities],
            "orders": [_json_row(o) for o in orders],
            "orderAdjustments": [_json_row(a) for a in adjustments],
        }

    async def segment_counts(self) -> dict[str, Any]:
        """Customers per tier and per segment, over every customer not erased."""
        rows = await self._replica.read(lambda conn: conn.fetch(
            "SELECT s.tier, s.segment, count(*) AS customers FROM customer_segments s "
            "JOIN customers c ON c.id = s.customer_id WHERE c.status <> 'deleted' GROUP BY s.tier, s.segment"))
        tiers: dict[str, int] = {}
        segments: dict[str, int] = {}
        for row in rows:
            tiers[row["tier"]] = tiers.get(row["tier"], 0) + row["customers"]
            segments[row["segment"]] = segments.get(row["segment"], 0) + row["customers"]
        return {"total": sum(tiers.values()), "tiers": tiers, "segments": segments}

    async def customers_due_for_review(self, *, now: datetime, limit: int) -> list[str]:
        """Customers whose next segment boundary has passed (the sweep's selection)."""
        rows = await self._replica.read(lambda conn: conn.fetch(
            "SELECT s.customer_id FROM customer_segments s JOIN customers c ON c.id = s.customer_id "
            "WHERE s.next_review_at <= $1 AND c.status <> 'deleted' ORDER BY s.next_review_at LIMIT $2",
            now, limit))
        return [customer_id_of(r["customer_id"]) for r in rows]

    async def customers_with_orders_awaiting_a_rate(self, *, limit: int) -> list[str]:
        """Customers with orders kept apart in a currency that now has an exchange rate (the sweep's selection)."""
        rows = await self._replica.read(lambda conn: conn.fetch(
            "SELECT s.customer_id FROM customer_segments s JOIN customers c ON c.id = s.customer_id "
            "WHERE s.other_currencies <> '[]' AND c.status <> 'deleted' AND EXISTS ("
            "SELECT 1 FROM jsonb_array_elements(s.other_currencies) kept "
            "JOIN exchange_rates r ON r.currency = kept ->> 0) LIMIT $1", limit))
        return [customer_id_of(r["customer_id"]) for r in rows]

    async def activities(self, customer_id: str, *, types: list[str] | None, occurred_from: datetime | None,
                         occurred_to: datetime | None, limit: int,
                         after: tuple[datetime, uuid.UUID] | None) -> ActivityPage:
        """The customer's activities, newest first, a keyset page; 404 for a customer that does not exist
        (or was erased)."""
        key = key_of(customer_id)

        async def read(conn: asyncpg.Connection) -> tuple[str | None, list[asyncpg.Record]]:
            status = await conn.fetchval("SELECT status FROM customers WHERE id = $1", key)
            rows = await conn.fetch(TIMELINE, key, types, occurred_from, occurred_to,
                                    *(after or (None, None)), limit + 1)
            return status, rows

        status, rows = await self._replica.read(read)
        if status is None or status == "deleted":
            raise not_found(customer_id)
        page = rows[:limit]
        return ActivityPage(
            [{"type": r["activity_type"], "occurredAt": iso(r["occurred_at"]),
              "data": json.loads(r["activity_data"]), "sessionId": r["session_id"], "ipAddress": r["ip_address"],
              "userAgent": r["user_agent"]} for r in page],
            (page[-1]["occurred_at"], page[-1]["id"]) if len(rows) > limit else None)

    async def notes(self, customer_id: str, *, limit: int, after: tuple[datetime, uuid.UUID] | None) -> NotePage:
        """The customer's internal notes, newest first, a keyset page; 404 for a customer that does not exist
        (or was erased). From the primary: a note just written is listed."""
        key = key_of(customer_id)
        async with self._store.connection() as conn:
            status = await conn.fetchval("SELECT status FROM customers WHERE id = $1", key)
            rows = await conn.fetch(
                "SELECT id, author, text, created_at FROM customer_notes WHERE customer_id = $1 "
                "AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid)) "
                "ORDER BY created_at DESC, id DESC LIMIT $4", key, *(after or (None, None)), limit + 1)
        if status is None or status == "deleted":
            raise not_found(customer_id)
        page = [Note(NOTE_PREFIX + r["id"].hex, r["author"], r["text"], r["created_at"]) for r in rows[:limit]]
        return NotePage(page, (page[-1].created_at, page[-1].key) if len(rows) > limit else None)

    async def customer_with_external_id(self, external_id: str) -> str | None:
        """The customer another system knows by `external_id`. From the primary: a sync that has just
        created a customer looks it up next."""
        async with self._store.connection() as conn:
            key = await conn.fetchval("SELECT id FROM customers WHERE external_id = $1 AND status <> 'deleted'",
                                      external_id)
        return None if key is None else customer_id_of(key)

    async def search(self, criteria: CustomerSearch) -> SearchPage:
        sql, args = criteria.query()
        rows = await self._replica.read(lambda conn: conn.fetch(sql, *args))
        page = rows[:criteria.limit]
        customers = [{
            "id": customer_id_of(r["id"]), "email": r["email"],
            "profile": {"firstName": r["first_name"], "lastName": r["last_name"]},
            "status": r["status"], "tier": r["tier"], "segment": r["segment"],
            "registrationDate": iso(r["registration_date"]), "lastOrderDate": iso(r["last_order_date"]),
            "externalId": r["external_id"], "tags": list(r["tags"]),
            "totalSpent": float(r["total_spent"]), "orderCount": r["order_count"],
            "loyaltyPoints": r["loyalty_points"],
        } for r in page]
        more = len(rows) > criteria.limit
        return SearchPage(customers, (page[-1]["registration_date"], page[-1]["id"]) if more else None)

    async def analytics(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """Activity counts by type over 30/90/365 days, last activity, and order cadence."""
        key = key_of(customer_id)

        async def counts(conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], asyncpg.Record | None]:
            rows = await conn.fetch(
                """
                SELECT activity_type,
                       count(*) FILTER (WHERE occurred_at > $2::timestamptz - INTERVAL '30 days') AS last30,
                       count(*) FILTER (WHERE occurred_at > $2::timestamptz - INTERVAL '90 days') AS last90,
                       count(*) AS last365,
                       max(occurred_at) AS latest
                FROM customer_activities
                WHERE customer_id = $1 AND occurred_at > $2::timestamptz - INTERVAL '365 days' AND occurred_at <= $2
                GROUP BY activity_type ORDER BY activity_type
                """,
                key, now,
            )
            orders = await conn.fetchrow(
                "SELECT count(*) AS n, min(completed_at) AS first, max(completed_at) AS last "
                "FROM customer_orders WHERE customer_id = $1", key)
            return rows, orders

        rows, orders = await self._replica.read(counts)
        assert orders is not None
        count = int(orders["n"])
        cadence = None
        if count >= 2:
            cadence = round((orders["last"] - orders["first"]).total_seconds() / 86400 / (count - 1), 1)
        latest = max((r["latest"] for r in rows), default=None)
        return {
            "customerId": customer_id,
            "activityCounts": {
                window: {r["activity_type"]: int(r[column]) for r in rows if r[column]}
                for window, column in (("last30Days", "last30"), ("last90Days", "last90"), ("last365Days", "last365"))
            },
            "lastActivityAt": iso(latest),
            "orders": {
                "count": count,
                "firstOrderAt": iso(orders["first"]),
                "lastOrderAt": iso(orders["last"]),
                "averageDaysBetweenOrders": cadence,
            },
            "asOf": iso(now),
        }


def _json_value(name: str, value: Any, id_of: Callable[[uuid.UUID], str] | None) -> Any:
    if isinstance(value, uuid.UUID):
        return id_of(value) if name == "id" and id_of else str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if name in JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
        return str(value)  # INET addresses
    return value


def _json_row(row: asyncpg.Record, id_of: Callable[[uuid.UUID], str] | None = None) -> dict[str, Any]:
    """A row as JSON-ready data: ids as public ids, times as ISO 8601, JSONB decoded."""
    return {name: _json_value(name, value, id_of) for name, value in row.items()}


@dataclass(frozen=True)
class CustomerSearch:
    """GET /v1/customers: every filter optional, newest registrations first, keyset pages."""

    email: str | None = None
    email_prefix: str | None = None
    status: str | None = None  # erased customers are left out unless asked for by status
    tier: str | None = None
    segment: str | None = None
    registered_from: datetime | None = None
    registered_to: datetime | None = None
    last_order_from: datetime | None = None
    last_order_to: datetime | None = None
    name: str | None = None  # a substring of "first last", any case
    tag: str | None = None  # normalised (domain/tags.py)
    limit: int = 20
    after: tuple[datetime, uuid.UUID] | None = None  # the last row of the previous page

    def query(self) -> tuple[str, list[Any]]:
        """The SQL and its arguments; every value is a parameter."""
        conditions: list[str] = []
        args: list[Any] = []

        def where(condition: str, *values: Any) -> None:
            placeholders = [f"${len(args) + i + 1}" for i in range(len(values))]
            conditions.append(condition.format(*placeholders))
            args.extend(values)

        if self.email is not None:
            where("lower(c.email) = lower({})", self.email)
        if self.email_prefix is not None:
            where("lower(c.email) LIKE {} ESCAPE '\\'", _like_prefix(self.email_prefix.lower()))
        if self.status is not None:
            where("c.status = {}", self.status)
        else:
            conditions.append("c.status <> 'deleted'")
        if self.tier is not None:
            where("s.tier = {}", self.tier)
        if self.segment is not None:
            where("s.segment = {}", self.segment)
        if self.registered_from is not None:
            where("c.registration_date >= {}", self.registered_from)
        if self.registered_to is not None:
            where("c.registration_date < {}", self.registered_to)
        if self.last_order_from is not None:
            where("s.last_order_date >= {}", self.last_order_from)
        if self.last_order_to is not None:
            where("s.last_order_date < {}", self.last_order_to)
        if self.name is not None:
            where(f"{NAME_EXPRESSION} LIKE {{}} ESCAPE '\\'", "%" + _escape_like(self.name.lower()) + "%")
        if self.tag is not None:
            where("c.tags @> ARRAY[{}]::text[]", self.tag)  # @>: the GIN index's operator
        if self.after is not None:
            where("(c.registration_date, c.id) < ({}, {})", *self.after)
        args.append(self.limit + 1)  # one more than asked: is there a next page?
        sql = (f"SELECT {SEARCH_COLUMNS} FROM customers c JOIN customer_segments s ON s.customer_id = c.id "
               f"WHERE {' AND '.join(conditions)} ORDER BY c.registration_date DESC, c.id DESC LIMIT ${len(args)}")
        return sql, args


# The activity timeline: every filter a parameter that may be NULL, one statement (asyncpg prepares it
# once), newest first on (occurred_at, id), the index of migration 0014.
TIMELINE = """
    SELECT id, activity_type, activity_data, session_id, host(ip_address) AS ip_address, user_agent, occurred_at
    FROM customer_activities
    WHERE customer_id = $1
      AND ($2::text[] IS NULL OR activity_type = ANY($2::text[]))
      AND ($3::timestamptz IS NULL OR occurred_at >= $3)
      AND ($4::timestamptz IS NULL OR occurred_at < $4)
      AND ($5::timestamptz IS NULL OR (occurred_at, id) < ($5, $6::uuid))
    ORDER BY occurred_at DESC, id DESC
    LIMIT $7
"""


@dataclass(frozen=True)
class ActivityPage:
    activities: list[dict[str, Any]]
    next_after: tuple[datetime, uuid.UUID] | None


@dataclass(frozen=True)
class NotePage:
    notes: list[Note]
    next_after: tuple[datetime, uuid.UUID] | None


@dataclass(frozen=True)
class SearchPage:
    customers: list[dict[str, Any]]
    next_after: tuple[datetime, uuid.UUID] | None


# The name expression must be written as the trigram index's (migration 0005) for the index to apply.
NAME_EXPRESSION = "lower(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, ''))"
SEARCH_COLUMNS = ("c.id, c.email, c.first_name, c.last_name, c.status, c.registration_date, s.tier, s.segment, "
                  "s.last_order_date, c.external_id, c.tags, s.total_spent, s.order_count, s.loyalty_points")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _escape_like(text) + "%"
