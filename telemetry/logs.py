"""One JSON object per log line: time, level, logger, message, and the request's correlation id, trace
id, customer id, route, status and duration where a request is being served.

Log messages name customers by id only; emails, names, passwords and tokens are never logged (the
e2e tier checks the log of a run for them).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from telemetry.tracing import current_trace_id

# Set by the request middleware and the access guards for the request being served.
CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CUSTOMER_ID: ContextVar[str | None] = ContextVar("customer_id", default=None)
REQUEST_FIELDS = ("route", "status", "duration_ms", "method")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in (("correlation_id", CORRELATION_ID), ("customer_id", CUSTOMER_ID)):
            if (value := var.get()) is not None:
                entry[name] = value
        if (trace_id := current_trace_id()) is not None:
            entry["trace_id"] = trace_id
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    """JSON lines on stderr for every logger, uvicorn's included."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The app's own access log (api.observability) has the route template and duration; uvicorn's would
    # repeat every request with the raw path (ids in it).
    logging.getLogger("uvicorn.access").disabled = True
