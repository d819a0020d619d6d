"""The durable record against a real PostgreSQL: constraints, one transaction per change, receipts,
the explicit export, partitions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from domain.activity import Origin
from domain.aggregate import CustomerAggregate
from domain.errors import DomainError, ErrorCode
from domain.ids import customer_uuid, new_customer_id
from domain.orders import CompletedOrder, OrderAdjustment, OrderLedger
from domain.segmentation import Tier
from domain.tokens import TokenPurpose, TokenRedemption, token_hash
from persistence.outbox import RELAY_LOCK_ID, Outbox
from persistence.read_models import ReadModels
from persistence.replica import ReadReplica
from persistence.store import (
    COMMITTED,
    AlreadyAnswered,
    DuplicateEvent,
    RecordedReply,
    RecordMoved,
    Store,
    TokenOwner,
)

NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)
ORIGIN = Origin("corr_it", session_id="sess_it", ip_address="127.0.0.1", user_agent="pytest")


@pytest.fixture(scope="module", params=["direct", "pgbouncer"])
async def store(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Store]:
    """Every test twice: on PostgreSQL itself, and through PgBouncer in transaction mode (two server
    connections for the pool's four) as DATABASE_PGBOUNCER=true runs it."""
    if request.param == "direct":
        store = await Store.connect(database_url, max_connections=4, source="customer-service-it")
    else:
        store = await Store.connect(request.getfixturevalue("pgbouncer_url"), max_connections=4,
                                    source="customer-service-it", pgbouncer=True, listen_url=database_url)
    await store.ensure_activity_partitions(NOW)
    yield store
    await store.close()


async def fetchval(store: Store, query: str, *args: Any) -> Any:
    async with store.connection() as conn:
        return await conn.fetchval(query, *args)


async def create(store: Store, email: str | None = None) -> CustomerAggregate:
    change = CustomerAggregate.register(
        customer_id=new_customer_id(), email=email or f"it-{uuid.uuid4().hex[:10]}@example.com",
        password_hash="x", profile={"firstName": "Ida"}, preferences={}, consent_source="registration:it",
        default_tier=Tier.REGULAR, now=NOW)
    assert await store.commit(change, ORIGIN) == COMMITTED
    return change.after


async def test_email_is_unique_whatever_its_case(store: Store) -> None:
    email = f"Case-{uuid.uuid4().hex[:8]}@Example.com"
    await create(store, email)
    with pytest.raises(DomainError) as raised:
        await create(store, email.lower())
    assert raised.value.code is ErrorCode.EMAIL_ALREADY_EXISTS


async def test_a_change_from_a_stale_version_writes_nothing_not_even_its_events(store: Store) -> None:
    customer = await create(store)
    key = customer_uuid(customer.id)
    update = customer.update_profile(profile={"firstName": "Ada"}, preferences={}, source="customer",
                                     if_match=None, now=NOW)
    assert update is not None
    assert await store.commit(update, ORIGIN) == COMMITTED
    outbox_before = await fetchval(store, "SELECT count(*) FROM outbox WHERE customer_id = $1", key)

    stale = customer.update_profile(profile={"firstName": "Eve"}, preferences={}, source="customer",
                                    if_match=None, now=NOW)  # made from version 1, the record is at 2
    assert stale is not None
    assert isinstance(await store.commit(stale, ORIGIN), RecordMoved)
    assert await fetchval(store, "SELECT count(*) FROM outbox WHERE customer_id = $1", key) == outbox_before
    assert await fetchval(store, "SELECT first_name FROM customers WHERE id = $1", key) == "Ada"


async def test_an_activation_reads_back_what_was_written(store: Store) -> None:
    customer = await create(store)
    loaded = await store.load_customer(customer.id)
    assert loaded is not None
    assert loaded.aggregate == customer
    assert loaded.next_review_at == NOW + timedelta(days=30)  # new_customer's end, the reminder's time


async def test_an_order_counts_once_whatever_the_event_id(store: Store) -> None:
    customer = await create(store)
    order = CompletedOrder(f"ord_{uuid.uuid4().hex[:8]}", Decimal("10.00"), "USD", NOW)
    first = customer.order_completed(event_id="evt_a" + uuid.uuid4().hex, order=order, now=NOW)
    assert await store.commit(first, ORIGIN) == COMMITTED
    again = first.after.order_completed(event_id="evt_b" + uuid.uuid4().hex, order=order, now=NOW)
    assert await store.commit(again, ORIGIN) == DuplicateEvent()
    loaded = await store.load_customer(customer.id)
    assert loaded is not None
    assert loaded.aggregate.segment.metrics.order_count == 1
    assert loaded.aggregate.customer.version == first.after.customer.version


async def test_refunds_and_a_cancellation_count_once_and_the_ledger_and_rebuild_hold_them(store: Store) -> None:
    customer = await create(store)
    order = CompletedOrder(f"ord_{uuid.uuid4().hex[:8]}", Decimal("300.00"), "USD", NOW)
    other = f"ord_{uuid.uuid4().hex[:8]}"  # cancelled before its completion arrives
    waiting = customer.order_adjusted(event_id="evt_x" + uuid.uuid4().hex, now=NOW, ledger=OrderLedger(None),
                                      adjustment=OrderAdjustment.cancellation(order_id=other, at=NOW))
    assert await store.commit(waiting, ORIGIN) == COMMITTED
    ordered = waiting.after.order_completed(event_id="evt_o" + uuid.uuid4().hex, order=order, now=NOW)
    assert await store.commit(ordered, ORIGIN) == COMMITTED
    refund = OrderAdjustment.refund(order_id=order.order_id, refund_id="ref_1", amount=Decimal("120.00"),
                                    currency="USD", at=NOW)
    refunded = ordered.after.order_adjusted(event_id="evt_r" + uuid.uuid4().hex, adjustment=refund, now=NOW,
                                            ledger=await store.order_ledger(customer.id, order.order_id))
    assert await store.commit(refunded, ORIGIN) == COMMITTED
    again = refunded.after.order_adjusted(event_id="evt_r" + uuid.uuid4().hex, adjustment=refund, now=NOW,
                                          ledger=await store.order_ledger(customer.id, order.order_id))
    assert await store.commit(again, ORIGIN) == DuplicateEvent()  # another event for the same refund
    assert await store.order_ledger(customer.id, order.order_id) == OrderLedger(order, refunded=Decimal("120.00"))
    assert await store.order_ledger(new_customer_id(), order.order_id) == OrderLedger(None)  # not theirs
    loaded = await store.load_customer(customer.id)
    assert loaded is not None
    assert loaded.aggregate == refunded.after
    metrics = loaded.aggregate.segment.metrics
    assert (metrics.total_spent, metrics.order_count, metrics.pending_adjustments) == (
        Decimal("180.00"), 1, (OrderAdjustment.cancellation(order_id=other, at=NOW),))
    assert await fetchval(store, "SELECT count(*) FROM customer_order_adjustments WHERE customer_id = $1",
                          customer_uuid(customer.id)) == 2


async def test_the_activity_row_carries_the_request_origin(store: Store) -> None:
    customer = await create(store)
    row = await fetchval(store, "SELECT row(session_id, host(ip_address), user_agent)::text FROM customer_activities "
                                "WHERE customer_id = $1", customer_uuid(customer.id))
    assert row == "(sess_it,127.0.0.1,pytest)"


async def test_export_lists_its_columns_and_never_the_password_hash(store: Store) -> None:
    customer = await create(store)
    export = await ReadModels(store, await ReadReplica.connect(store, None, max_connections=1, max_lag_seconds=1)
                              ).export(customer.id)
    assert export["customer"]["id"] == customer.id
    assert "password_hash" not in export["customer"]
    assert [a["activity_type"] for a in export["activities"]] == ["registration"]


async def test_each_change_commits_its_events_to_the_outbox_in_order(store: Store) -> None:
    customer = await create(store)
    update = customer.update_profile(profile={"lastName": "Lovelace"}, preferences={}, source="customer",
                                     if_match=None, now=NOW)
    assert update is not None
    assert await store.commit(update, ORIGIN) == COMMITTED
    async with store.connection() as conn:
        rows = await conn.fetch("SELECT topic, payload::jsonb -> 'metadata' ->> 'correlationId' AS corr, "
                                "payload::jsonb ->> 'source' AS source FROM outbox WHERE customer_id = $1 ORDER BY id",
                                customer_uuid(customer.id))
    assert [(r["topic"], r["corr"]) for r in rows] == [("customers.customer.created", "corr_it"),
                                                      ("customers.profile.updated", "corr_it")]
    assert {r["source"] for r in rows} == {"customer-service-it"}  # SERVICE_NAME names the publisher


async def test_one_default_address_per_type_is_enforced_by_the_database(store: Store) -> None:
    customer = await create(store)
    insert = ("INSERT INTO customer_addresses (customer_id, type, is_default, street, city, zip_code, country) "
              "VALUES ($1, 'shipping', TRUE, '1 Main St', 'New York', '10001', 'US')")
    await fetchval(store, insert, customer_uuid(customer.id))
    with pytest.raises(asyncpg.UniqueViolationError):
        await fetchval(store, insert, customer_uuid(customer.id))


async def test_partitions_exist_for_this_month_and_the_next(store: Store) -> None:
    async with store.connection() as conn:
        names = {r["relname"] for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'customer_activities'")}
    this_month = NOW.strftime("customer_activities_%Y_%m")
    next_month = datetime(NOW.year + NOW.month // 12, NOW.month % 12 + 1, 1).strftime("customer_activities_%Y_%m")
    assert {this_month, next_month} <= names
    assert await store.ensure_activity_partitions(NOW) == 0  # idempotent


async def test_published_outbox_rows_are_pruned_after_the_retention(store: Store) -> None:
    customer = await create(store)
    update = customer.update_profile(profile={"lastName": "Pruned"}, preferences={}, source="customer",
                                     if_match=None, now=NOW)
    assert update is not None
    assert await store.commit(update, ORIGIN) == COMMITTED
    key = customer_uuid(customer.id)
    async with store.connection() as conn, conn.transaction():
        # The e2e tier's service may be running on this database: wait out its relay's batch (which would
        # mark these rows published now), as the relay itself takes the outbox.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RELAY_LOCK_ID)
        first, second = [r["id"] for r in await conn.fetch("SELECT id FROM outbox WHERE customer_id = $1 ORDER BY id",
                                                            key)]
        await conn.execute("UPDATE outbox SET published_at = NOW() - INTERVAL '8 days' WHERE id = $1", first)
        await conn.execute("UPDATE outbox SET published_at = NOW() - INTERVAL '1 day' WHERE id = $1", second)
    assert await Outbox(store).prune(published_before=NOW - timedelta(days=7)) >= 1
    async with store.connection() as conn:
        left = [r["id"] for r in await conn.fetch("SELECT id FROM outbox WHERE customer_id = $1", key)]
    assert left == [second]


async def test_erasure_redacts_what_the_outbox_still_holds(store: Store) -> None:
    customer = await create(store)
    assert await store.commit(customer.erase(NOW), ORIGIN) == COMMITTED
    async with store.connection() as conn:
        rows = await conn.fetch("SELECT topic, payload::text AS payload FROM outbox WHERE customer_id = $1 ORDER BY id",
                                customer_uuid(customer.id))
    assert [r["topic"] for r in rows] == ["customers.customer.created", "customers.customer.erased"]
    assert customer.customer.email not in "".join(r["payload"] for r in rows)
    assert '"redacted": true' in rows[0]["payload"]


async def test_a_command_committed_before_is_answered_with_its_first_reply_and_erasure_deletes_them(
        store: Store) -> None:
    customer = await create(store)
    first = customer.update_profile(profile={"firstName": "Ada"}, preferences={}, source="customer",
                                    if_match=None, now=NOW)
    assert first is not None
    reply = RecordedReply({"ok": True, "value": {"customer": {"profile": {"firstName": "Ada"}}, "etag": '"2"'}},
                          fingerprint="f1")
    assert await store.commit(first, ORIGIN, reply=("req-1", reply)) == COMMITTED
    assert await store.recorded_reply(customer.id, "req-1") == reply
    again = first.after.update_profile(profile={"firstName": "Eve"}, preferences={}, source="customer",
                                       if_match=None, now=NOW)  # the same request decided again
    assert again is not None
    other = RecordedReply({"ok": True, "value": {}}, fingerprint=None)
    assert await store.commit(again, ORIGIN, reply=("req-1", other)) == AlreadyAnswered(reply)
    key = customer_uuid(customer.id)
    assert await fetchval(store, "SELECT first_name FROM customers WHERE id = $1", key) == "Ada"
    assert await store.commit(first.after.erase(NOW), ORIGIN) == COMMITTED
    assert await store.recorded_reply(customer.id, "req-1") is None


async def test_a_commit_with_events_notifies_the_relay_at_commit_and_one_without_does_not(
        store: Store, database_url: str) -> None:
    """The outbox trigger (migration 0009) wakes the relay: one notification per committing transaction
    that wrote outbox rows, none for a change without events."""
    received: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener("outbox", lambda *args: received.append(args[2]))
    try:
        customer = await create(store)  # customers.customer.created
        unchanged = customer.order_completed(event_id="evt_n" + uuid.uuid4().hex, now=NOW, order=CompletedOrder(
            f"ord_{uuid.uuid4().hex[:8]}", Decimal("1.00"), "USD", NOW))  # metrics only: no segment change event
        assert not unchanged.events
        for _ in range(20):
            if received:
                break
            await listener.execute("SELECT 1")  # notifications are read with the connection's traffic
        assert received == ["outbox"]
        assert await store.commit(unchanged, ORIGIN) == COMMITTED
        await listener.execute("SELECT 1")
        assert received == ["outbox"]
    finally:
        await listener.close()


async def test_a_change_in_a_month_without_a_partition_creates_it_outside_its_transaction(store: Store) -> None:
    """The activity partition is ensured before the change's transaction (no savepoint in it), so even a
    change that is rolled back leaves its month's new partition for the next one."""
    later = NOW + timedelta(days=3650)  # a month no other test writes to
    partition = f"customer_activities_{later:%Y_%m}"
    async with store.connection() as conn:
        await conn.execute(f"DROP TABLE IF EXISTS {partition}")
    store._partitioned_months.discard((later.year, later.month))
    customer = await create(store)
    mover = customer.update_profile(profile={"firstName": "Moved"}, preferences={}, source="customer",
                                    if_match=None, now=NOW)
    assert mover is not None
    assert await store.commit(mover, ORIGIN) == COMMITTED
    stale = customer.update_profile(profile={"firstName": "Stale"}, preferences={}, source="customer",
                                    if_match=None, now=later)  # decided on version 1: refused
    assert stale is not None
    assert isinstance(await store.commit(stale, ORIGIN), RecordMoved)
    assert await fetchval(store, "SELECT to_regclass($1) IS NOT NULL", partition)
    fresh = mover.after.update_profile(profile={"firstName": "Fresh"}, preferences={}, source="customer",
                                       if_match=None, now=later)
    assert fresh is not None
    assert await store.commit(fresh, ORIGIN) == COMMITTED
    assert await fetchval(store, f"SELECT count(*) FROM {partition} WHERE customer_id = $1",  # noqa: S608
                          customer_uuid(customer.id)) == 1


# -- account self-service (issue 21) ---------------------------------------------------------------------
async def test_an_address_is_claimed_once_whether_as_a_login_or_a_pending_change(store: Store) -> None:
    ada, eve = await create(store), await create(store)
    change = ada.update_profile(profile={}, preferences={}, source="it", if_match=None, now=NOW,
                                email=eve.customer.email.upper())
    assert change is not None
    with pytest.raises(DomainError) as taken_login:  # another customer's login, whatever its case
        await store.commit(change, ORIGIN)
    assert taken_login.value.code is ErrorCode.EMAIL_ALREADY_EXISTS
    wanted = f"wanted-{uuid.uuid4().hex[:8]}@example.com"
    change = ada.update_profile(profile={}, preferences={}, source="it", if_match=None, now=NOW, email=wanted)
    assert change is not None
    assert await store.commit(change, ORIGIN) == COMMITTED
    eve_change = eve.update_profile(profile={}, preferences={}, source="it", if_match=None, now=NOW, email=wanted)
    assert eve_change is not None
    with pytest.raises(DomainError) as taken_pending:  # another customer's pending change
        await store.commit(eve_change, ORIGIN)
    assert taken_pending.value.code is ErrorCode.EMAIL_ALREADY_EXISTS
    with pytest.raises(DomainError) as registration:  # a registration meets it too
        await create(store, wanted.capitalize())
    assert registration.value.code is ErrorCode.EMAIL_ALREADY_EXISTS
    loaded = await store.load_customer(ada.id)
    assert loaded is not None
    assert (loaded.aggregate.customer.email, loaded.aggregate.customer.pending_email) == (ada.customer.email, wanted)


def hashed(customer: CustomerAggregate, token: str) -> bytes:
    """A token's hash, unique to the customer: each test runs twice against the same database."""
    return token_hash(f"{customer.id}:{token}")


async def reset_token(store: Store, customer: CustomerAggregate, token: str, *,
                      expires_at: datetime | None = None) -> None:
    change = customer.password_reset_requested(token_hash=hashed(customer, token), expires_at=expires_at or NOW + HOUR,
                                               now=NOW)
    assert change is not None
    assert await store.commit(change, ORIGIN) == COMMITTED


def redeem(customer: CustomerAggregate, token: str, at: datetime = NOW) -> Any:
    return customer.password_reset(redemption=TokenRedemption(TokenPurpose.PASSWORD_RESET, hashed(customer, token), at),
                                   password_hash="new-hash")


async def test_a_reset_token_redeems_once_and_only_while_it_is_the_live_unexpired_one(store: Store) -> None:
    customer = await create(store)
    key = customer_uuid(customer.id)
    await reset_token(store, customer, "first")
    await reset_token(store, customer, "second")  # supersedes the first
    with pytest.raises(DomainError) as superseded:
        await store.commit(redeem(customer, "first"), ORIGIN)
    assert superseded.value.code is ErrorCode.INVALID_TOKEN
    with pytest.raises(DomainError) as expired:
        await store.commit(redeem(customer, "second", at=NOW + 2 * HOUR), ORIGIN)
    assert expired.value.code is ErrorCode.INVALID_TOKEN
    assert await fetchval(store, "SELECT password_hash FROM customers WHERE id = $1", key) == "x"
    owner = await store.token_owner(hashed(customer, "second"), TokenPurpose.PASSWORD_RESET, now=NOW)
    assert owner == TokenOwner(customer.id, None, redeemed=False)
    assert await store.commit(redeem(customer, "second"), ORIGIN) == COMMITTED
    assert await fetchval(store, "SELECT password_hash FROM customers WHERE id = $1", key) == "new-hash"
    with pytest.raises(DomainError) as reused:
        await store.commit(redeem(customer, "second"), ORIGIN)
    assert reused.value.code is ErrorCode.INVALID_TOKEN
    # Only the hash is stored; the redeemed row says whose it was, for a retry under an Idempotency-Key.
    assert await fetchval(store, "SELECT count(*) FROM customer_tokens WHERE token_hash = $1",
                          b"second") == 0
    owner = await store.token_owner(hashed(customer, "second"), TokenPurpose.PASSWORD_RESET, now=NOW + 2 * HOUR)
    assert owner == TokenOwner(customer.id, None, redeemed=True)


async def test_a_password_change_and_an_erasure_void_the_tokens(store: Store) -> None:
    customer = await create(store)
    await reset_token(store, customer, "before-change")
    assert await store.commit(customer.password_changed(password_hash="y", now=NOW), ORIGIN) == COMMITTED
    assert await store.token_owner(hashed(customer, "before-change"), TokenPurpose.PASSWORD_RESET, now=NOW) is None
    await reset_token(store, customer, "before-erasure")
    change = customer.update_profile(profile={}, preferences={}, source="it", if_match=None, now=NOW,
                                     email=f"p-{uuid.uuid4().hex[:8]}@example.com")
    assert change is not None
    assert await store.commit(change, ORIGIN) == COMMITTED
    assert await store.commit(change.after.erase(NOW), ORIGIN) == COMMITTED
    key = customer_uuid(customer.id)
    assert await fetchval(store, "SELECT count(*) FROM customer_tokens WHERE customer_id = $1", key) == 0
    assert await fetchval(store, "SELECT pending_email FROM customers WHERE id = $1", key) is None


async def test_a_verification_token_confirms_only_the_address_it_was_issued_for(store: Store) -> None:
    customer = await create(store)
    address = f"one-{uuid.uuid4().hex[:8]}@example.com"
    change = customer.update_profile(profile={}, preferences={}, source="it", if_match=None, now=NOW, email=address)
    assert change is not None
    assert await store.commit(change, ORIGIN) == COMMITTED
    pending = change.after
    issue = pending.email_verification_issued(token_hash=hashed(customer, "verify"), expires_at=NOW + HOUR, now=NOW)
    assert await store.commit(issue, ORIGIN) == COMMITTED
    owner = await store.token_owner(hashed(customer, "verify"), TokenPurpose.EMAIL_VERIFICATION, now=NOW)
    assert owner == TokenOwner(customer.id, address, redeemed=False)
    presented = TokenRedemption(TokenPurpose.EMAIL_VERIFICATION, hashed(customer, "verify"), NOW, email=address)
    confirmed = pending.confirm_email(presented)
    forged = replace(presented, email=f"other-{uuid.uuid4().hex[:8]}@example.com")
    with pytest.raises(DomainError) as wrong_address:  # the store checks the address against the token's row
        await store.commit(replace(confirmed, token_redeemed=forged), ORIGIN)
    assert wrong_address.value.code is ErrorCode.INVALID_TOKEN
    assert await store.commit(confirmed, ORIGIN) == COMMITTED
    loaded = await store.load_customer(customer.id)
    assert loaded is not None
    assert (loaded.aggregate.customer.email, loaded.aggregate.customer.pending_email,
            loaded.aggregate.customer.email_verified) == (address, None, True)
