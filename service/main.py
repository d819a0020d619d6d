"""The ASGI app: the REST API, the CustomerActor host, and the event subscriptions in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import prometheus_client
from dapr.actor import ActorRuntime
from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from actors.customer_actor import CustomerActor, actor_factory
from actors.interface import ACTOR_TYPE
from actors.serialization import PlainJSONSerializer
from actors.sidecar import PooledActorSidecar
from api import openapi
from api.access import unguarded_routes
from api.actor_calls import ActorMethodCalls
from api.boundary import DaprBoundary
from api.errors import install_error_handlers
from api.middleware import RequestContextMiddleware
from api.observability import RequestMetrics
from api.routes import ROUTERS
from service.bootstrap import bootstrap
from service.maintenance import Maintenance
from service.relay import OutboxRelay
from service.retention import Retention, RetentionPolicy
from service.settings import Settings, get_settings
from service.workers import supervise
from subscriptions.handlers import BULK_MAX_MESSAGES, DELIVERY_PREFIX, DeadLetters, register_subscriptions
from telemetry import logs, tracing

log = logging.getLogger("customer-service")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    tracer_provider = tracing.configure(service_name=settings.service_name,
                                        otlp_endpoint=settings.otel_exporter_otlp_endpoint)
    ActorRuntime.set_actor_config(ActorRuntimeConfig(actor_idle_timeout=timedelta(seconds=settings.actor_idle_timeout)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _serve_metrics(settings)
        container = await bootstrap(settings)
        app.state.services = container.api
        app.state.dead_letters = DeadLetters(container.publisher, settings.clock, source=settings.service_name)
        serializer = PlainJSONSerializer()
        await actor_host.register_actor(CustomerActor, message_serializer=serializer, state_serializer=serializer,
                                        actor_factory=actor_factory(container.actor),
                                        actor_client=PooledActorSidecar(container.http, settings.dapr_url))
        await container.store.ensure_activity_partitions(settings.clock.now())
        relay = OutboxRelay(container.outbox, container.publisher)
        retention = Retention(container.store, container.outbox, container.event_copies, settings.clock,
                              RetentionPolicy(outbox=timedelta(days=settings.outbox_retention_days),
                                              processed_events=timedelta(days=settings.processed_events_retention_days),
                                              dead_letters=timedelta(days=settings.dead_letter_retention_days),
                                              activities=timedelta(days=settings.activity_retention_days)))
        maintenance = Maintenance(container.store, container.actor.read_models, retention, container.actors,
                                  settings.clock, interval_seconds=settings.segment_update_interval)
        workers = [asyncio.create_task(supervise("outbox-relay", relay.run)),
                   asyncio.create_task(supervise("maintenance", maintenance.run)),
                   asyncio.create_task(supervise("view-cache-repair", container.api.cache.repair_forever))]
        if settings.database_read_url:
            workers.append(asyncio.create_task(supervise("read-replica-monitor", container.replica.monitor_forever)))
        log.info("customer-service ready on %s:%d", settings.service_host, settings.service_port)
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await container.close()
            if tracer_provider is not None:
                tracer_provider.shutdown()  # exports the spans still batched

    # No trailing-slash redirects: behind daprd a redirect would name the app's own loopback address.
    app = FastAPI(title="customer-service", version="1.0.0", lifespan=lifespan, redirect_slashes=False,
                  description="The e-commerce platform's single source of truth for customers.",
                  telemetry=tracing.FASTAPI_NATIVE_TELEMETRY_OFF)
    # Added first, so it runs last, inside every other layer: daprd's actor method calls (api/actor_calls.py).
    app.add_middleware(ActorMethodCalls)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       delivery_prefix=DELIVERY_PREFIX, max_delivery_bytes=settings.max_body_bytes * BULK_MAX_MESSAGES)
    app.add_middleware(RequestMetrics)
    # Added last, so it runs first: nothing else sees a Dapr-facing request without the app token.
    app.add_middleware(DaprBoundary, app_token=settings.app_api_token, app_id=settings.service_name,
                       actor_types=frozenset({ACTOR_TYPE}))
    install_error_handlers(app, [route for router in ROUTERS for route in router.routes])
    tracing.instrument(app, tracer_provider)
    actor_host = DaprActor(app)
    if unguarded := unguarded_routes(ROUTERS):
        raise RuntimeError(f"routes without an access dependency: {unguarded}")
    for router in ROUTERS:
        app.include_router(router)
    register_subscriptions(app, settings.pubsub_name, actors=lambda: app.state.services.actors,
                           dead_letters=lambda: app.state.dead_letters)
    _serve_the_document(app, settings)
    return app


def _serve_metrics(settings: Settings) -> None:
    """Prometheus metrics on their own port (a thread of the process), not through the API or daprd."""
    if settings.metrics_port == 0:
        return
    try:
        prometheus_client.start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError:
        log.exception("metrics not served: %s:%d is taken", settings.metrics_host, settings.metrics_port)


def _serve_the_document(app: FastAPI, settings: Settings) -> None:
    """The OpenAPI document of the public API, completed once (api/openapi.py)."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi.complete(generate(), password_min_length=settings.password_min_length)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]

