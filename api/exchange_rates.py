"""Exchange rates (admin): what one unit of a currency is worth in USD, the spec's threshold currency.

Orders in a currency count toward totalSpent and the tiers at its rate (domain/orders.py); orders that
arrived before their currency had a rate are counted by the next maintenance sweep
(SEGMENT_UPDATE_INTERVAL). Setting a rate again changes what later orders count at, never earlier ones.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.access import Admin
from api.dependencies import Policy, Rates
from api.schemas import ERRORS, Envelope, ExchangeRateData, ExchangeRateIn, ExchangeRatesData, envelope
from domain.orders import ExchangeRate

router = APIRouter(prefix="/v1/exchange-rates", tags=["exchange rates"])

# Any ISO 4217 code but USD, which is what rates convert to.
Currency = Annotated[str, Path(pattern=r"^(?:[A-TV-Z][A-Z]{2}|U[A-RT-Z][A-Z]|US[A-CE-Z])$",
                               description="ISO 4217 code, upper case, not USD")]


@router.get("", response_model=Envelope[ExchangeRatesData], responses=ERRORS,
            summary="Every exchange rate, with who set it and when (admin)")
async def list_rates(_: Admin, rates: Rates) -> dict[str, Any]:
    return envelope({"exchangeRates": [r.to_dict() for r in await rates.recorded()]})


@router.put("/{currency}", response_model=Envelope[ExchangeRateData], responses=ERRORS,
            summary="Set what one unit of a currency is worth in USD (admin)")
async def set_rate(admin: Admin, currency: Currency, body: ExchangeRateIn, rates: Rates,
                   policy: Policy) -> dict[str, Any]:
    recorded = await rates.set(rate=ExchangeRate(currency, Decimal(body.usdPerUnit), body.effectiveDate),
                               set_by=admin.subject, at=policy.clock.now())
    return envelope({"exchangeRate": recorded.to_dict()})
