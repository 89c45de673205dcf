"""Valuation (确价): cost, income and market methods, and the reference band.

Each result keeps its inputs so an appraisal can be shown and re-run. All
arithmetic is Decimal on fen; the one rounding (half up, to whole fen) happens
at the end so intermediate steps lose nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from exchange.errors import ValidationError
from exchange.money import Money

from ._dates import add_years
from .enums import ValuationMethod

#: Below this many comparable deals a market value is shown but flagged as not sufficient.
DEFAULT_MIN_COMPARABLES = 3

_INVALID = "invalid_valuation_input"


def _invalid(message: str, field: str | None = None) -> ValidationError:
    return ValidationError(message, code=_INVALID, field=field)


def _to_fen(amount: Decimal, currency: str) -> Money:
    return Money(int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)), currency)


# -- cost method ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostValuation:
    """Replacement cost less physical, functional and economic depreciation, floored at zero."""

    replacement_cost: Money
    physical_depreciation: Money
    functional_depreciation: Money
    economic_depreciation: Money
    value: Money
    method: ValuationMethod = ValuationMethod.COST


def cost_method(
    replacement_cost: Money,
    physical_depreciation: Money | None = None,
    functional_depreciation: Money | None = None,
    economic_depreciation: Money | None = None,
) -> CostValuation:
    """Value by the cost method. Amounts must be non-negative and in one currency."""
    zero = Money.zero(replacement_cost.currency)
    parts = [physical_depreciation or zero, functional_depreciation or zero, economic_depreciation or zero]
    for amount in (replacement_cost, *parts):
        if amount.fen < 0:
            raise _invalid("Cost and depreciation amounts cannot be negative.")
    value = replacement_cost - parts[0] - parts[1] - parts[2]  # raises on mixed currencies
    # Depreciation can exceed the cost of an obsolete technology; its cost value is then nil, not negative.
    return CostValuation(
        replacement_cost=replacement_cost,
        physical_depreciation=parts[0],
        functional_depreciation=parts[1],
        economic_depreciation=parts[2],
        value=max(value, zero),
    )


# -- income method -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncomeValuation:
    """Discounted royalty share of projected yearly revenue over the usable horizon."""

    yearly_revenue: tuple[Money, ...]
    royalty_share: Decimal
    discount_rate: Decimal
    economic_life_years: Decimal
    remaining_term_years: Decimal
    #: min(economic life, remaining term): the years actually counted.
    horizon_years: Decimal
    #: "remaining_term" or "economic_life": which bound set the horizon.
    limited_by: str
    value: Money
    method: ValuationMethod = ValuationMethod.INCOME


def remaining_term_years(valuation_date: date, expiry: date) -> Decimal:
    """Years from ``valuation_date`` to the end of ``expiry`` (inclusive), with the part year as a fraction.

    Whole years are counted by anniversaries; the rest as days over the length
    of the year that holds them, quantised to four places (rounded down so the
    horizon never exceeds the term).
    """
    end = expiry + timedelta(days=1)  # the first day out of force
    if end <= valuation_date:
        return Decimal(0)
    years = 0
    while add_years(valuation_date, years + 1) <= end:
        years += 1
    start = add_years(valuation_date, years)
    span = (add_years(valuation_date, years + 1) - start).days
    fraction = Decimal((end - start).days) / Decimal(span)
    return Decimal(years) + fraction.quantize(Decimal("0.0001"), rounding=ROUND_DOWN)


def income_method(
    yearly_revenue: Sequence[Money],
    royalty_share: Decimal,
    discount_rate: Decimal,
    economic_life_years: int | Decimal,
    remaining_term_years: int | Decimal,
) -> IncomeValuation:
    """Value by the income method.

    ``yearly_revenue[0]`` is the first year after the valuation date. Each
    year's royalty (revenue × share) is discounted at end of year,
    ``/ (1 + rate) ** t``. Only years within ``min(economic life, remaining
    term)`` count, because nobody pays royalties for a right that has run out;
    a final part year counts pro rata. Years beyond the projection contribute
    nothing: the method never invents revenue.
    """
    if not yearly_revenue:
        raise _invalid("The income method needs at least one year of projected revenue.", "yearly_revenue")
    currency = yearly_revenue[0].currency
    if any(r.currency != currency for r in yearly_revenue):
        raise _invalid("Projected revenues must be in one currency.", "yearly_revenue")
    if any(r.fen < 0 for r in yearly_revenue):
        raise _invalid("Projected revenue cannot be negative.", "yearly_revenue")
    if not isinstance(royalty_share, Decimal) or not Decimal(0) < royalty_share <= Decimal(1):
        raise _invalid("The royalty share is a Decimal between 0 (excluded) and 1.", "royalty_share")
    if not isinstance(discount_rate, Decimal) or discount_rate < 0:
        raise _invalid("The discount rate is a non-negative Decimal.", "discount_rate")
    if isinstance(economic_life_years, float) or isinstance(remaining_term_years, float):
        raise _invalid("Years are int or Decimal, never float.")
    life, term = Decimal(economic_life_years), Decimal(remaining_term_years)
    if life < 0 or term < 0:
        raise _invalid("Economic life and remaining term cannot be negative.")

    horizon = min(life, term)
    limited_by = "remaining_term" if term <= life else "economic_life"
    total = Decimal(0)
    factor = Decimal(1) + discount_rate
    years = int(horizon.to_integral_value(rounding=ROUND_CEILING))
    for t, revenue in enumerate(yearly_revenue[:years], start=1):
        fraction = min(Decimal(1), horizon - (t - 1))
        total += Decimal(revenue.fen) * royalty_share * fraction / factor**t
    return IncomeValuation(
        yearly_revenue=tuple(yearly_revenue),
        royalty_share=royalty_share,
        discount_rate=discount_rate,
        economic_life_years=life,
        remaining_term_years=term,
        horizon_years=horizon,
        limited_by=limited_by,
        value=_to_fen(total, currency),
    )


# -- market method ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketValuation:
    """Comparable completed deals summarised as median and range."""

    comparables: tuple[Money, ...]
    median: Money | None
    low: Money | None
    high: Money | None
    sufficient: bool
    message: str
    method: ValuationMethod = ValuationMethod.MARKET

    @property
    def count(self) -> int:
        return len(self.comparables)


def market_method(comparables: Sequence[Money], min_comparables: int = DEFAULT_MIN_COMPARABLES) -> MarketValuation:
    """Summarise comparable deal prices; ``sufficient`` is False below ``min_comparables``."""
    prices = tuple(comparables)
    if any(p.fen <= 0 for p in prices):
        raise _invalid("Comparable deal prices must be positive.", "comparables")
    if prices and any(p.currency != prices[0].currency for p in prices):
        raise _invalid("Comparable deal prices must be in one currency.", "comparables")
    if not prices:
        return MarketValuation((), None, None, None, False, "No comparable deals: the market method cannot be used.")
    ordered = sorted(prices, key=lambda p: p.fen)
    n, currency = len(ordered), ordered[0].currency
    mid = n // 2
    if n % 2:
        median = ordered[mid]
    else:
        median = _to_fen((Decimal(ordered[mid - 1].fen) + Decimal(ordered[mid].fen)) / 2, currency)
    sufficient = n >= min_comparables
    message = (
        f"Median of {n} comparable deals."
        if sufficient
        else f"Only {n} comparable deal(s); at least {min_comparables} are needed for a reliable market value."
    )
    return MarketValuation(prices, median, ordered[0], ordered[-1], sufficient, message)


# -- reference band -----------------------------------------------------------------------------


class ReferenceBand(NamedTuple):
    """The price range the valuations support: ``low`` ≤ ``high``."""

    low: Money
    high: Money


def _amount(v: Money | CostValuation | IncomeValuation | None) -> Money | None:
    if v is None or isinstance(v, Money):
        return v
    return v.value


def reference_band(
    cost: Money | CostValuation | None,
    income: Money | IncomeValuation | None,
    market: MarketValuation | None = None,
) -> ReferenceBand:
    """The reference price band: the cost value is the seller's floor, the income value the ceiling.

    A missing end is taken from a *sufficient* market valuation (its lowest or
    highest comparable); failing that, from the other end, giving a one-point
    band. If the cost exceeds the income value the ends are swapped, so
    ``low <= high`` always holds and the operator still sees both numbers.
    Raises ``ValidationError`` ``no_valuation`` when nothing usable is given.
    """
    floor, ceiling = _amount(cost), _amount(income)
    usable_market = market if market is not None and market.sufficient else None
    if floor is None and usable_market is not None:
        floor = usable_market.low
    if ceiling is None and usable_market is not None:
        ceiling = usable_market.high
    if floor is None and ceiling is None:
        raise ValidationError("No usable valuation to derive a reference band from.", code="no_valuation")
    low = floor if floor is not None else ceiling
    high = ceiling if ceiling is not None else floor
    assert low is not None and high is not None
    return ReferenceBand(low, high) if low <= high else ReferenceBand(high, low)
