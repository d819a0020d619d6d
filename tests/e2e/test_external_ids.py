"""External ids through daprd (issue 22): set at creation, unique, looked up by services, cleared by erasure."""

from __future__ import annotations

import uuid
from typing import Any

from domain.ids import customer_uuid
from tests.support.service import Service
from tests.support.tokens import bearer

READER = bearer("svc:crm-sync", "customers:read")


def new_body(external_id: Any) -> dict[str, Any]:
    return {"email": f"ext-{uuid.uuid4().hex[:12]}@example.com", "password": "Sturdy-Passw0rd!",
            "externalId": external_id}


def test_a_customer_is_found_by_the_id_another_system_gave_it_and_only_by_services(service: Service) -> None:
    external_id = f"crm:{uuid.uuid4().hex[:10]}"
    created = service.api("POST", "/v1/customers", json=new_body(external_id))
    assert created.status_code == 201, created.text
    customer = created.json()["data"]["customer"]
    assert customer["externalId"] == external_id

    found = service.api("GET", f"/v1/customers/external-ids/{external_id}", token=READER)
    assert found.status_code == 200, found.text
    assert (found.json()["data"]["customer"]["id"], found.headers["etag"]) == (customer["id"], '"1"')

    own = service.api("GET", f"/v1/customers/external-ids/{external_id}",
                      token=bearer(customer["id"], "customers:read"))
    assert (own.status_code, own.json()["error"]["code"]) == (403, "FORBIDDEN")
    missing = service.api("GET", "/v1/customers/external-ids/crm:nobody", token=READER)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")


def test_a_taken_or_malformed_external_id_is_refused_and_creates_nothing(service: Service, db: Any) -> None:
    external_id = f"erp-{uuid.uuid4().hex[:10]}"
    assert service.api("POST", "/v1/customers", json=new_body(external_id)).status_code == 201
    second = new_body(external_id)
    taken = service.api("POST", "/v1/customers", json=second)
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "EXTERNAL_ID_ALREADY_EXISTS")
    for bad in ("", "has space", "x" * 101, "nul\u0000", 42):
        refused = service.api("POST", "/v1/customers", json={**new_body(bad), "email": second["email"]})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "VALIDATION_FAILED"), bad
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["externalId"], bad
    assert db.execute("SELECT count(*) FROM customers WHERE email = %s", (second["email"],)).fetchone() == (0,)


def test_erasure_clears_the_external_id_so_it_names_no_one(service: Service, db: Any) -> None:
    external_id = f"legacy.{uuid.uuid4().hex[:10]}"
    customer = service.api("POST", "/v1/customers", json=new_body(external_id)).json()["data"]["customer"]
    assert service.api("POST", f"/v1/customers/{customer['id']}/erasure").status_code == 200
    gone = service.api("GET", f"/v1/customers/external-ids/{external_id}", token=READER)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")
    assert db.execute("SELECT external_id FROM customers WHERE id = %s",
                      (customer_uuid(customer["id"]),)).fetchone() == (None,)
    again = service.api("POST", "/v1/customers", json=new_body(external_id))
    assert again.status_code == 201, again.text  # free for whoever the other system gives it to next
