"""Finding customers through daprd: each filter, keyset pages that neither skip nor repeat, an opaque
cursor with nothing personal in it, admin only."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.service import Service
from tests.support.tokens import bearer


def find(service: Service, **params: Any) -> dict[str, Any]:
    response = service.api("GET", "/v1/customers", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def ids(data: dict[str, Any]) -> list[str]:
    return [c["id"] for c in data["customers"]]


def test_each_filter_finds_what_it_names(service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    ada = service.create_customer(email=f"ada-{tag}@example.com",
                                  profile={"firstName": "Ada", "lastName": f"Byron{tag}"})
    bob = service.create_customer(email=f"bob-{tag}@example.com",
                                  profile={"firstName": "Bob", "lastName": f"Stone{tag}"})
    assert ids(find(service, email=f"ADA-{tag}@example.com")) == [ada["id"]]
    assert set(ids(find(service, emailPrefix=f"bob-{tag}"))) == {bob["id"]}
    assert ids(find(service, q=f"byron{tag}")) == [ada["id"]]
    assert ids(find(service, q=f"ada byron{tag}")) == [ada["id"]]
    assert service.api("PUT", f"/v1/customers/{bob['id']}/segment",
                       json={"tier": "vip", "reason": "key account"}).status_code == 200
    assert bob["id"] in ids(find(service, tier="vip", limit=100))
    assert ada["id"] not in ids(find(service, tier="vip", limit=100))
    assert service.api("DELETE", f"/v1/customers/{ada['id']}").status_code == 200
    assert ada["id"] in ids(find(service, status="inactive", emailPrefix=f"ada-{tag}"))
    assert ids(find(service, status="active", emailPrefix=f"ada-{tag}")) == []
    now = datetime.now(UTC)
    recent = ids(find(service, registeredFrom=(now - timedelta(minutes=5)).isoformat(), q=f"stone{tag}"))
    assert recent == [bob["id"]]
    assert ids(find(service, registeredTo=(now - timedelta(days=1)).isoformat(), q=f"stone{tag}")) == []
    assert find(service, segment="new_customer", emailPrefix=f"bob-{tag}")["customers"][0]["segment"] == "new_customer"


def test_pages_are_stable_and_complete_and_the_cursor_says_nothing_personal(service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    created = {service.create_customer(email=f"page-{tag}-{i}@example.com")["id"] for i in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"emailPrefix": f"page-{tag}", "limit": 3, **({"cursor": cursor} if cursor else {})}
        data = find(service, **params)
        seen += ids(data)
        cursor = data["nextCursor"]
        if cursor is None:
            break
        decoded = base64.urlsafe_b64decode(cursor)  # a registration time and the last row's key, no more
        assert (len(decoded), "cust_" + uuid.UUID(bytes=decoded[8:]).hex) == (24, seen[-1])
        assert tag not in cursor
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


def test_search_is_for_admins_and_refuses_bad_cursors(service: Service) -> None:
    reader = bearer("svc:orders", "customers:read")
    assert service.api("GET", "/v1/customers", token=reader).status_code == 403
    bad = service.api("GET", "/v1/customers", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "cursor"
    assert service.api("GET", "/v1/customers", params={"limit": 1000}).status_code == 400
    nul = service.api("GET", "/v1/customers", params={"q": "ab\x00c"})
    assert nul.status_code == 400
    assert nul.json()["error"]["code"] == "VALIDATION_FAILED"
