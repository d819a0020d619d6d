"""The bulk export through daprd (issue 22): the customers the filters match, one NDJSON line each, newest
first, then the end line; admins only."""

from __future__ import annotations

import json
import uuid

from tests.support.service import Service
from tests.support.tokens import bearer

SUPPORT = bearer("svc:support-desk", "customers:read", "customers:write")


def test_the_export_streams_the_matching_customers_and_says_it_is_whole(service: Service) -> None:
    tag = f"export-{uuid.uuid4().hex[:8]}"
    customers = [service.create_customer(externalId=f"crm:{uuid.uuid4().hex[:8]}") for _ in range(3)]
    for customer in customers:
        tagged = service.api("PUT", f"/v1/customers/{customer['id']}/tags", token=SUPPORT, json={"tags": [tag]})
        assert tagged.status_code == 200, tagged.text
    response = service.api("GET", f"/v1/customers/export?tag={tag.upper()}")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [c["id"] for c in lines[:-1]] == [c["id"] for c in reversed(customers)]  # newest first
    assert lines[-1] == {"endOfExport": {"customers": 3}}
    assert [(c["externalId"], c["tags"], c["email"]) for c in lines[:-1]] == [
        (c["externalId"], [tag], c["email"]) for c in reversed(customers)]

    own = service.api("GET", f"/v1/customers/export?tag={tag}", token=bearer(customers[0]["id"], "customers:read"))
    assert (own.status_code, own.json()["error"]["code"]) == (403, "FORBIDDEN")
    bad = service.api("GET", "/v1/customers/export?tag=%21%21")
    assert (bad.status_code, [d["field"] for d in bad.json()["error"]["details"]]) == (400, ["tag"])
