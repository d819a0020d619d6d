"""Tags and internal notes through daprd (issue 22): normalised and searchable tags; notes that only services
and admins read, erased with the customer."""

from __future__ import annotations

from typing import Any

from domain.ids import customer_uuid
from tests.support.service import Service
from tests.support.tokens import bearer

SUPPORT = bearer("svc:support-desk", "customers:read", "customers:write")


def test_tags_are_normalised_searchable_and_set_by_services_only(service: Service, db: Any) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/tags"
    tagged = service.api("PUT", path, token=SUPPORT, json={"tags": ["  Wholesale ", "Newsletter  2026", "wholesale"]})
    assert tagged.status_code == 200, tagged.text
    assert (tagged.json()["data"]["customer"]["tags"], tagged.headers["etag"]) == (
        ["newsletter-2026", "wholesale"], '"2"')
    assert db.execute("SELECT payload->'data'->'changedFields' FROM outbox WHERE customer_id = %s "
                      "AND topic = 'customers.profile.updated'", (customer_uuid(customer["id"]),)).fetchall() == [
        (["tags"],)]
    found = service.api("GET", "/v1/customers?tag=WHOLESALE").json()["data"]["customers"]
    [hit] = [c for c in found if c["id"] == customer["id"]]
    assert hit["tags"] == ["newsletter-2026", "wholesale"]
    assert all("wholesale" in c["tags"] for c in found)

    own = service.api("PUT", path, token=bearer(customer["id"], "customers:write"), json={"tags": []})
    assert (own.status_code, own.json()["error"]["code"]) == (403, "FORBIDDEN")
    bad = service.api("PUT", path, token=SUPPORT, json={"tags": ["ok", "!!"]})
    assert (bad.status_code, [d["field"] for d in bad.json()["error"]["details"]]) == (400, ["tags.1"])
    too_many = service.api("PUT", path, token=SUPPORT, json={"tags": [f"t{i}" for i in range(21)]})
    assert (too_many.status_code, [d["field"] for d in too_many.json()["error"]["details"]]) == (400, ["tags"])
    assert service.api("GET", f"/v1/customers/{customer['id']}").json()["data"]["customer"]["tags"] == [
        "newsletter-2026", "wholesale"]


def test_notes_are_for_staff_never_the_customer_and_go_with_erasure(service: Service, db: Any) -> None:
    customer = service.create_customer()
    path = f"/v1/customers/{customer['id']}/notes"
    own = bearer(customer["id"], "customers:read", "customers:write")
    first = service.api("POST", path, token=SUPPORT, json={"text": "Called about a late parcel."})
    assert first.status_code == 201, first.text
    second = service.api("POST", path, token=SUPPORT, json={"text": "Refund promised by phone."})
    note = second.json()["data"]["note"]
    assert (note["author"], note["text"]) == ("svc:support-desk", "Refund promised by phone.")
    listed = service.api("GET", path, token=SUPPORT).json()["data"]
    assert [n["text"] for n in listed["notes"]] == ["Refund promised by phone.", "Called about a late parcel."]
    page = service.api("GET", f"{path}?limit=1", token=SUPPORT).json()["data"]
    rest = service.api("GET", f"{path}?limit=1&cursor={page['nextCursor']}", token=SUPPORT).json()["data"]
    assert [n["id"] for n in page["notes"] + rest["notes"]] == [n["id"] for n in listed["notes"]]

    for method, body in (("GET", None), ("POST", {"text": "mine"})):
        refused = service.api(method, path, token=own, json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
        assert "parcel" not in refused.text
    timeline = service.api("GET", f"/v1/customers/{customer['id']}/activities", token=own).json()["data"]
    assert [a["type"] for a in timeline["activities"]] == ["registration"]  # a note leaves no activity
    assert "parcel" not in service.api("GET", f"/v1/customers/{customer['id']}/export", token=own).text
    blank = service.api("POST", path, token=SUPPORT, json={"text": "   "})
    assert (blank.status_code, [d["field"] for d in blank.json()["error"]["details"]]) == (400, ["text"])

    assert service.api("POST", f"/v1/customers/{customer['id']}/erasure").status_code == 200
    key = customer_uuid(customer["id"])
    assert db.execute("SELECT count(*) FROM customer_notes WHERE customer_id = %s", (key,)).fetchone() == (0,)
    late = service.api("POST", path, token=SUPPORT, json={"text": "after the erasure"})
    assert (late.status_code, late.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")
