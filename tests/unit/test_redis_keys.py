"""The slot design of persistence/redis_keys.py, computed with Redis Cluster's own hash (CRC16 of the hash
tag, mod 16384): keys used together share a slot, and no value can move a key out of its slot."""

from __future__ import annotations

import ast
from pathlib import Path

from redis.crc import key_slot

from domain.ids import new_customer_id
from persistence.redis_keys import (
    addresses_key,
    profile_key,
    rate_limit_key,
    segment_key,
    session_key,
    sessions_of_key,
    throttle_key,
    upstream_key,
)

ROOT = Path(__file__).resolve().parents[2]


def slot(key: str) -> int:
    return int(key_slot(key.encode()))


def test_the_keys_are_the_specs_with_their_placeholders_as_hash_tags() -> None:
    assert profile_key("cus_1") == "customers:profile:{cus_1}"
    assert segment_key("cus_1") == "customers:segment:{cus_1}"
    assert addresses_key("cus_1") == "customers:addresses:{cus_1}"
    assert session_key("sess_1") == "customers:session:{sess_1}"


def test_every_key_about_a_customer_is_in_the_customers_slot() -> None:
    """One DEL removes them together (a change's invalidation, erasure)."""
    for customer_id in (new_customer_id() for _ in range(50)):
        slots = {slot(key) for key in (profile_key(customer_id), segment_key(customer_id),
                                       addresses_key(customer_id), sessions_of_key(customer_id),
                                       upstream_key(customer_id, "order-service"),
                                       upstream_key(customer_id, "loyalty-service"))}
        assert slots == {slot("{" + customer_id + "}")}


def test_a_requests_budgets_are_in_its_subjects_slot_whatever_the_customer() -> None:
    """The counting script touches them all in one call."""
    subject = "svc:order-service"
    keys = [rate_limit_key(subject, budget, minute) for budget in ("service", f"for:{new_customer_id()}",
                                                                    "for:{odd}") for minute in (100, 99)]
    assert {slot(key) for key in keys} == {slot(rate_limit_key(subject, "service", 0))}


def test_customers_are_spread_over_the_slots() -> None:
    assert len({slot(profile_key(new_customer_id())) for _ in range(1000)}) > 950


def test_a_brace_in_a_value_cannot_move_the_tag() -> None:
    """Without escaping, `a}b`'s key would hash `a` alone, and `{x` would start no tag: both would share
    slots with keys they have nothing to do with."""
    assert session_key("a}b") == "customers:session:{a%7Db}"
    assert slot(session_key("a}b")) == slot("{a%7Db}")
    assert slot(rate_limit_key("{x", "user", 1)) == slot(rate_limit_key("{x", "user", 2)) == slot("{%7Bx}")
    assert throttle_key("login-attempts", "account", "ab12") == "customers:login-attempts:account:{ab12}"


def test_nothing_outside_the_tests_enumerates_the_keyspace() -> None:
    """A cluster has no keyspace to scan from one node, and a scan on a request path costs O(keys)."""
    scanning = [f"{path.relative_to(ROOT)}:{node.lineno}"
                for package in ("api", "actors", "persistence", "service", "subscriptions")
                for path in sorted((ROOT / package).rglob("*.py"))
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Attribute) and node.attr in {"scan", "scan_iter", "keys"}
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "dict"})]
    assert scanning == []
