"""The trace plumbing that needs no Dapr: the exporting Configuration devstack derives, and the app's server
spans without query strings (the e2e tier follows real traces through daprd: tests/e2e/test_tracing.py)."""

from __future__ import annotations

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.stack import SERVICE_APP_ID, run_file_app, traces_exported
from telemetry import tracing


def test_the_exporting_configuration_adds_only_the_collector() -> None:
    source = run_file_app(SERVICE_APP_ID).config_file.read_text()
    original = yaml.safe_load(source)
    exporting = yaml.safe_load(traces_exported(source, "http://127.0.0.1:4318"))
    assert exporting["spec"]["tracing"] == {
        "samplingRate": original["spec"]["tracing"]["samplingRate"],
        "otel": {"endpointAddress": "127.0.0.1:4318", "isSecure": False, "protocol": "http"}}
    del exporting["spec"]["tracing"], original["spec"]["tracing"]
    assert exporting == original


def traced_app() -> tuple[FastAPI, InMemorySpanExporter]:
    """A FastAPI app instrumented as the service is, recording into memory; its route answers with the
    trace id it sees."""
    spans = InMemorySpanExporter()
    provider = TracerProvider(sampler=tracing.SAMPLER)
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = FastAPI(telemetry=tracing.FASTAPI_NATIVE_TELEMETRY_OFF)

    @app.get("/v1/customers")
    async def search(email: str) -> dict[str, str | None]:
        return {"found": email, "trace": tracing.current_trace_id()}

    tracing.instrument(app, provider)
    return app, spans


def caller(trace_id: str, *, sampled: bool) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{'cd' * 8}-{'01' if sampled else '00'}"}


def test_a_server_span_keeps_the_path_and_drops_the_query() -> None:
    app, spans = traced_app()
    with TestClient(app) as client:
        answer = client.get("/v1/customers", params={"email": "ada@example.com"},
                            headers=caller("ab" * 16, sampled=True))
    assert answer.json()["trace"] == "ab" * 16

    [server] = spans.get_finished_spans()
    assert server.name == "GET /v1/customers"
    attributes = dict(server.attributes or {})
    assert attributes["http.target"] == "/v1/customers"
    assert str(attributes["http.url"]).endswith("/v1/customers")
    assert "ada" not in str(attributes)


def test_a_request_its_caller_did_not_sample_records_nothing_but_keeps_the_callers_trace() -> None:
    app, spans = traced_app()
    with TestClient(app) as client:
        unsampled = client.get("/v1/customers", params={"email": "x"}, headers=caller("ef" * 16, sampled=False))
        untraced = client.get("/v1/customers", params={"email": "x"})
    assert unsampled.json()["trace"] == "ef" * 16
    assert untraced.json()["trace"] is None
    assert spans.get_finished_spans() == ()


def test_the_app_follows_its_callers_sampling_and_starts_no_sampled_trace_itself() -> None:
    tracer = TracerProvider(sampler=tracing.SAMPLER).get_tracer("test")
    with tracer.start_as_current_span("sweep") as root:
        assert not root.get_span_context().trace_flags.sampled
        assert tracing.current_traceparent() is not None  # the context still travels, unsampled
    for flags, sampled in (("01", True), ("00", False)):
        caller = extract({"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-{flags}"})
        with tracer.start_as_current_span("request", context=caller) as span:
            assert span.get_span_context().trace_flags.sampled is sampled
            assert format(span.get_span_context().trace_id, "032x") == "ab" * 16
