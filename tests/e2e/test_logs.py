"""The service's log: one JSON object per line with the request's context, and no personal data."""

from __future__ import annotations

import json
import uuid

from tests.support.service import Service, admin
from tests.support.tokens import bearer


def test_log_lines_are_json_with_context_and_hold_no_personal_data(service: Service) -> None:
    log_file = service.stack.config.log_dir / "customer-service.log"
    offset = log_file.stat().st_size
    marker = uuid.uuid4().hex[:10]
    email, first, last, password = f"log-{marker}@example.com", f"Quinn{marker}", f"Zed{marker}", f"Pw-{marker}-X9!"
    customer = service.create_customer(email=email, password=password, profile={"firstName": first, "lastName": last})
    path = f"/v1/customers/{customer['id']}"
    admin_token = admin()
    service.api("PUT", path, token=admin_token, json={"profile": {"phone": "+1-555-0142"}},
                headers={"X-Correlation-ID": f"corr-{marker}"})
    credentials = bearer("svc:auth", "customers:credentials")
    for attempt in (password, f"{password}-wrong"):
        service.api("POST", "/v1/customers/credentials/verify", token=credentials,
                    json={"email": email, "password": attempt})
    service.api("GET", f"{path}/nope")

    lines = log_file.read_text()[offset:].splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    access = [e for e in entries if e["logger"] == "customer-service.access"]
    update = next(e for e in access if e["route"] == "/v1/customers/{customer_id}" and e["method"] == "PUT")
    assert (update["status"], update["correlation_id"], update["customer_id"]) == (200, f"corr-{marker}",
                                                                                    customer["id"])
    assert update["duration_ms"] > 0
    text = "\n".join(lines)
    tokens = [t["Authorization"].removeprefix("Bearer ") for t in (credentials, admin_token)]  # both sent above
    for secret in (email, first, last, password, "+1-555-0142", *tokens):
        assert secret not in text, secret[:12]
    daprd_log = (service.stack.config.log_dir / "customer-service-daprd.log").read_text()
    assert not any(token in daprd_log for token in tokens)
