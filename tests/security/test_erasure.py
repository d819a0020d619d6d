"""GDPR erasure, completely: afterwards no table and no Redis key holds the person's data, Dapr's
pub/sub streams (the transport of the events already sent) included."""

from __future__ import annotations

import uuid
from typing import Any

import redis

from tests.support.service import Service, outbox_count, wait_for, wait_for_events
from tests.support.tokens import bearer

CREDENTIALS = bearer("svc:auth-service", "customers:credentials")


def tables_holding(db: Any, needle: str) -> list[str]:
    tables = [r[0] for r in db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition").fetchall()]
    return [t for t in tables
            if db.execute(f'SELECT count(*) FROM "{t}" x WHERE x::text ILIKE %s',  # noqa: S608 - catalog names
                          (f"%{needle}%",)).fetchone()[0]]


def values_of(client: redis.Redis | redis.RedisCluster, key: bytes) -> list[Any]:
    raw = client.type(key)
    kind = raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "string":
        return [client.get(key)]
    if kind == "hash":
        return list(client.hgetall(key).items())
    if kind == "set":
        return list(client.smembers(key))
    if kind in ("list", "zset"):
        return list(client.lrange(key, 0, -1) if kind == "list" else client.zrange(key, 0, -1))
    if kind == "stream":
        return list(client.xrange(key) or [])
    return []


def redis_keys_holding(client: redis.Redis | redis.RedisCluster, needle: str) -> list[str]:
    return [key.decode() for key in client.scan_iter(count=1000)
            if needle.encode() in key or any(needle.encode() in str(v).encode() for v in values_of(client, key))]


def test_after_erasure_no_table_or_key_holds_the_person(service: Service, db: Any) -> None:
    marker = uuid.uuid4().hex[:10]
    email, first, last = f"erase-me-{marker}@example.com", f"Zelda{marker}", f"Quux{marker}"
    customer = service.create_customer(email=email, profile={"firstName": first, "lastName": last,
                                                             "phone": "+1-555-0199"})
    path = f"/v1/customers/{customer['id']}"
    assert service.api("POST", f"{path}/addresses", json={
        "firstName": first, "lastName": last, "street": f"{marker} Main St", "city": "Springfield",
        "zipCode": "10001", "country": "US"}).status_code == 201
    assert service.api("PUT", path, json={"profile": {"lastName": f"{last}x"}}).status_code == 200
    override = service.api("PUT", f"{path}/segment", json={"tier": "vip", "reason": f"{first} asked, {marker}"})
    assert override.status_code == 200, override.text
    login = service.api("POST", "/v1/customers/credentials/verify", token=CREDENTIALS,
                        json={"email": email, "password": "Sturdy-Passw0rd!"})
    assert login.status_code == 200
    wait_for_events(service, "customers.profile.updated", customer["id"])
    client = service.stack.redis_client()
    assert tables_holding(db, email)  # the search can see it before erasure
    assert redis_keys_holding(client, email)

    assert service.api("POST", f"{path}/erasure").status_code == 200
    wait_for_events(service, "customers.customer.erased", customer["id"])
    for needle in (email, first, last, marker):
        assert tables_holding(db, needle) == [], needle
        assert redis_keys_holding(client, needle) == [], needle
    assert service.api("GET", path).status_code == 404


def test_a_retried_erasure_answers_and_changes_nothing_more(service: Service, db: Any) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/erasure"
    assert service.api("POST", path).json()["data"]["changed"] is True
    again = service.api("POST", path)
    assert (again.status_code, again.json()["data"]["changed"]) == (200, False)
    assert outbox_count(db, customer["id"], "customers.customer.erased") == 1
    wait_for(lambda: db.execute("SELECT status FROM customers WHERE id = %s",
                                (uuid.UUID(customer["id"][5:]),)).fetchone()[0] == "deleted",
             what="the record anonymised")
