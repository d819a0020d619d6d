"""The durable record in PostgreSQL: customers as aggregates, each change in one transaction.

`Store.commit(change, origin)` writes everything a `domain.aggregate.Change` decided (the customer
row at its new version, segment, address book, consents, password hash, the inbound event's receipt,
the activity row, and outbox rows for its events) in one transaction, or nothing, and answers one
`CommitOutcome`. Reads here are the ones an actor needs; read models for the API live in
`persistence.read_models`, the outbox in `persistence.outbox`.

Round trips are the write path's cost (bench/, issue 17), so a change takes as few as its statements
need: no NOTIFY statement (a trigger on the outbox notifies, migration 0009), no savepoint around the
activity row (its month's partition is ensured once per process, outside the change's transaction),
and no reset query when a connection goes back to the pool (see `_keep_session`).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from domain.activity import Activity, Origin
from domain.addresses import FIELDS as ADDRESS_FIELDS
from domain.addresses import Address, AddressBook
from domain.aggregate import Change, CustomerAggregate, Receipt
from domain.clock import iso
from domain.customer import ConsentChange, Customer, Status
from domain.errors import DomainError, ErrorCode, invalid_token, not_found
from domain.events import Event, envelope
from domain.ids import address_id_of, address_uuid, customer_id_of, customer_uuid
from domain.orders import CompletedOrder, OrderLedger
from domain.segmentation import SegmentState
from domain.tokens import IssuedToken, TokenPurpose, TokenRedemption
from persistence.statements import MATCH, insert, update

EXTERNAL_ID_INDEX = "uq_customers_external_id"  # migration 0015
OUTBOX_CHANNEL = "outbox"  # what migration 0009's trigger notifies at each COMMIT that wrote outbox rows
# Address field (camelCase, domain/addresses.py) -> customer_addresses column, in the INSERT's order.
ADDRESS_COLUMNS = {name: re.sub(r"(?=[A-Z])", "_", name).lower() for name, _, _ in ADDRESS_FIELDS}


class StoreUnavailable(Exception):
    """PostgreSQL could not be reached or failed mid-transaction; nothing was committed."""


class CommitOutcomeUnknown(StoreUnavailable):
    """The connection was lost while PostgreSQL committed: the change may or may not have landed."""


@dataclass(frozen=True)
class Committed:
    """The change is in PostgreSQL."""


@dataclass(frozen=True)
class DuplicateEvent:
    """The change applies an inbound event (or an order) applied before: nothing was written."""


@dataclass(frozen=True)
class RecordedReply:
    """A committed command's answer, and the fingerprint of the request that had it (Idempotency-Key)."""

    reply: dict[str, Any]
    fingerprint: str | None


@dataclass(frozen=True)
class AlreadyAnswered:
    """The command's request id was committed before (a retry): nothing was written; `first` is the first
    attempt's answer."""

    first: RecordedReply


@dataclass(frozen=True)
class RecordMoved:
    """PostgreSQL's record is newer than the version the change was decided on: the deciding copy is
    stale (a commit whose answer was lost, or another activation); nothing was written."""

    detail: str


CommitOutcome = Committed | DuplicateEvent | AlreadyAnswered | RecordMoved
COMMITTED = Committed()


class _Refused(Exception):
    """Rolls the change's transaction back with an outcome other than Committed."""

    def __init__(self, outcome: CommitOutcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


# What asyncpg raises when the database is down, restarting or overloaded, as opposed to a rejection.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    # A pooled connection left mid-operation when the server went away ("cannot switch to state ...;
    # another operation is in progress"): found by the PostgreSQL-outage fault test.
    asyncpg.InternalClientError,
    TimeoutError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(str(exc) or type(exc).__name__)


@dataclass(frozen=True)
class PublishedEvent:
    topic: str
    event_id: str
    published_at: datetime


@dataclass(frozen=True)
class StoredCustomer:
    """The customer as PostgreSQL has it, and when its segment is next due for review (the sweep's index,
    and the time the actor last set its review reminder for)."""

    aggregate: CustomerAggregate
    next_review_at: datetime | None


@dataclass(frozen=True)
class Credentials:
    customer_id: str
    password_hash: str
    status: Status


@dataclass(frozen=True)
class TokenOwner:
    """Whose token a presented token is, the address a verification token confirms, and whether it was
    redeemed already (then only a retry of that redemption, under its Idempotency-Key, can use it)."""

    customer_id: str
    email: str | None
    redeemed: bool


def key_of(customer_id: str) -> uuid.UUID:
    key = customer_uuid(customer_id)
    if key is None:
        raise not_found(customer_id)
    return key


async def _keep_session(conn: asyncpg.Connection) -> None:
    """In place of asyncpg's reset on release (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL: one round
    trip more per use of a connection): pooled connections never change their session. Advisory locks
    here are transaction-scoped, LISTEN runs on a dedicated connection, and nothing SETs or declares
    cursors outside a transaction."""


class Store:
    def __init__(self, pool: asyncpg.Pool, listen_url: str, *, source: str) -> None:
        self._pool = pool
        self._listen_url = listen_url
        self._source = source
        self._partitioned_months: set[tuple[int, int]] = set()  # activity months known to have a partition

    @classmethod
    async def connect(cls, database_url: str, *, max_connections: int, source: str, pgbouncer: bool = False,
                      listen_url: str | None = None) -> Store:
        """`source` names this service in the events it writes to the outbox (SERVICE_NAME). Through
        PgBouncer in transaction mode (`pgbouncer`) a server connection is another client's after each
        transaction, so no statement is kept prepared on it (asyncpg then prepares each one unnamed, in the
        transaction that runs it), and LISTEN needs `listen_url`, the primary itself."""
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=max_connections, command_timeout=10,
                                         reset=_keep_session, statement_cache_size=0 if pgbouncer else 100)
        return cls(pool, listen_url or database_url, source=source)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; an unreachable database surfaces as StoreUnavailable."""
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(exc) from exc

    async def dedicated_connection(self) -> asyncpg.Connection:
        """A connection outside the pool, for LISTEN: the pool may recycle its connections at any time."""
        try:
            conn: asyncpg.Connection = await asyncpg.connect(self._listen_url, timeout=5)
        except UNAVAILABLE_ERRORS as exc:
            raise unavailable(exc) from exc
        return conn

    @asynccontextmanager
    async def exclusive(self, lock_id: int) -> AsyncIterator[asyncpg.Connection | None]:
        """A transaction holding advisory lock `lock_id`, or None when another replica holds it:
        periodic work runs on one replica at a time."""
        async with self.connection() as conn, conn.transaction():
            held = await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_id)
            yield conn if held else None

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")

    async def ensure_activity_partitions(self, now: datetime, months_ahead: int = 1) -> int:
        """The activity partitions of `now`'s month (UTC) and `months_ahead` after it; how many were created.
        The months are remembered, so a change's commit knows its month has one (`_ensure_partition`)."""
        created = 0
        async with self.connection() as conn:
            with contextlib.suppress(asyncpg.DuplicateTableError):  # another connection created one just now
                created = await conn.fetchval("SELECT ensure_activity_partitions($1, $2)", now, months_ahead)
        utc = now.astimezone(UTC)
        for ahead in range(months_ahead + 1):
            year, month = divmod(utc.month - 1 + ahead, 12)
            self._partitioned_months.add((utc.year + year, month + 1))
        return int(created)

    # -- the write path ---------------------------------------------------------------------------------
    async def commit(self, change: Change, origin: Origin, *,
                     reply: tuple[str, RecordedReply] | None = None) -> CommitOutcome:
        """Writes the change in one transaction, with `reply` (request id, answer) when the command has a
        request id, or nothing: see CommitOutcome. StoreUnavailable when PostgreSQL failed (nothing
        written), CommitOutcomeUnknown when the connection was lost at COMMIT."""
        if change.activity is not None:
            await self._ensure_partition(change.activity.occurred_at)
        committed = False
        try:
            async with self.connection() as conn:
                transaction = conn.transaction()
                await transaction.start()
                try:
                    await _write(conn, change, origin, self._source, reply)
                except _Refused as refused:
                    await transaction.rollback()
                    return refused.outcome
                except BaseException:
                    await transaction.rollback()
                    raise
                try:
                    await transaction.commit()
                except UNAVAILABLE_ERRORS as exc:
                    raise CommitOutcomeUnknown(f"connection lost at COMMIT: {exc!r}") from exc
                committed = True
        except StoreUnavailable:
            if not committed:
                raise
            # only returning the connection to the pool failed: the change is in
        return COMMITTED

    async def _ensure_partition(self, at: datetime) -> None:
        """The activity partition of `at`'s month, created in its own transaction the first time this
        process writes that month (maintenance creates them ahead; this covers a month it has not reached),
        so a change's transaction never needs a savepoint to recover from a missing one."""
        utc = at.astimezone(UTC)
        if (utc.year, utc.month) not in self._partitioned_months:
            await self.ensure_activity_partitions(at, months_ahead=0)

    # -- reads for the actor ------------------------------------------------------------------------------
    async def load_customer(self, customer_id: str) -> StoredCustomer | None:
        """The customer as PostgreSQL has it: an actor's working copy when it activates."""
        key = customer_uuid(customer_id)
        if key is None:
            return None
        async with self.connection() as conn:
            row = await conn.fetchrow(f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1", key)
            if row is None:
                return None
            consents = await conn.fetch(
                "SELECT channel, granted, source, recorded_at FROM customer_consents "
                "WHERE customer_id = $1 ORDER BY id", key)
            segment_row = await conn.fetchrow(f"SELECT {SEGMENT_COLUMNS}, next_review_at FROM customer_segments "
                                              "WHERE customer_id = $1", key)
            address_rows = await conn.fetch(f"SELECT {ADDRESS_SELECT} FROM customer_addresses "
                                            "WHERE customer_id = $1 ORDER BY created_at", key)
        customer = _customer_from_row(row, consents)
        aggregate = CustomerAggregate(customer, _segment_from_row(segment_row, customer.registration_date),
                                      AddressBook(tuple(_address_from_row(a) for a in address_rows)))
        return StoredCustomer(aggregate, None if segment_row is None else segment_row["next_review_at"])

    async def order_ledger(self, customer_id: str, order_id: str) -> OrderLedger:
        """The customer's order as the record holds it, with what its refunds took and whether it was cancelled."""
        async with self.connection() as conn:
            row = await conn.fetchrow(
                """
                SELECT o.amount, o.currency, o.completed_at, o.usd_rate,
                       COALESCE(sum(a.amount) FILTER (WHERE a.kind = 'refund'), 0) AS refunded,
                       COALESCE(bool_or(a.kind = 'cancellation'), FALSE) AS cancelled
                FROM customer_orders o LEFT JOIN customer_order_adjustments a ON a.order_id = o.order_id
                WHERE o.order_id = $1 AND o.customer_id = $2
                GROUP BY o.order_id
                """, order_id, key_of(customer_id))
        if row is None:
            return OrderLedger(None)
        return OrderLedger(CompletedOrder(order_id, row["amount"], row["currency"], row["completed_at"],
                                          row["usd_rate"]),
                           refunded=row["refunded"], cancelled=row["cancelled"])

    async def credentials(self, email: str) -> Credentials | None:
        async with self.connection() as conn:
            row = await conn.fetchrow(
                "SELECT id, password_hash, status FROM customers WHERE lower(email) = lower($1)", email.strip())
        if row is None:
            return None
        return Credentials(customer_id_of(row["id"]), row["password_hash"], Status(row["status"]))

    async def token_owner(self, token: bytes, purpose: TokenPurpose, *, now: datetime) -> TokenOwner | None:
        """The customer whose token of `purpose` has this hash: unexpired, or redeemed (and not pruned)."""
        async with self.connection() as conn:
            row = await conn.fetchrow("SELECT customer_id, email, redeemed_at FROM customer_tokens "
                                      "WHERE token_hash = $1 AND purpose = $2 "
                                      "AND (expires_at > $3 OR redeemed_at IS NOT NULL)", token, purpose.value, now)
        if row is None:
            return None
        return TokenOwner(customer_id_of(row["customer_id"]), row["email"], row["redeemed_at"] is not None)

    async def prune_tokens(self, *, expired_before: datetime) -> int:
        async with self.connection() as conn:
            status: str = await conn.execute("DELETE FROM customer_tokens WHERE expires_at < $1", expired_before)
        return int(status.split()[-1])

    async def password_hash(self, customer_id: str) -> str | None:
        async with self.connection() as conn:
            value = await conn.fetchval("SELECT password_hash FROM customers WHERE id = $1", key_of(customer_id))
        return None if value is None else str(value)

    async def set_next_review(self, customer_id: str, at: datetime | None) -> None:
        """When the customer's segment can next change by time alone (the sweep's index)."""
        async with self.connection() as conn:
            await conn.execute("UPDATE customer_segments SET next_review_at = $2 WHERE customer_id = $1",
                               key_of(customer_id), at)

    async def recorded_reply(self, customer_id: str, request_id: str) -> RecordedReply | None:
        """The answer a committed command gave, if `request_id` was committed for the customer."""
        async with self.connection() as conn:
            return await _reply_of(conn, customer_id, request_id)

    async def prune_processed_events(self, *, before: datetime) -> int:
        async with self.connection() as conn:
            status: str = await conn.execute("DELETE FROM processed_events WHERE processed_at < $1", before)
        return int(status.split()[-1])

    async def prune_dead_letters(self, *, before: datetime) -> int:
        async with self.connection() as conn:
            status: str = await conn.execute("DELETE FROM outbox_dead_letters WHERE dead_lettered_at < $1", before)
        return int(status.split()[-1])

    async def drop_activity_partitions(self, *, before: datetime) -> int:
        """Drops the monthly activity partitions that end before `before` (by the owner's function)."""
        async with self.connection() as conn:
            dropped: int = await conn.fetchval("SELECT drop_activity_partitions($1)", before)
        return dropped

    async def prune_replies(self, *, before: datetime) -> int:
        async with self.connection() as conn:
            status: str = await conn.execute("DELETE FROM actor_replies WHERE created_at < $1", before)
        return int(status.split()[-1])

    async def published_events(self, customer_id: str) -> list[PublishedEvent]:
        """The customer's events the relay has published (until the outbox retention deletes them)."""
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT topic, event_id, published_at FROM outbox "
                                    "WHERE customer_id = $1 AND published_at IS NOT NULL ORDER BY id",
                                    key_of(customer_id))
        return [PublishedEvent(r["topic"], r["event_id"], r["published_at"]) for r in rows]


# -- what one change writes --------------------------------------------------------------------------------
CUSTOMER_COLUMNS = ("id, email, first_name, last_name, date_of_birth, gender, phone, avatar_url, status, "
                    "email_verified, phone_verified, preferences, registration_date, last_login_at, created_at, "
                    "updated_at, version, pending_email, external_id, tags")
SEGMENT_COLUMNS = ("tier, segment, loyalty_points, total_spent, order_count, last_order_date, qualifications, "
                   "tier_achieved_at, segment_achieved_at, updated_at, computed_tier, computed_segment, override, "
                   "recent_orders, other_currencies, pending_adjustments, points_balance")
ADDRESS_SELECT = "id, type, is_default, " + ", ".join(ADDRESS_COLUMNS.values()) + ", created_at, updated_at"


async def _write(conn: asyncpg.Connection, change: Change, origin: Origin, source: str,
                 reply: tuple[str, RecordedReply] | None) -> None:
    """Every statement of the change, in its transaction; _Refused ends it with nothing written."""
    if change.receipt is not None and not await _first_receipt(conn, change.customer_id, change.receipt):
        raise _Refused(DuplicateEvent())
    if change.token_redeemed is not None:
        await _redeem(conn, change.customer_id, change.token_redeemed)
    customer_id, after = change.customer_id, change.after
    if change.before is None:
        assert change.password_hash is not None, "a registration carries the password hash"
        await _insert_customer(conn, after.customer, change.password_hash)
    elif change.erasure:
        await _anonymise(conn, customer_id, after.customer)
    elif change.customer_changed:
        await _update_customer(conn, after.customer, expected_version=change.before.customer.version)
    if change.password_hash is not None and change.before is not None:
        await conn.execute("UPDATE customers SET password_hash = $2 WHERE id = $1", key_of(customer_id),
                           change.password_hash)
    if change.segment_changed and not change.erasure:
        await _save_segment(conn, customer_id, after.segment)
    for rate in change.rates_applied:
        await conn.execute("UPDATE customer_orders SET usd_rate = $3 "
                           "WHERE customer_id = $1 AND currency = $2 AND usd_rate IS NULL",
                           key_of(customer_id), rate.currency, rate.usd_per_unit)
    if change.addresses_changed and not change.erasure:
        await _save_address_book(conn, customer_id, after.addresses)
    if change.tokens_revoked and not change.erasure:
        await conn.execute("DELETE FROM customer_tokens WHERE customer_id = $1 AND purpose = ANY($2)",
                           key_of(customer_id), [p.value for p in change.tokens_revoked])
    if change.token_issued is not None:
        await _issue(conn, customer_id, change.token_issued, at=change.at)
    if change.consents:
        await _add_consents(conn, customer_id, change.consents)
    if change.activity is not None:
        await _add_activity(conn, customer_id, change.activity, origin)
    if change.note is not None:
        note = change.note
        await conn.execute("INSERT INTO customer_notes (id, customer_id, author, text, created_at) "
                           "VALUES ($1, $2, $3, $4, $5)", note.key, key_of(customer_id), note.author,
                           note.text, note.created_at)
    await _enqueue(conn, change.events, at=change.at, origin=origin, source=source)
    if reply is not None:
        await _record_reply(conn, customer_id, *reply)


async def _record_reply(conn: asyncpg.Connection, customer_id: str, request_id: str, reply: RecordedReply) -> None:
    status = await conn.execute(
        "INSERT INTO actor_replies (customer_id, request_id, reply, fingerprint) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (customer_id, request_id) DO NOTHING", key_of(customer_id), request_id,
        json.dumps(reply.reply), reply.fingerprint)
    if status != "INSERT 0 1":
        first = await _reply_of(conn, customer_id, request_id)
        assert first is not None, "the conflicting row is there: it was committed before this transaction"
        raise _Refused(AlreadyAnswered(first))


async def _reply_of(conn: asyncpg.Connection, customer_id: str, request_id: str) -> RecordedReply | None:
    row = await conn.fetchrow("SELECT reply, fingerprint FROM actor_replies "
                              "WHERE customer_id = $1 AND request_id = $2", key_of(customer_id), request_id)
    return None if row is None else RecordedReply(dict(json.loads(row["reply"])), row["fingerprint"])


async def _redeem(conn: asyncpg.Connection, customer_id: str, redemption: TokenRedemption) -> None:
    """Marks the customer's token redeemed if it is the one presented, unredeemed, unexpired and
    (verification) for the same address; otherwise the change is refused with INVALID_TOKEN and nothing
    is written. Two redemptions of one token cannot both mark it: the second finds it redeemed."""
    status = await conn.execute(
        "UPDATE customer_tokens SET redeemed_at = $4 WHERE customer_id = $1 AND purpose = $2 AND token_hash = $3 "
        "AND expires_at > $4 AND redeemed_at IS NULL AND email IS NOT DISTINCT FROM $5",
        key_of(customer_id), redemption.purpose.value, redemption.token_hash, redemption.at, redemption.email)
    if status != "UPDATE 1":
        raise invalid_token()


async def _issue(conn: asyncpg.Connection, customer_id: str, token: IssuedToken, *, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO customer_tokens (customer_id, purpose, token_hash, email, expires_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (customer_id, purpose) DO UPDATE SET "
        "token_hash = EXCLUDED.token_hash, email = EXCLUDED.email, expires_at = EXCLUDED.expires_at, "
        "created_at = EXCLUDED.created_at, redeemed_at = NULL",
        key_of(customer_id), token.purpose.value, token.token_hash, token.email, token.expires_at, at)


async def _first_receipt(conn: asyncpg.Connection, customer_id: str, receipt: Receipt) -> bool:
    """True the first time an inbound event is seen, and for an order (a refund, a cancellation) also the
    first time its id is (one statement: the order's row is written only if the event's was). False leaves
    rows to roll back."""
    key = key_of(customer_id)
    if receipt.adjustment is not None:
        adjustment = receipt.adjustment
        first = await conn.fetchval(
            """
            WITH event AS (
                INSERT INTO processed_events (event_id, topic, customer_id) VALUES ($1, $2, $3)
                ON CONFLICT (event_id) DO NOTHING RETURNING 1
            )
            INSERT INTO customer_order_adjustments (order_id, adjustment_id, customer_id, kind, amount, currency,
                                                    occurred_at)
            SELECT $4, $5, $3, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM event)
            ON CONFLICT (order_id, adjustment_id) DO NOTHING RETURNING TRUE
            """,
            receipt.event_id, receipt.topic, key, adjustment.order_id, adjustment.adjustment_id,
            adjustment.kind.value, adjustment.amount, adjustment.currency, adjustment.at)
        return first is True
    if receipt.order is None:
        status = await conn.execute("INSERT INTO processed_events (event_id, topic, customer_id) VALUES ($1, $2, $3) "
                                    "ON CONFLICT (event_id) DO NOTHING", receipt.event_id, receipt.topic, key)
        return bool(status == "INSERT 0 1")
    order = receipt.order
    first = await conn.fetchval(
        """
        WITH event AS (
            INSERT INTO processed_events (event_id, topic, customer_id) VALUES ($1, $2, $3)
            ON CONFLICT (event_id) DO NOTHING RETURNING 1
        )
        INSERT INTO customer_orders (order_id, customer_id, amount, currency, completed_at, usd_rate)
        SELECT $4, $3, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM event)
        ON CONFLICT (order_id) DO NOTHING RETURNING TRUE
        """,
        receipt.event_id, receipt.topic, key, order.order_id, order.amount, order.currency, order.completed_at,
        order.usd_rate)
    return first is True


# What a change writes to each table, one list of columns per statement (persistence.statements).
CUSTOMER_FIELDS = ("email", "first_name", "last_name", "date_of_birth", "gender", "phone", "avatar_url", "preferences",
                   "status", "last_login_at", "updated_at", "version", "email_verified", "phone_verified",
                   "pending_email", "external_id", "tags")
INSERT_CUSTOMER = insert("customers", ("id", "password_hash", "registration_date", "created_at", *CUSTOMER_FIELDS))
UPDATE_CUSTOMER = update("customers", CUSTOMER_FIELDS, where=("id", "version"))
SAVE_SEGMENT = insert("customer_segments", (
    "customer_id", "tier", "segment", "loyalty_points", "total_spent", "order_count", "average_order_value",
    "last_order_date", "days_since_last_order", "lifetime_value", "qualifications", "tier_achieved_at",
    "segment_achieved_at", "updated_at", "computed_tier", "computed_segment", "override", "recent_orders",
    "next_review_at", "other_currencies", "pending_adjustments", "points_balance"), conflict="customer_id")
SAVE_ADDRESS = insert("customer_addresses", (
    "id", "customer_id", "type", "is_default", *ADDRESS_COLUMNS.values(), "created_at", "updated_at"),
    conflict="id", keep=("customer_id", "created_at"))


def _customer_fields(customer: Customer) -> dict[str, Any]:
    p = customer.profile
    dob = p.get("dateOfBirth")
    return {"email": customer.email, "first_name": p.get("firstName"), "last_name": p.get("lastName"),
            "date_of_birth": datetime.fromisoformat(dob).date() if dob else None, "gender": p.get("gender"),
            "phone": p.get("phone"), "avatar_url": p.get("avatar"), "preferences": json.dumps(customer.preferences),
            "status": customer.status.value, "last_login_at": customer.last_login_at,
            "updated_at": customer.updated_at, "version": customer.version,
            "email_verified": customer.email_verified, "phone_verified": customer.phone_verified,
            "pending_email": customer.pending_email, "external_id": customer.external_id,
            "tags": list(customer.tags)}


def _already_taken(exc: asyncpg.UniqueViolationError) -> DomainError:
    """Which unique value another customer holds: the external id (its index), else the email."""
    if exc.constraint_name == EXTERNAL_ID_INDEX:
        return DomainError(ErrorCode.EXTERNAL_ID_ALREADY_EXISTS, "another customer has this external id")
    return DomainError(ErrorCode.EMAIL_ALREADY_EXISTS, "an account with this email address already exists")


async def _insert_customer(conn: asyncpg.Connection, customer: Customer, password_hash: str) -> None:
    row = {"id": key_of(customer.id), "password_hash": password_hash, "registration_date": customer.registration_date,
           "created_at": customer.created_at, **_customer_fields(customer)}
    try:
        await conn.execute(INSERT_CUSTOMER.sql, *INSERT_CUSTOMER.args(row))
    except asyncpg.UniqueViolationError as exc:
        raise _already_taken(exc) from exc


async def _update_customer(conn: asyncpg.Connection, customer: Customer, *, expected_version: int) -> None:
    """Writes the customer if the stored version is the one this change was made from."""
    row = {**_customer_fields(customer), MATCH + "id": key_of(customer.id), MATCH + "version": expected_version}
    try:
        status = await conn.execute(UPDATE_CUSTOMER.sql, *UPDATE_CUSTOMER.args(row))
    except asyncpg.UniqueViolationError as exc:
        raise _already_taken(exc) from exc
    if status != "UPDATE 1":
        raise _Refused(RecordMoved(f"{customer.id} is no longer at version {expected_version}"))


async def _anonymise(conn: asyncpg.Connection, customer_id: str, erased: Customer) -> None:
    """GDPR erasure: no personal data left, the row kept so orders and events still join."""
    key = key_of(customer_id)
    await conn.execute(
        """
        UPDATE customers SET email = 'erased+' || replace(id::text, '-', '') || '@erased.invalid',
            password_hash = 'erased', first_name = NULL, last_name = NULL, date_of_birth = NULL,
            gender = NULL, phone = NULL, avatar_url = NULL, preferences = '{}', last_login_at = NULL,
            status = 'deleted', email_verified = FALSE, phone_verified = FALSE, pending_email = NULL, erased_at = $2,
            external_id = NULL, tags = '{}',
            updated_at = $2, version = $3
        WHERE id = $1
        """,
        key, erased.updated_at, erased.version,
    )
    await conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1", key)
    await conn.execute("DELETE FROM customer_consents WHERE customer_id = $1", key)
    await conn.execute("DELETE FROM actor_replies WHERE customer_id = $1", key)  # they hold customer views
    await conn.execute("DELETE FROM customer_tokens WHERE customer_id = $1", key)  # no reset after erasure
    await conn.execute("DELETE FROM customer_notes WHERE customer_id = $1", key)
    # An override's reason is an admin's note about the person; the override itself stays, as history.
    await conn.execute("UPDATE customer_segments SET override = jsonb_set(override, '{reason}', '\"erased\"') "
                       "WHERE customer_id = $1 AND override IS NOT NULL", key)
    await conn.execute("UPDATE customer_activities SET activity_data = '{}', session_id = NULL, ip_address = NULL, "
                       "user_agent = NULL WHERE customer_id = $1", key)
    # The events already written keep their envelope (ids, order) but lose what they said about the
    # person; one not yet published goes out redacted. The erasure's own event is enqueued after this.
    for table in ("outbox", "outbox_dead_letters"):
        await conn.execute(f"UPDATE {table} SET payload = jsonb_set(payload, '{{data}}', jsonb_build_object("
                           "'customerId', payload -> 'data' -> 'customerId', 'redacted', true)) WHERE customer_id = $1",
                           key)


async def _save_segment(conn: asyncpg.Connection, customer_id: str, segment: SegmentState) -> None:
    m = segment.metrics
    now = segment.updated_at or m.registration_date
    await conn.execute(SAVE_SEGMENT.sql, *SAVE_SEGMENT.args({
        "customer_id": key_of(customer_id), "tier": segment.effective_tier.value,
        "segment": segment.effective_segment.value, "loyalty_points": m.loyalty_points, "total_spent": m.total_spent,
        "order_count": m.order_count, "average_order_value": m.average_order_value,
        "last_order_date": m.last_order_date, "days_since_last_order": m.days_since_last_order(now),
        "lifetime_value": m.total_spent, "qualifications": json.dumps(segment.qualifications),
        "tier_achieved_at": segment.tier_achieved_at, "segment_achieved_at": segment.segment_achieved_at,
        "updated_at": now, "computed_tier": segment.tier.value, "computed_segment": segment.segment.value,
        "override": json.dumps(segment.override.to_dict()) if segment.override else None,
        "recent_orders": json.dumps([iso(t) for t in m.recent_orders]), "next_review_at": segment.review_at,
        "other_currencies": json.dumps([[c, n, str(t)] for c, n, t in m.other_currencies]),
        "pending_adjustments": json.dumps([a.to_dict() for a in m.pending_adjustments]),
        "points_balance": m.points_balance,
    }))


async def _save_address_book(conn: asyncpg.Connection, customer_id: str, book: AddressBook) -> None:
    """Makes the stored book equal `book`. Every default is cleared first, so the one-default-per-type
    index never sees two defaults mid-change (an address can change type and default at once)."""
    key = key_of(customer_id)
    await conn.execute("DELETE FROM customer_addresses WHERE customer_id = $1 AND NOT (id = ANY($2))",
                       key, [address_uuid(a.id) for a in book.addresses])
    await conn.execute("UPDATE customer_addresses SET is_default = FALSE WHERE customer_id = $1 AND is_default",
                       key)
    await conn.executemany(SAVE_ADDRESS.sql, [SAVE_ADDRESS.args({
        "id": address_uuid(a.id), "customer_id": key, "type": a.type, "is_default": a.is_default,
        **{column: a.fields[name] for name, column in ADDRESS_COLUMNS.items()},
        "created_at": a.created_at, "updated_at": a.updated_at}) for a in book.addresses])


async def _add_activity(conn: asyncpg.Connection, customer_id: str, activity: Activity, origin: Origin) -> None:
    """The activity row; its month's partition exists (Store._ensure_partition)."""
    await conn.execute(
        """
        INSERT INTO customer_activities (customer_id, activity_type, activity_data, session_id, ip_address,
            user_agent, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        key_of(customer_id), activity.activity_type, json.dumps(activity.data), origin.session_id,
        origin.ip_address, origin.user_agent, activity.occurred_at)


async def _add_consents(conn: asyncpg.Connection, customer_id: str, consents: Sequence[ConsentChange]) -> None:
    await conn.executemany(
        "INSERT INTO customer_consents (customer_id, channel, granted, source, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(key_of(customer_id), c.channel, c.granted, c.source, c.recorded_at) for c in consents],
    )


async def _enqueue(conn: asyncpg.Connection, events: Sequence[Event], *, at: datetime, origin: Origin,
                   source: str) -> None:
    """Outbox rows, committed with the change they announce, in its request's trace; the relay publishes them."""
    if not events:
        return
    rows = []
    for event in events:
        event_id = "evt_" + uuid.uuid4().hex
        payload = envelope(event, event_id=event_id, timestamp=at, correlation_id=origin.correlation_id,
                           source=source)
        rows.append((event_id, key_of(event.customer_id), event.topic, json.dumps(payload), origin.traceparent))
    # The outbox's statement trigger notifies the relay at COMMIT (migration 0009).
    await conn.executemany("INSERT INTO outbox (event_id, customer_id, topic, payload, traceparent) "
                           "VALUES ($1, $2, $3, $4, $5)", rows)


# -- rows back into the domain -------------------------------------------------------------------------------
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
        pending_email=row["pending_email"],
        external_id=row["external_id"],
        tags=tuple(row["tags"]),
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
            "orderCount": row["order_count"], "pointsBalance": row["points_balance"],
            "lastOrderDate": iso(row["last_order_date"]), "recentOrders": recent,
            "otherCurrencies": json.loads(row["other_currencies"]) if row["other_currencies"] else [],
            "pendingAdjustments": json.loads(row["pending_adjustments"]),
        },
        "tier": row["computed_tier"],
        "segment": row["computed_segment"],
        "qualifications": qualifications,
        "override": override,
        "tierAchievedAt": iso(row["tier_achieved_at"]),
        "segmentAchievedAt": iso(row["segment_achieved_at"]),
        "updatedAt": iso(row["updated_at"]),
    })
