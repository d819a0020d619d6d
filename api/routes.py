"""Every router of the REST API, in the order the app includes them."""

from __future__ import annotations

from fastapi import APIRouter

from api import (
    activities,
    addresses,
    analytics,
    credentials,
    customers,
    email_verification,
    exchange_rates,
    health,
    lifecycle,
    notes,
    password_reset,
    search,
    segments,
    tags,
)

# Fixed paths before customers: /v1/customers/segments is not a customer id.
ROUTERS: tuple[APIRouter, ...] = (health.router, credentials.router, password_reset.router, email_verification.router,
                                  segments.router, search.router, customers.router, lifecycle.router, addresses.router,
                                  analytics.router, activities.router, tags.router, notes.router,
                                  exchange_rates.router)
