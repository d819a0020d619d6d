"""The durable record in PostgreSQL.

Every change is one transaction (`Store.transaction()`): the row change, an activity row, and outbox
rows for the events it announces. Reads that rebuild an actor, export a customer or summarise many
customers are plain methods on `Store`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from domain.addresses import FIELDS as ADDRESS_FIELDS
from domain.addresses import Address, AddressBook
from domain.clock import iso
from domain.customer import ConsentChange, Customer, Status
from domain.errors import DomainError, ErrorCode
from domain.events import Event, envelope
from domain.ids import address_id_of, address_uuid, customer_id_of, customer_uuid
from domain.segmentation import SegmentState, next_boundary

OUTBOX_CHANNEL = "outbox"
# Address field (camelCase, domain/addresses.py) -> customer_addresses column, in the INSERT's order.
ADDRESS_COLUMNS = {name: re.sub(r"(?=[A-Z])", "_", name).lower() for name, _, _ in ADDRESS_FIELDS}


class StoreUnavailable(Exception):
    """PostgreSQL could not be reached or failed mid-transaction; nothing was committed."""


# What asyncpg raises when the database is down, restarting or overloaded, as opposed to a rejection.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    TimeoutError,
)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(str(exc) or type(exc).__name__)


@dataclass(frozen=True)
class Activity:
    activity_type: str
    data: dict[str, Any]
    occurred_at: datetime
    session_id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class CustomerRecord:
    """Everything an actor holds, as PostgreSQL has it."""

    customer: Customer
    segment: SegmentState
    addresses: AddressBook


@dataclass(frozen=True)
class Credentials:
    customer_id: str
    password_hash: str
    status: Status


def _key(customer_id: str) -> uuid.UUID:
    key = customer_uuid(customer_id)
    if key is None:
        raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND, f"customer {customer_id} does not exist")
    return key


def _profile_columns(customer: Customer) -> list[Any]:
    p = customer.profile
    dob = p.get("dateOfBirth")
    return [p.get("firstName"), p.get("lastName"), datetime.fromisoformat(dob).date() if dob else None,
            p.get("gender"), p.get("phone"), p.get("avatar")]


class Tx:
    """The writes of one transaction. Obtain through `Store.transaction()`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def insert_customer(self, *, customer: Customer, password_hash: str, segment: SegmentState) -> None:
        try:
            await self._conn.execute(
                """
                INSERT INTO customers (id, email, password_hash, first_name, last_name, date_of_birth, gender,
                    phone, avatar_url, status, preferences, registration_date, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $13)
                """,
                _key(customer.id), customer.email, password_hash, *_profile_columns(customer),
                customer.status.value, json.dumps(customer.preferences), customer.registration_date,
                customer.version,
            )
        except asyncpg.UniqueViolationError as exc:
            raise DomainError(ErrorCode.EMAIL_ALREADY_EXISTS,
                              "an account with this email address already exists") from exc
        await self.save_segment(customer_id=customer.id, segment=segment)

    async def update_customer(self, *, customer: Customer, expected_version: int) -> None:
        """Writes the customer if the stored version is the one this change was made from."""
        status = await self._conn.execute(
            """
            UPDATE customers SET first_name = $2, last_name = $3, date_of_birth = $4, gender = $5, phone = $6,
                avatar_url = $7, preferences = $8, status = $9, last_login_at = $10, updated_at = $11,
                version = $12
            WHERE id = $1 AND version = $13
            """,
            _key(customer.id), *_profile_columns(customer), json.dumps(customer.preferences),
            customer.status.value, customer.last_login_at, customer.updated_at, customer.version,
            expected_version,
        )
        if status != "UPDATE 1":
            raise DomainError(ErrorCode.PRECONDITION_FAILED,
                              "the customer was changed by another request; read it again")

    async def bump_version(self, *, customer_id: str, expected: int, new: int) -> None:
        """Moves the aggregate's version on for a change outside the customers row (segment, addresses)."""
        status = await self._conn.execute("UPDATE customers SET version = $3 WHERE id = $1 AND version = $2",
                                          _key(customer_id), expected, new)
        if status != "UPDATE 1":
            raise DomainError(ErrorCode.PRECONDITION_FAILED,
                              "the customer was changed by another request; read it again")

    async def mark_event_processed(self, *, event_id: str, topic: str, customer_id: str) -> bool:
        """True the first time an inbound event is seen; False for a redelivery."""
        status = await self._conn.execute(
            "INSERT INTO processed_events (event_id, topic, customer_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (event_id) DO NOTHING",
            event_id, topic, _key(customer_id),
        )
        return bool(status == "INSERT 0 1")

    async def record_order(self, *, customer_id: str, order_id: str, amount: Decimal, currency: str,
                           completed_at: datetime, event_id: str) -> bool:
        """True if this order is new; an order announced twice (any event id) counts once."""
        await self.mark_event_processed(event_id=event_id, topic="orders.order.completed",
                                        customer_id=customer_id)
        status = await self._conn.execute(
            "INSERT INTO customer_orders (order_id, customer_id, amount, currency, completed_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING",
            order_id, _key(customer_id), amount, currency, completed_at,
        )
        return bool(status == "INSERT 0 1")

    async def set_password_hash(self, *, customer_id: str, password_hash: str) -> None:
        await self._conn.execute("UPDATE customers SET password_hash = $2 WHERE id = $1",
                                 _key(customer_id), password_hash)

    async def save_segment(self, *, customer_id: str, segment: SegmentState) -> None:
        m = segment.metrics
        now = segment.updated_at or m.registration_date
        await self._conn.execute(
            """
            INSERT INTO customer_segments (customer_id, tier, segment, loyalty_points, total_spent, order_count,
                average_order_value, last_order_date, days_since_last_order, lifetime_value, qualifications,
                tier_achieved_at, segment_achieved_at, updated_at, computed_tier, computed_segment, override,
                recent_orders, next_review_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            ON CONFLICT (customer_id) DO UPDATE SET tier = $2, segment = $3, loyalty_points = $4,
                total_spent = $5, order_count = $6, average_order_value = $7, last_order_date = $8,
                days_since_last_order = $9, lifetime_value = $5, qualifications = $10, tier_achieved_at = $11,
                segment_achieved_at = $12, updated_at = $13, computed_tier = $14, computed_segment = $15,
                override = $16, recent_orders = $17, next_review_at = $18
            """,
            _key(customer_id), segment.effective_tier.value, segment.effective_segment.value, m.loyalty_points,
            m.total_spent, m.order_count, m.average_order_value, m.last_order_date, m.days_since_last_order(now),
            json.dumps(segment.qualifications), segment.tier_achieved_at, segment.segment_achieved_at, now,
            segment.tier.value, segment.segment.value,
            json.dumps(segment.override.to_dict()) if segment.override else None,
            json.dumps([iso(t) for t in m.recent_orders]), next_boundary(m, now),
        )

    async def save_address_book(self, *, customer_id: str, book: AddressBook) -> None:
        """Makes the stored book equal `book`; defaults are cleared first, so the one-default-per-type
        index never sees two defaults mid-change."""
        key = _key(customer_id)
        keep = [address_uuid(a.id) for a in book.addresses]
        await self._conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1 AND NOT (id = ANY($2))",
                                 key, keep)
        await self._conn.execute(
            "UPDATE customer_addresses SET is_default = FALSE WHERE customer_id = $1 AND id = ANY($2)",
            key, [address_uuid(a.id) for a in book.addresses if not a.is_default],
        )
        await self._conn.executemany(
            """
            INSERT INTO customer_addresses (id, customer_id, type, is_default, first_name, last_name, company, street,
                street2, city, state, zip_code, country, phone, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            ON CONFLICT (id) DO UPDATE SET type = $3, is_default = $4, first_name = $5, last_name = $6,
                company = $7, street = $8, street2 = $9, city = $10, state = $11, zip_code = $12, country = $13,
                phone = $14, updated_at = $16
            """,
            [(address_uuid(a.id), key, a.type, a.is_default, *(a.fields[name] for name in ADDRESS_COLUMNS),
              a.created_at, a.updated_at) for a in book.addresses],
        )

    async def add_activity(self, *, customer_id: str, activity: Activity) -> None:
        args = (_key(customer_id), activity.activity_type, json.dumps(activity.data), activity.session_id,
                activity.ip_address, activity.user_agent, activity.occurred_at)
        insert = """
            INSERT INTO customer_activities (customer_id, activity_type, activity_data, session_id, ip_address,
                user_agent, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
        """
        try:
            async with self._conn.transaction():  # a savepoint: the outer transaction survives a miss
                await self._conn.execute(insert, *args)
        except asyncpg.CheckViolationError as exc:
            if "no partition" not in str(exc):
                raise
            # The maintenance tick creates partitions ahead; this covers a month it has not reached.
            await self._conn.execute("SELECT ensure_activity_partitions($1, 0)", activity.occurred_at)
            await self._conn.execute(insert, *args)

    async def add_consents(self, *, customer_id: str, consents: Sequence[ConsentChange]) -> None:
        await self._conn.executemany(
            "INSERT INTO customer_consents (customer_id, channel, granted, source, recorded_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(_key(customer_id), c.channel, c.granted, c.source, c.recorded_at) for c in consents],
        )

    async def enqueue(self, *, events: Sequence[Event], at: datetime, correlation_id: str) -> None:
        """Outbox rows, committed with the change they announce; the relay publishes them."""
        if not events:
            return
        rows = []
        for event in events:
            event_id = "evt_" + uuid.uuid4().hex
            payload = envelope(event, event_id=event_id, timestamp=at, correlation_id=correlation_id)
            rows.append((event_id, _key(event.customer_id), event.topic, json.dumps(payload)))
        await self._conn.executemany(
            "INSERT INTO outbox (event_id, customer_id, topic, payload) VALUES ($1, $2, $3, $4)", rows
        )
        await self._conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")

    async def anonymise(self, *, customer_id: str, at: datetime) -> None:
        """GDPR erasure: no personal data left, the row kept so orders and events still join."""
        key = _key(customer_id)
        await self._conn.execute(
            """
            UPDATE customers SET email = 'erased+' || replace(id::text, '-', '') || '@erased.invalid',
                password_hash = 'erased', first_name = NULL, last_name = NULL, date_of_birth = NULL,
                gender = NULL, phone = NULL, avatar_url = NULL, preferences = '{}', last_login_at = NULL,
                status = 'deleted', email_verified = FALSE, phone_verified = FALSE, erased_at = $2,
                updated_at = $2, version = version + 1
            WHERE id = $1
            """,
            key, at,
        )
        await self._conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1", key)
        await self._conn.execute("DELETE FROM customer_consents WHERE customer_id = $1", key)
        await self._conn.execute(
            "UPDATE customer_activities SET activity_data = '{}', session_id = NULL, ip_address = NULL, "
            "user_agent = NULL WHERE customer_id = $1", key,
        )


class Store:
    def __init__(self, pool: asyncpg.Pool, database_url: str) -> None:
        self._pool = pool
        self._database_url = database_url

    @classmethod
    async def connect(cls, database_url: str, *, max_connections: int) -> Store:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=max_connections,
                                         command_timeout=10)
        return cls(pool, database_url)

    async def dedicated_connection(self) -> asyncpg.Connection:
        """A connection outside the pool, for LISTEN: the pool may recycle its connections at any time."""
        try:
            conn: asyncpg.Connection = await asyncpg.connect(self._database_url, timeout=5)
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
        return conn

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                yield Tx(conn)
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def exclusive(self, lock_id: int) -> AsyncIterator[asyncpg.Connection | None]:
        """A transaction holding advisory lock `lock_id`, or None when another replica holds it:
        periodic work runs on one replica at a time."""
        async with self._pool.acquire() as conn, conn.transaction():
            held = await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_id)
            yield conn if held else None

    async def _fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        try:
            return await self._pool.fetchrow(query, *args)
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return list(await self._pool.fetch(query, *args))
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc

    async def ensure_activity_partitions(self, now: datetime, months_ahead: int = 1) -> int:
        created: int = await self._pool.fetchval("SELECT ensure_activity_partitions($1, $2)", now, months_ahead)
        return created

    async def load_customer(self, customer_id: str) -> CustomerRecord | None:
        """The customer as PostgreSQL has it, to rebuild an actor whose Dapr state is gone."""
        key = customer_uuid(customer_id)
        if key is None:
            return None
        row = await self._fetchrow("SELECT * FROM customers WHERE id = $1", key)
        if row is None:
            return None
        consents = await self._fetch(
            "SELECT channel, granted, source, recorded_at FROM customer_consents WHERE customer_id = $1 ORDER BY id",
            key,
        )
        segment_row = await self._fetchrow("SELECT * FROM customer_segments WHERE customer_id = $1", key)
        address_rows = await self._fetch(
            "SELECT * FROM customer_addresses WHERE customer_id = $1 ORDER BY created_at", key
        )
        customer = _customer_from_row(row, consents)
        return CustomerRecord(customer, _segment_from_row(segment_row, customer.registration_date),
                              AddressBook(tuple(_address_from_row(a) for a in address_rows)))

    async def customer_version(self, customer_id: str) -> int | None:
        key = customer_uuid(customer_id)
        if key is None:
            return None
        row = await self._fetchrow("SELECT version FROM customers WHERE id = $1", key)
        return None if row is None else int(row["version"])

    async def credentials(self, email: str) -> Credentials | None:
        row = await self._fetchrow(
            "SELECT id, password_hash, status FROM customers WHERE lower(email) = lower($1)", email.strip()
        )
        if row is None:
            return None
        return Credentials(customer_id_of(row["id"]), row["password_hash"], Status(row["status"]))

    async def password_hash(self, customer_id: str) -> str | None:
        row = await self._fetchrow("SELECT password_hash FROM customers WHERE id = $1", _key(customer_id))
        return None if row is None else str(row["password_hash"])

    async def export(self, customer_id: str) -> dict[str, Any]:
        """Every piece of personal data held about a customer (GDPR access request)."""
        key = _key(customer_id)
        customer = await self._fetchrow("SELECT * FROM customers WHERE id = $1", key)
        if customer is None:
            raise DomainError(ErrorCode.CUSTOMER_NOT_FOUND, f"customer {customer_id} does not exist")
        addresses = await self._fetch(
            "SELECT * FROM customer_addresses WHERE customer_id = $1 ORDER BY created_at", key
        )
        consents = await self._fetch("SELECT * FROM customer_consents WHERE customer_id = $1 ORDER BY id", key)
        segment = await self._fetchrow("SELECT * FROM customer_segments WHERE customer_id = $1", key)
        activities = await self._fetch(
            "SELECT * FROM customer_activities WHERE customer_id = $1 ORDER BY occurred_at", key
        )
        orders = await self._fetch("SELECT * FROM customer_orders WHERE customer_id = $1 ORDER BY completed_at", key)
        return {
            "customer": _public_record(customer, drop={"password_hash"}),
            "addresses": [_public_record(a, id_of=address_id_of) for a in addresses],
            "consentHistory": [_public_record(c) for c in consents],
            "segment": _public_record(segment) if segment else None,
            "activities": [_public_record(a) for a in activities],
            "orders": [_public_record(o) for o in orders],
        }


    async def segment_counts(self) -> dict[str, Any]:
        """Customers per tier and per segment, over every customer not erased."""
        rows = await self._fetch(
            "SELECT s.tier, s.segment, count(*) AS customers FROM customer_segments s "
            "JOIN customers c ON c.id = s.customer_id WHERE c.status <> 'deleted' GROUP BY s.tier, s.segment"
        )
        tiers: dict[str, int] = {}
        segments: dict[str, int] = {}
        for row in rows:
            tiers[row["tier"]] = tiers.get(row["tier"], 0) + row["customers"]
            segments[row["segment"]] = segments.get(row["segment"], 0) + row["customers"]
        return {"total": sum(tiers.values()), "tiers": tiers, "segments": segments}

    async def analytics(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """Activity counts by type over 30/90/365 days, last activity, and order cadence."""
        key = _key(customer_id)
        rows = await self._fetch(
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
        orders = await self._fetchrow(
            "SELECT count(*) AS n, min(completed_at) AS first, max(completed_at) AS last "
            "FROM customer_orders WHERE customer_id = $1", key,
        )
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


def _customer_from_row(row: asyncpg.Record, consents: Sequence[asyncpg.Record]) -> Customer:
    return Customer(
        id=customer_id_of(row["id"]),
        email=row["email"],
        profile={
            "firstName": row["first_name"], "lastName": row["last_name"],
            "dateOfBirth": row["date_of_birth"].isoformat() if row["date_of_birth"] else None,
            "gender": row["gender"], "phone": row["phone"], "avatar": row["avatar_url"],
        },
        preferences=json.loads(row["preferences"]) if isinstance(row["preferences"], str) else row["preferences"],
        status=Status(row["status"]),
        registration_date=row["registration_date"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_login_at=row["last_login_at"],
        email_verified=row["email_verified"],
        phone_verified=row["phone_verified"],
        version=row["version"],
        consent_history=tuple(ConsentChange(c["channel"], c["granted"], c["source"], c["recorded_at"])
                              for c in consents),
    )


def _address_from_row(row: asyncpg.Record) -> Address:
    return Address(address_id_of(row["id"]), row["type"], bool(row["is_default"]),
                   {name: row[column] for name, column in ADDRESS_COLUMNS.items()},
                   row["created_at"], row["updated_at"])


def _segment_from_row(row: asyncpg.Record | None, registration_date: datetime) -> SegmentState:
    if row is None:
        return SegmentState.initial(registration_date)
    qualifications = json.loads(row["qualifications"]) if row["qualifications"] else {}
    override = json.loads(row["override"]) if row["override"] else None
    recent = json.loads(row["recent_orders"]) if row["recent_orders"] else []
    return SegmentState.from_state({
        "metrics": {
            "registrationDate": iso(registration_date), "totalSpent": str(row["total_spent"]),
            "orderCount": row["order_count"], "loyaltyPoints": row["loyalty_points"],
            "lastOrderDate": iso(row["last_order_date"]), "recentOrders": recent,
        },
        "tier": row["computed_tier"],
        "segment": row["computed_segment"],
        "qualifications": qualifications,
        "override": override,
        "tierAchievedAt": iso(row["tier_achieved_at"]),
        "segmentAchievedAt": iso(row["segment_achieved_at"]),
        "updatedAt": iso(row["updated_at"]),
    })


def _public_record(row: asyncpg.Record, drop: frozenset[str] | set[str] = frozenset(),
                   id_of: Callable[[uuid.UUID], str] | None = None) -> dict[str, Any]:
    """A row as JSON-ready data: UUIDs as public ids, times as ISO 8601, JSONB decoded."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in drop:
            continue
        if isinstance(value, uuid.UUID):
            if name == "customer_id" or (name == "id" and "email" in row):
                value = customer_id_of(value)
            else:
                value = id_of(value) if name == "id" and id_of else str(value)
        elif isinstance(value, datetime):
            value = iso(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif name in ("preferences", "qualifications", "override", "recent_orders", "activity_data",
                      "validation_data") and isinstance(value, str):
            value = json.loads(value)
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        out[name] = value
    return out
