"""A trace collector for the e2e tier: an OTLP/HTTP receiver (POST /v1/traces, protobuf) that keeps every
span it is sent, as a platform's OpenTelemetry collector would receive them from daprd and the app."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    name: str
    service: str  # the resource's service.name
    scope: str  # the instrumentation scope that made it: daprd's "dapr-diagnostics", the app's own
    attributes: dict[str, Any]


def _values(attributes: Any) -> dict[str, Any]:
    def value(kv: KeyValue) -> Any:
        field = kv.value.WhichOneof("value")
        return getattr(kv.value, field) if field else None
    return {kv.key: value(kv) for kv in attributes}


class TraceCollector:
    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="trace-collector", daemon=True)

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TraceCollector:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self._spans if span.trace_id == trace_id]

    def _receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            service = str(_values(resource_spans.resource.attributes).get("service.name", ""))
            for scope_spans in resource_spans.scope_spans:
                received += [ReceivedSpan(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                                          span.name, service, scope_spans.scope.name, _values(span.attributes))
                             for span in scope_spans.spans]
        with self._lock:
            self._spans += received

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class OtlpHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                collector._receive(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return OtlpHandler
