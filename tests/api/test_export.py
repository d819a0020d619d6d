"""The bulk export's stream, in process: every page read in turn, each customer once, then the end line."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from api import search
from domain.ids import new_customer_id
from persistence.read_models import CustomerSearch, SearchPage
from tests.api.conftest import InProcess
from tests.support.tokens import bearer

NOW = datetime(2026, 12, 1, tzinfo=UTC)


class PagedReads:
    """Customers registered a minute apart, newest first, paged on (registration, key) as the read model is."""

    def __init__(self, count: int) -> None:
        ids = [new_customer_id() for _ in range(count)]
        self.rows = [(NOW - timedelta(minutes=i), uuid.UUID(hex=c.removeprefix("cust_")), c)
                     for i, c in enumerate(ids)]
        self.asked: list[CustomerSearch] = []

    async def search(self, criteria: CustomerSearch) -> SearchPage:
        self.asked.append(criteria)
        rows = [r for r in self.rows if criteria.after is None or (r[0], r[1]) < criteria.after]
        page = rows[:criteria.limit]
        after = (page[-1][0], page[-1][1]) if len(rows) > criteria.limit else None
        return SearchPage([{"id": c, "tags": ["vip"]} for _, _, c in page], after)


@pytest.mark.parametrize("count", [0, 2, 5])
async def test_the_export_streams_every_page_once_and_ends_with_the_count(
        app: FastAPI, api: InProcess, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(search, "EXPORT_PAGE", 2)
    reads = PagedReads(count)
    app.state.services = replace(app.state.services, read_models=reads)
    response = await api.client.get("/v1/customers/export?tag=VIP", headers=bearer("svc:admin", "customers:admin"))
    assert (response.status_code, response.headers["content-type"]) == (200, "application/x-ndjson")
    lines: list[dict[str, Any]] = [json.loads(line) for line in response.text.splitlines()]
    assert [line["id"] for line in lines[:-1]] == [c for _, _, c in reads.rows]
    assert lines[-1] == {"endOfExport": {"customers": count}}
    assert {c.tag for c in reads.asked} == {"vip"}  # the filters, normalised, on every page
    assert len(reads.asked) == max(1, -(-count // 2))
