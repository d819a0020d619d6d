"""Traces: one request is one trace across daprd and the app, into the actor call, the published event
and a call to an upstream service, and an order event's trace goes on into the service. Every daprd and
app of the e2e stack exports to the session's collector (tests/conftest.py); the requests here carry a
sampled traceparent, which daprd's sampler and the app's always follow."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable

from tests.e2e.test_dapr_foundation import order_event
from tests.support.collector import ReceivedSpan, TraceCollector
from tests.support.service import SERVICE_ID, Service, wait_for

DAPRD_SCOPE = "dapr-diagnostics"


def sampled_trace() -> tuple[str, str]:
    """A new trace id, and a sampled traceparent that starts it."""
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def spans_until(collector: TraceCollector, trace_id: str, *names: str) -> list[ReceivedSpan]:
    """The trace's spans, once every name in `names` is among them (exporters send in batches)."""
    return list(wait_for(lambda: (spans := collector.spans(trace_id))
                         and set(names) <= {span.name for span in spans} and spans,
                         timeout=30, what=f"spans {names} of trace {trace_id}"))


def one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    matching = [span for span in spans if span.name == name]
    assert len(matching) == 1, (name, [(s.name, s.scope) for s in spans])
    return matching[0]


def exported(collector: TraceCollector, trace_id: str, wanted: Callable[[ReceivedSpan], bool],
             what: str) -> ReceivedSpan:
    """The first span of the trace that is `wanted`, once its exporter (maybe another process's) sent it."""
    found: ReceivedSpan = wait_for(lambda: next((span for span in collector.spans(trace_id) if wanted(span)), None),
                                   timeout=30, what=what)
    return found


def parent(span: ReceivedSpan, collector: TraceCollector) -> ReceivedSpan:
    """The span's parent (a parent ends, and is exported, after its child)."""
    return exported(collector, span.trace_id, lambda other: other.span_id == span.parent_span_id,
                    f"the parent of {span.name}")


def child(span: ReceivedSpan, collector: TraceCollector) -> ReceivedSpan:
    return exported(collector, span.trace_id, lambda other: other.parent_span_id == span.span_id,
                    f"a child of {span.name}")


def test_a_request_is_one_trace_through_daprd_the_app_its_actor_and_its_event(
        service: Service, trace_collector: TraceCollector) -> None:
    customer = service.create_customer()
    log_file = service.stack.config.log_dir / "customer-service.log"
    offset = log_file.stat().st_size
    trace_id, traceparent = sampled_trace()
    response = service.api("PUT", f"/v1/customers/{customer['id']}", json={"profile": {"lastName": "Traced"}},
                           headers={"traceparent": traceparent})
    assert response.status_code == 200, response.text

    spans = spans_until(trace_collector, trace_id, "PUT /v1/customers/{customer_id}", "CustomerActor/update",
                        "CallActor/CustomerActor/update",
                        "PUT /actors/{actor_type_name}/{actor_id}/method/{method_name}",
                        "publish customers.profile.updated", "/v1.0/publish/pubsub/customers.profile.updated")
    # The caller's request enters through daprd's invocation, which the app's server span continues ...
    api = one(spans, "PUT /v1/customers/{customer_id}")
    assert (api.service, api.scope) == (SERVICE_ID, "opentelemetry.instrumentation.fastapi")
    assert parent(api, trace_collector).scope == DAPRD_SCOPE
    assert parent(api, trace_collector).name.startswith(f"CallLocal/{SERVICE_ID}/")
    assert parent(api, trace_collector).parent_span_id == traceparent.split("-")[2]
    # ... the API's actor call goes through daprd's actor API to the actor's turn ...
    actor_call = one(spans, "CustomerActor/update")
    assert parent(actor_call, trace_collector) == api
    daprd_actor_call = one(spans, "CallActor/CustomerActor/update")
    assert (daprd_actor_call.scope, parent(daprd_actor_call, trace_collector)) == (DAPRD_SCOPE, actor_call)
    turn = one(spans, "PUT /actors/{actor_type_name}/{actor_id}/method/{method_name}")
    assert parent(turn, trace_collector) == daprd_actor_call
    # ... which writes no Dapr state (PostgreSQL is the record) ...
    assert not [span for span in spans if span.name.endswith("/state")]
    # ... and the event its change wrote to the outbox is published in the trace of that turn.
    publish = one(spans, "publish customers.profile.updated")
    assert parent(publish, trace_collector) == turn
    daprd_publish = one(spans, "/v1.0/publish/pubsub/customers.profile.updated")
    assert parent(daprd_publish, trace_collector) == publish
    assert {span.service for span in spans} <= {SERVICE_ID, "event-recorder"}
    # A subscriber receives the event in that trace: daprd wrote its publish span's context into the CloudEvent.
    event = wait_for(lambda: next((e for e in service.cloud_events("customers.profile.updated")
                                   if e["data"]["data"]["customerId"] == customer["id"]), None),
                     what="the profile update's event")
    assert event["traceparent"] == f"00-{trace_id}-{daprd_publish.span_id}-01"

    logged = [json.loads(line) for line in log_file.read_text()[offset:].splitlines()]
    access = next(e for e in logged if e["logger"] == "customer-service.access" and e["method"] == "PUT"
                  and e["route"] == "/v1/customers/{customer_id}")
    assert access["trace_id"] == trace_id


def test_an_order_events_trace_goes_on_into_the_service(service: Service, trace_collector: TraceCollector) -> None:
    customer = service.create_customer()
    trace_id, traceparent = sampled_trace()
    service.publish("orders.order.completed", order_event(customer["id"]), headers={"traceparent": traceparent})

    spans = spans_until(trace_collector, trace_id, "CustomerActor/apply_order",
                        "PUT /actors/{actor_type_name}/{actor_id}/method/{method_name}")
    delivery = parent(one(spans, "CustomerActor/apply_order"), trace_collector)
    assert (delivery.scope, delivery.service) == ("opentelemetry.instrumentation.fastapi", SERVICE_ID)
    assert delivery.attributes["http.route"].startswith("/events/")
    assert parent(delivery, trace_collector).scope == DAPRD_SCOPE


def test_the_apps_spans_carry_no_query_string(service: Service, trace_collector: TraceCollector) -> None:
    email = f"traced-{uuid.uuid4().hex[:10]}@example.com"
    service.create_customer(email=email)
    trace_id, traceparent = sampled_trace()
    response = service.api("GET", "/v1/customers", params={"email": email}, headers={"traceparent": traceparent})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["customers"]) == 1

    search = one(spans_until(trace_collector, trace_id, "GET /v1/customers"), "GET /v1/customers")
    assert search.scope == "opentelemetry.instrumentation.fastapi"
    assert search.attributes["http.target"] == "/v1/customers"
    app_spans = [span for span in trace_collector.spans(trace_id) if span.scope != DAPRD_SCOPE]
    assert email.split("@")[0] not in json.dumps([span.attributes for span in app_spans])


def test_a_call_to_an_upstream_service_continues_the_trace(service: Service, trace_collector: TraceCollector) -> None:
    customer = service.create_customer()
    trace_id, traceparent = sampled_trace()
    response = service.api("GET", f"/v1/customers/{customer['id']}/orders/summary",
                           headers={"traceparent": traceparent})
    assert response.status_code == 200, response.text

    spans = spans_until(trace_collector, trace_id, "GET /v1/customers/{customer_id}/orders/summary",
                        "invoke order-service")
    invoke = one(spans, "invoke order-service")
    assert parent(invoke, trace_collector) == one(spans, "GET /v1/customers/{customer_id}/orders/summary")
    # Through customer-service's daprd to the Order Service's, whose span is its own service's.
    ours = child(invoke, trace_collector)
    assert (ours.scope, ours.service) == (DAPRD_SCOPE, SERVICE_ID)
    assert ours.name.startswith("CallLocal/order-service/")
    theirs = child(ours, trace_collector)
    assert (theirs.scope, theirs.service) == (DAPRD_SCOPE, "order-service")
