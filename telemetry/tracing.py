"""W3C trace context through the service, and the service's own spans over OTLP.

daprd decides where a trace starts and whether it is sampled (its Configuration's `samplingRate`) and
hands the app a `traceparent`; the app's spans follow that decision, so daprd's spans and the app's
land in one trace or neither does. The app starts no sampled trace of its own: work without a caller
(the segment sweep, events from before traces were kept) would otherwise be traced at 100%, beside
daprd's one in ten. The context travels on:

- into actor calls and service invocations, as the `traceparent` header of the call to daprd;
- into published events: the outbox row keeps the traceparent of the turn that committed it, the relay
  publishes with it, and daprd writes it into the CloudEvent (`traceparent`), so a subscriber continues
  the trace of the request that caused the event, however long the event waited in the outbox.

Without OTEL_EXPORTER_OTLP_ENDPOINT no span is recorded, but the context is still carried: a trace
daprd starts stays one trace through the app.

No personal data in spans: the app's server spans carry the path without its query string (a search
names an email there). daprd's own spans are another matter (README, "Traces").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import attach, detach
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

TRACEPARENT = "traceparent"
TRACE_HEADERS = (b"traceparent", b"tracestate")
# Probes would be most of the spans and say nothing.
UNTRACED_PATHS = "/health/live,/health/ready"
TRACER = trace.get_tracer("customer-service")
# Where the ASGI instrumentation puts the query string: the old HTTP conventions' URL, the new ones'.
QUERY_BEARING_ATTRIBUTES = ("http.url", "url.full", "url.query")
# A span is recorded when its caller sampled the trace, never on the app's own initiative.
SAMPLER = ParentBased(root=ALWAYS_OFF)
# FastAPI's own OpenTelemetry support, off (FastAPI(telemetry=...)): the contrib instrumentation makes the
# server spans, once, for sampled requests only. FastAPI's would add a second server span to every
# request (it steps aside only when it finds the contrib middleware on top of the stack, where the
# sampling gate sits), a span per dependency, and the query string (a search's email) as `url.query`.
FASTAPI_NATIVE_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def configure(*, service_name: str, otlp_endpoint: str | None) -> TracerProvider | None:
    """Installs the process's tracer provider, exporting to `otlp_endpoint` (OTLP over HTTP, the
    collector's base URL as in OTEL_EXPORTER_OTLP_ENDPOINT); None, and nothing recorded, without one."""
    if not otlp_endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=SAMPLER)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")))
    trace.set_tracer_provider(provider)
    return provider


def instrument(app: FastAPI, provider: TracerProvider | None) -> None:
    """A server span (the FastAPI instrumentation's) for every request whose caller sampled its trace;
    the caller's trace context for every request."""
    plain_stack = app.build_middleware_stack
    traced_stack = None
    if provider is not None:
        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_PATHS,
                                           server_request_hook=_as_documented, exclude_spans=["receive", "send"])
        traced_stack = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return TracedWhenSampled(plain=plain_stack(), traced=traced_stack() if traced_stack else None)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]


class TracedWhenSampled:
    """Sends a request through the instrumented middleware stack only when its caller sampled the trace.

    The FastAPI instrumentation names a request's span before the sampler decides: it matches the path
    against every route once more and collects the request's attributes, 150-190 us a request on a
    one-route app and more on this one's routes (bench.tracing_cost), whether the span is recorded or
    not. The nine requests in ten that
    daprd does not sample take the plain stack, with the caller's context attached so it travels on.
    """

    def __init__(self, *, plain: ASGIApp, traced: ASGIApp | None) -> None:
        self._plain = plain
        self._traced = traced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._plain(scope, receive, send)
            return
        caller = extract({name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
                          if name in TRACE_HEADERS})
        if self._traced is not None and trace.get_current_span(caller).get_span_context().trace_flags.sampled:
            await self._traced(scope, receive, send)
            return
        token = attach(caller)
        try:
            await self._plain(scope, receive, send)
        finally:
            detach(token)


# A path convertor in a route's template (`{customer_id:customer}`, api/access.py), which the instrumentation
# copies into the span's name and http.route: spans name the template as the OpenAPI document writes it.
CONVERTOR = re.compile(r"\{(\w+):\w+\}")


def _as_documented(span: trace.Span, scope: dict[str, Any]) -> None:
    """The span's route without convertors, and no query string in its URL attributes (the path stays)."""
    recorded = getattr(span, "attributes", None)
    if not span.is_recording() or not recorded:
        return
    if "{" in getattr(span, "name", ""):
        span.update_name(CONVERTOR.sub(r"{\1}", span.name))  # type: ignore[attr-defined]
    if isinstance(route := recorded.get("http.route"), str) and ":" in route:
        span.set_attribute("http.route", CONVERTOR.sub(r"{\1}", route))
    if not scope.get("query_string"):
        return
    for name in QUERY_BEARING_ATTRIBUTES:
        if isinstance(value := recorded.get(name), str):
            span.set_attribute(name, "" if name == "url.query" else urlunsplit(urlsplit(value)._replace(query="")))


@contextmanager
def outgoing_call(name: str) -> Iterator[dict[str, str]]:
    """A client span around a call through daprd; yields the headers that carry its context."""
    with TRACER.start_as_current_span(name, kind=SpanKind.CLIENT):
        yield context_headers()


@contextmanager
def publishing(topic: str, traceparent: str | None) -> Iterator[dict[str, str]]:
    """A producer span continuing the trace `traceparent` (the change's, kept in its outbox row);
    yields the headers that carry its context to daprd's publish API."""
    parent = extract({TRACEPARENT: traceparent}) if traceparent else None
    with TRACER.start_as_current_span(f"publish {topic}", context=parent, kind=SpanKind.PRODUCER):
        yield context_headers()


def context_headers() -> dict[str, str]:
    """The headers that carry the current trace context (none without a trace)."""
    headers: dict[str, str] = {}
    inject(headers)
    return headers


def current_traceparent() -> str | None:
    """The W3C traceparent of the span being served, if there is a trace."""
    return context_headers().get(TRACEPARENT)


def current_trace_id() -> str | None:
    """The current trace's id as the trace backend shows it (32 hex digits), if there is one."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None
