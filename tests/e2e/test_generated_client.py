"""The OpenAPI document is a contract a client can be generated from: openapi-python-client generates a
typed client from the document the service serves through daprd, and that client drives a customer
through create, read, update, an address and the segment, through daprd. A document the generator
cannot use fails here."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.service import SERVICE_ID, Service, admin

PACKAGE = "customer_service_client"  # from the document's title, customer-service


@pytest.fixture(scope="module")
def client_package(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("generated")
    document = service.http.get(f"{service.dapr}/v1.0/invoke/{SERVICE_ID}/method/openapi.json")
    assert document.status_code == 200, document.text
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(document.json()))
    generator = Path(sys.executable).with_name("openapi-python-client")
    path = f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # its ruff post-hook is the venv's
    # Literal enums: the time zones' enum holds names (GMT0, GMT+0, GMT-0) that the default Enum classes
    # cannot tell apart, as the generator itself says.
    config = folder / "config.yaml"
    # The export streams NDJSON, which the generator has no type for: a client reads it as bytes, line by line.
    config.write_text("literal_enums: true\n"
                      "content_type_overrides:\n  application/x-ndjson: application/octet-stream\n")
    generated = subprocess.run([str(generator), "generate", "--path", str(spec), "--output-path",
                                str(folder / PACKAGE), "--meta", "none", "--fail-on-warning", "--config", str(config)],
                               capture_output=True, text=True, timeout=300, check=False,
                               env={**os.environ, "PATH": path})
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def api_module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_a_generated_client_drives_a_customer_through_daprd(service: Service, client_package: Any) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    token = admin()["Authorization"].removeprefix("Bearer ")
    client = client_package.AuthenticatedClient(
        base_url=f"{service.dapr}/v1.0/invoke/{SERVICE_ID}/method", token=token,
        headers={"dapr-api-token": service.stack.config.dapr_api_token})
    email = f"generated-{uuid.uuid4().hex[:12]}@example.com"

    created = api_module("customers.create_customer_v1_customers_post").sync_detailed(
        client=client, body=models.CreateCustomerIn(email=email, password="Sturdy-Passw0rd!"))
    assert created.status_code == 201, created.content
    customer = created.parsed.data.customer
    assert customer.email == email

    read = api_module("customers.get_customer_v1_customers_customer_id_get").sync_detailed(
        customer.id, client=client)
    assert (read.status_code, read.parsed.data.customer.id) == (200, customer.id)

    updated = api_module("customers.update_customer_v1_customers_customer_id_put").sync_detailed(
        customer.id, client=client,
        body=models.UpdateCustomerIn(profile=models.ProfileIn(first_name="Grace")))
    assert updated.status_code == 200, updated.content
    assert updated.parsed.data.customer.profile.first_name == "Grace"

    added = api_module("addresses.add_address_v1_customers_customer_id_addresses_post").sync_detailed(
        customer.id, client=client, body=models.AddressIn(
            type_="shipping", street="1 Main St", city="Springfield", zip_code="12345",
            country="US"))
    assert added.status_code == 201, added.content
    listed = api_module("addresses.list_addresses_v1_customers_customer_id_addresses_get").sync_detailed(
        customer.id, client=client)
    assert listed.status_code == 200
    assert [a.street for a in listed.parsed.data.addresses] == ["1 Main St"]

    segment = api_module("segments.get_segment_v1_customers_customer_id_segment_get").sync_detailed(
        customer.id, client=client)
    assert segment.status_code == 200
    assert (segment.parsed.data.segment.tier, segment.parsed.data.segment.metrics.order_count) \
        == ("regular", 0)
