"""The durable record against a real PostgreSQL: constraints, one transaction per change, partitions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from domain.customer import Customer
from domain.errors import DomainError, ErrorCode
from domain.events import CustomerCreated
from domain.ids import customer_uuid, new_customer_id
from domain.segmentation import SegmentState
from persistence.store import Activity, Store

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[Store]:
    store = await Store.connect(database_url, max_connections=4)
    await store.ensure_activity_partitions(NOW)
    yield store
    await store.close()


async def create(store: Store, email: str | None = None) -> Customer:
    customer, consents = Customer.register(customer_id=new_customer_id(),
                                           email=email or f"it-{uuid.uuid4().hex[:10]}@example.com",
                                           profile={"firstName": "Ida"}, preferences={}, now=NOW)
    async with store.transaction() as tx:
        await tx.insert_customer(customer=customer, password_hash="x", segment=SegmentState.initial(NOW))
        await tx.add_consents(customer_id=customer.id, consents=consents)
        await tx.add_activity(customer_id=customer.id, activity=Activity("registration", {}, NOW))
    return customer


async def test_email_is_unique_whatever_its_case(store: Store) -> None:
    email = f"Case-{uuid.uuid4().hex[:8]}@Example.com"
    await create(store, email)
    with pytest.raises(DomainError) as raised:
        await create(store, email.lower())
    assert raised.value.code is ErrorCode.EMAIL_ALREADY_EXISTS


async def test_a_failed_transaction_leaves_no_outbox_row(store: Store) -> None:
    customer = await create(store)
    before = await store.pool.fetchval("SELECT count(*) FROM outbox WHERE customer_id = $1", customer_uuid(customer.id))
    event = CustomerCreated(customer.id, email=customer.email, first_name=None, last_name=None, tier="regular",
                            segment="new_customer", registration_date=NOW)

    async def enqueue_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.enqueue(events=[event], at=NOW, correlation_id="c")
            await tx.update_customer(customer=customer.bumped(), expected_version=999)  # stale: rejected

    with pytest.raises(DomainError):
        await enqueue_then_fail()
    after = await store.pool.fetchval("SELECT count(*) FROM outbox WHERE customer_id = $1", customer_uuid(customer.id))
    assert after == before


async def test_rehydration_reads_back_what_was_written(store: Store) -> None:
    customer = await create(store)
    loaded = await store.load_customer(customer.id)
    assert loaded is not None
    assert loaded.customer == customer
    assert loaded.segment.segment.value == "new_customer"
    assert loaded.addresses.addresses == ()


async def test_an_order_counts_once(store: Store) -> None:
    customer = await create(store)
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    results = []
    for event_id in ("evt_a" + uuid.uuid4().hex, "evt_b" + uuid.uuid4().hex):
        async with store.transaction() as tx:
            results.append(await tx.record_order(customer_id=customer.id, order_id=order_id, amount=Decimal("10"),
                                                 currency="USD", completed_at=NOW, event_id=event_id))
    assert results == [True, False]


async def test_one_default_address_per_type_is_enforced_by_the_database(store: Store) -> None:
    customer = await create(store)
    insert = ("INSERT INTO customer_addresses (customer_id, type, is_default, street, city, zip_code, country) "
              "VALUES ($1, 'shipping', TRUE, '1 Main St', 'New York', '10001', 'US')")
    await store.pool.execute(insert, customer_uuid(customer.id))
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.pool.execute(insert, customer_uuid(customer.id))


async def test_partitions_exist_for_this_month_and_the_next(store: Store) -> None:
    names = {r["relname"] for r in await store.pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'customer_activities'")}
    this_month = NOW.strftime("customer_activities_%Y_%m")
    next_month = datetime(NOW.year + NOW.month // 12, NOW.month % 12 + 1, 1).strftime("customer_activities_%Y_%m")
    assert {this_month, next_month} <= names
    assert await store.ensure_activity_partitions(NOW) == 0  # idempotent
