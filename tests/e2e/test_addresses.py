"""Address book end to end: the limit, defaults and types, the database's one-default rule, foreign ids."""

from __future__ import annotations

from typing import Any

from domain.ids import customer_uuid, new_address_id
from tests.support.service import Service
from tests.support.tokens import bearer


def address(**overrides: Any) -> dict[str, Any]:
    return {"type": "shipping", "firstName": "John", "lastName": "Doe", "street": "123 Main St",
            "street2": "Apt 4B", "city": "New York", "state": "NY", "zipCode": "10001", "country": "US",
            "phone": "+1-555-0123", **overrides}


def add(service: Service, customer_id: str, **overrides: Any) -> Any:
    return service.api("POST", f"/v1/customers/{customer_id}/addresses", json=address(**overrides))


def book(service: Service, customer_id: str) -> list[dict[str, Any]]:
    response = service.api("GET", f"/v1/customers/{customer_id}/addresses")
    assert response.status_code == 200
    return list(response.json()["data"]["addresses"])


def test_addresses_have_the_spec_shape_and_defaults_per_type(service: Service, db: Any) -> None:
    customer = service.create_customer()
    first = add(service, customer["id"])
    assert first.status_code == 201
    created = first.json()["data"]["address"]
    assert created["id"].startswith("addr_")
    assert created["isDefault"] is True
    assert first.headers["Location"].endswith(created["id"])
    billing = add(service, customer["id"], type="billing", street="456 Business Ave").json()["data"]["address"]
    second = add(service, customer["id"], isDefault=True, street="9 Side St").json()["data"]["address"]

    listed = {a["id"]: a for a in book(service, customer["id"])}
    assert listed[created["id"]]["isDefault"] is False
    assert listed[second["id"]]["isDefault"] is True
    assert listed[billing["id"]]["isDefault"] is True
    assert set(listed[created["id"]]) >= {"id", "type", "isDefault", "firstName", "lastName", "company", "street",
                                         "street2", "city", "state", "zipCode", "country", "phone", "createdAt"}
    stored = db.execute("SELECT type, count(*) FROM customer_addresses WHERE customer_id = %s AND is_default "
                        "GROUP BY type ORDER BY type", (customer_uuid(customer["id"]),)).fetchall()
    assert stored == [("billing", 1), ("shipping", 1)]

    assert service.api("DELETE", f"/v1/customers/{customer['id']}/addresses/{second['id']}").status_code == 204
    promoted = {a["id"]: a["isDefault"] for a in book(service, customer["id"])}
    assert promoted == {created["id"]: True, billing["id"]: True}

    updated = service.api("PUT", f"/v1/customers/{customer['id']}/addresses/{billing['id']}",
                          json={"city": "Boston", "zipCode": "02108", "state": "MA"})
    assert updated.status_code == 200
    assert updated.json()["data"]["address"]["city"] == "Boston"
    assert updated.json()["data"]["address"]["street"] == "456 Business Ave"


def test_at_most_ten_addresses(service: Service) -> None:
    customer = service.create_customer()
    for i in range(10):
        assert add(service, customer["id"], street=f"{i} Main St").status_code == 201
    eleventh = add(service, customer["id"])
    assert eleventh.status_code == 400
    assert eleventh.json()["error"]["code"] == "ADDRESS_LIMIT_EXCEEDED"
    assert len(book(service, customer["id"])) == 10


def test_field_errors_are_clear(service: Service) -> None:
    customer = service.create_customer()
    response = add(service, customer["id"], country="ZZ", street="", zipCode=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    assert {d["field"] for d in response.json()["error"]["details"]} == {"country", "street", "zipCode"}
    wrong_type = add(service, customer["id"], type="home")
    assert wrong_type.status_code == 400


def test_someone_elses_address_is_404_not_403(service: Service) -> None:
    owner, other = service.create_customer(), service.create_customer()
    theirs = add(service, owner["id"]).json()["data"]["address"]["id"]
    mine = bearer(other["id"], "customers:read", "customers:write")
    for method in ("PUT", "DELETE"):
        response = service.api(method, f"/v1/customers/{other['id']}/addresses/{theirs}", token=mine,
                               json={"city": "Nowhere"})
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "ADDRESS_NOT_FOUND"
    assert service.api("DELETE", f"/v1/customers/{owner['id']}/addresses/{new_address_id()}").status_code == 404
    assert service.api("DELETE", f"/v1/customers/{owner['id']}/addresses/addr_1").status_code == 404
    assert len(book(service, owner["id"])) == 1
