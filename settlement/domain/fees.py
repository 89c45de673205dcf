"""Service fees: tiered, cumulative by band, per side and trading method.

The exchange's fee schedule is configuration, not code: it is stored as JSON
(``schedule_to_dict`` / ``schedule_from_dict``), carries a version and the date
it takes effect, and ``DEFAULT_FEE_SCHEDULE`` is only the public example of
DOMAIN.md section 5.

How a fee is computed (``compute_fee``):

* **Cumulative by band**, like income-tax brackets: each band's rate applies only
  to the part of the price that falls inside that band. A price of 3,000万 and
  one fen pays the first band's rate on 3,000万 and the second band's rate on the
  one fen.
* **Exact, rounded once.** Every band's share is ``fen × rate`` computed exactly in
  ``Decimal``; the shares are summed exactly and the sum is rounded to whole fen
  **once, HALF_UP**. Rounding per band would let the total drift by up to one fen
  per band, and the quote shown to a party must equal what is charged.
* **Minimum per side.** Each side pays at least the method's minimum fee
  (bidding 3,600 yuan, negotiated 2,000 yuan by default), even when the
  cumulative fee is lower. For negotiated deals both sides use the same bands.
"""
from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any

from exchange.errors import CurrencyMismatchError, RuleViolationError, ValidationError
from exchange.money import DEFAULT_CURRENCY, MAX_FEN, Money

__all__ = [
    "DEFAULT_FEE_SCHEDULE",
    "DealMethod",
    "FeeBand",
    "FeeQuote",
    "FeeQuoteLine",
    "FeeSchedule",
    "FeeSide",
    "compute_fee",
    "quote_fee",
    "schedule_from_dict",
    "schedule_in_force",
    "schedule_to_dict",
]

#: 1万 yuan (ten thousand yuan) in fen; DOMAIN.md gives band limits in 万.
_WAN_FEN = 10_000 * 100
_INVALID = "invalid_fee_schedule"


class FeeSide(str, Enum):
    """Which party pays the fee."""

    SELLER = "seller"
    BUYER = "buyer"


class DealMethod(str, Enum):
    """How the deal was struck; decides the bands and the minimum fee."""

    BIDDING = "bidding"
    NEGOTIATED = "negotiated"


@dataclass(frozen=True, slots=True)
class FeeBand:
    """One band: the rate applies to the part of the price up to ``upper_fen``.

    ``upper_fen`` is the band's upper limit in fen (inclusive), ``None`` for the
    open-ended top band. ``rate`` is a fraction (``Decimal('0.0024')`` = 0.24 %).
    The band's lower limit is the previous band's upper limit.
    """

    upper_fen: int | None
    rate: Decimal


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A versioned fee schedule. Validated on construction (``invalid_fee_schedule``)."""

    version: str
    effective_from: date
    bidding_seller: tuple[FeeBand, ...]
    bidding_buyer: tuple[FeeBand, ...]
    negotiated_each_side: tuple[FeeBand, ...]
    min_bidding_fen: int
    min_negotiated_fen: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        _validate_schedule(self)

    def bands_for(self, side: FeeSide | str, method: DealMethod | str) -> tuple[FeeBand, ...]:
        """The bands one side pays on under one trading method."""
        side, method = _side(side), _method(method)
        if method is DealMethod.NEGOTIATED:
            return self.negotiated_each_side
        return self.bidding_seller if side is FeeSide.SELLER else self.bidding_buyer

    def minimum_for(self, method: DealMethod | str) -> Money:
        """The minimum fee each side pays under ``method``."""
        fen = self.min_bidding_fen if _method(method) is DealMethod.BIDDING else self.min_negotiated_fen
        return Money(fen, self.currency)


@dataclass(frozen=True, slots=True)
class FeeQuoteLine:
    """One band's share of a fee, for display.

    ``exact_fen`` is the unrounded share; ``fee`` is that share rounded HALF_UP for
    display only. The charged fee is the *sum of the exact shares* rounded once,
    so the displayed line fees may differ from the total by a fen.
    """

    lower_fen: int
    upper_fen: int | None
    rate: Decimal
    base: Money
    exact_fen: Decimal
    fee: Money


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """A fee with its per-band breakdown and whether the minimum decided it."""

    schedule_version: str
    side: FeeSide
    method: DealMethod
    price: Money
    lines: tuple[FeeQuoteLine, ...]
    cumulative: Money
    minimum: Money
    fee: Money

    @property
    def minimum_applied(self) -> bool:
        """True when the minimum fee, not the bands, set the fee."""
        return self.minimum > self.cumulative


def quote_fee(
    schedule: FeeSchedule, price: Money, side: FeeSide | str, method: DealMethod | str
) -> FeeQuote:
    """The fee one side pays on ``price``, with the per-band breakdown.

    Raises ``ValidationError`` ``invalid_amount`` for a negative price and
    ``CurrencyMismatchError`` when the price is not in the schedule's currency.
    """
    side, method = _side(side), _method(method)
    if not isinstance(price, Money):
        raise TypeError("price is Money")
    if price.currency != schedule.currency:
        raise CurrencyMismatchError(
            "The fee schedule is in %(schedule)s, the price in %(price)s.",
            params={"schedule": schedule.currency, "price": price.currency}, field="price",
        )
    if price.fen < 0:
        raise ValidationError("A price cannot be negative.", code="invalid_amount", field="price")

    lines: list[FeeQuoteLine] = []
    total = Decimal(0)
    lower = 0
    # Enough precision that fen (< 10**17) times a rate is never rounded by the context.
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        for band in schedule.bands_for(side, method):
            if price.fen <= lower:
                break
            top = price.fen if band.upper_fen is None else min(price.fen, band.upper_fen)
            portion = top - lower
            exact = Decimal(portion) * band.rate
            total += exact
            lines.append(
                FeeQuoteLine(
                    lower_fen=lower,
                    upper_fen=band.upper_fen,
                    rate=band.rate,
                    base=Money(portion, price.currency),
                    exact_fen=exact,
                    fee=Money(_round_fen(exact), price.currency),
                )
            )
            if band.upper_fen is None:
                break
            lower = band.upper_fen
        cumulative = Money(_round_fen(total), price.currency)
    minimum = schedule.minimum_for(method)
    return FeeQuote(
        schedule_version=schedule.version,
        side=side,
        method=method,
        price=price,
        lines=tuple(lines),
        cumulative=cumulative,
        minimum=minimum,
        fee=max(cumulative, minimum),
    )


def compute_fee(
    schedule: FeeSchedule, price: Money, side: FeeSide | str, method: DealMethod | str
) -> Money:
    """The fee one side pays on ``price``: cumulative by band, rounded once HALF_UP, at least the minimum."""
    return quote_fee(schedule, price, side, method).fee


def _round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def schedule_in_force(schedules: Iterable[FeeSchedule], on: date) -> FeeSchedule:
    """The schedule that applies on ``on``: the latest ``effective_from`` not after it.

    Raises ``RuleViolationError`` ``no_fee_schedule`` when none has taken effect yet.
    """
    candidates = [s for s in schedules if s.effective_from <= on]
    if not candidates:
        raise RuleViolationError("No fee schedule is in force on %(date)s.", params={"date": on.isoformat()},
                                 code="no_fee_schedule")
    return max(candidates, key=lambda s: (s.effective_from, s.version))


# -- configuration as JSON ------------------------------------------------------

_BAND_KEYS = ("bidding_seller", "bidding_buyer", "negotiated_each_side")


def schedule_to_dict(schedule: FeeSchedule) -> dict[str, Any]:
    """A JSON-ready dict. Rates are strings (never floats) so they round-trip exactly."""
    out: dict[str, Any] = {
        "version": schedule.version,
        "effective_from": schedule.effective_from.isoformat(),
        "currency": schedule.currency,
        "min_bidding_fen": schedule.min_bidding_fen,
        "min_negotiated_fen": schedule.min_negotiated_fen,
    }
    for key in _BAND_KEYS:
        out[key] = [{"upper_fen": b.upper_fen, "rate": str(b.rate)} for b in getattr(schedule, key)]
    return out


def schedule_from_dict(data: Mapping[str, Any]) -> FeeSchedule:
    """Parse and validate a stored schedule. Any defect raises ``ValidationError`` ``invalid_fee_schedule``."""
    if not isinstance(data, Mapping):
        raise _bad("A fee schedule is a JSON object.")
    missing = [k for k in ("version", "effective_from", *_BAND_KEYS, "min_bidding_fen", "min_negotiated_fen")
               if k not in data]
    if missing:
        raise _bad(f"Missing keys: {', '.join(missing)}.", details={"missing": missing})
    raw_date = data["effective_from"]
    if isinstance(raw_date, datetime) or not isinstance(raw_date, (str, date)):
        raise _bad("effective_from is an ISO date (YYYY-MM-DD).", field="effective_from")
    if isinstance(raw_date, str):
        try:
            raw_date = date.fromisoformat(raw_date)
        except ValueError:
            raise _bad("effective_from is an ISO date (YYYY-MM-DD).", field="effective_from") from None
    bands = {key: _parse_bands(data[key], key) for key in _BAND_KEYS}
    return FeeSchedule(
        version=data["version"],
        effective_from=raw_date,
        bidding_seller=bands["bidding_seller"],
        bidding_buyer=bands["bidding_buyer"],
        negotiated_each_side=bands["negotiated_each_side"],
        min_bidding_fen=data["min_bidding_fen"],
        min_negotiated_fen=data["min_negotiated_fen"],
        currency=data.get("currency", DEFAULT_CURRENCY),
    )


def _parse_bands(raw: Any, key: str) -> tuple[FeeBand, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise _bad(f"{key} is a list of bands.", field=key)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or set(item) - {"upper_fen", "rate"} or "rate" not in item:
            raise _bad(f"{key}[{i}] is an object with upper_fen and rate.", field=key)
        r = item["rate"]
        # Floats cannot hold 0.0024 exactly; a fee schedule must say its rates as text.
        if isinstance(r, (float, bool)) or not isinstance(r, (str, int, Decimal)):
            raise _bad(f"{key}[{i}].rate must be a decimal string such as \"0.0024\".", field=key)
        try:
            rate_value = Decimal(str(r))
        except decimal.InvalidOperation:
            raise _bad(f"{key}[{i}].rate is not a number.", field=key) from None
        out.append(FeeBand(item.get("upper_fen"), rate_value))
    return tuple(out)


def _validate_schedule(s: FeeSchedule) -> None:
    if not isinstance(s.version, str) or not s.version.strip():
        raise _bad("A fee schedule needs a version.", field="version")
    if isinstance(s.effective_from, datetime) or not isinstance(s.effective_from, date):
        raise _bad("effective_from is a date.", field="effective_from")
    if not isinstance(s.currency, str) or len(s.currency) != 3 or not s.currency.isupper():
        raise _bad("currency is an ISO 4217 code.", field="currency")
    for key in ("min_bidding_fen", "min_negotiated_fen"):
        v = getattr(s, key)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < MAX_FEN:
            raise _bad(f"{key} is a whole, non-negative number of fen.", field=key)
    for key in _BAND_KEYS:
        _validate_bands(getattr(s, key), key)


def _validate_bands(bands: Any, key: str) -> None:
    if not isinstance(bands, tuple) or not bands:
        raise _bad(f"{key} needs at least one band.", field=key)
    previous = 0
    for i, band in enumerate(bands):
        if not isinstance(band, FeeBand):
            raise _bad(f"{key}[{i}] is not a FeeBand.", field=key)
        last = i == len(bands) - 1
        if band.upper_fen is None:
            if not last:
                raise _bad(f"Only the last band of {key} may be open-ended.", field=key)
        else:
            if last:
                raise _bad(f"The last band of {key} must be open-ended (upper_fen null).", field=key)
            if isinstance(band.upper_fen, bool) or not isinstance(band.upper_fen, int):
                raise _bad(f"{key}[{i}].upper_fen is a whole number of fen.", field=key)
            if band.upper_fen <= previous or band.upper_fen >= MAX_FEN:
                raise _bad(f"The bands of {key} must have strictly ascending upper limits.", field=key)
            previous = band.upper_fen
        if not isinstance(band.rate, Decimal) or not band.rate.is_finite() or not 0 <= band.rate <= 1:
            raise _bad(f"{key}[{i}].rate must be a fraction between 0 and 1.", field=key)


def _bad(message: str, *, field: str | None = None, details: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError(message, code=_INVALID, field=field, details=details)


def _side(value: FeeSide | str) -> FeeSide:
    try:
        return FeeSide(value)
    except ValueError:
        raise ValidationError("Unknown fee side %(value)r.", params={"value": value}, code="invalid_fee_side",
                              field="side") from None


def _method(value: DealMethod | str) -> DealMethod:
    try:
        return DealMethod(value)
    except ValueError:
        raise ValidationError(
            "Unknown trading method %(value)r.", params={"value": value}, code="invalid_deal_method", field="method"
        ) from None


# -- the public example -----------------------------------------------------------


def _bands(*pairs: tuple[int | None, str]) -> tuple[FeeBand, ...]:
    """Bands from (upper limit in 万 yuan, rate in percent) pairs, converted exactly."""
    return tuple(
        FeeBand(None if upper is None else upper * _WAN_FEN, Decimal(pct) / 100) for upper, pct in pairs
    )


#: The public example schedule of DOMAIN.md section 5 (limits in 万 yuan, rates in percent).
DEFAULT_FEE_SCHEDULE = FeeSchedule(
    version="domain-example-1",
    effective_from=date(2024, 1, 1),
    bidding_seller=_bands((3_000, "0.24"), (6_000, "0.2"), (10_000, "0.15"), (50_000, "0.07"), (None, "0.03")),
    bidding_buyer=_bands((3_000, "3.2"), (6_000, "2.4"), (10_000, "1.4"), (50_000, "0.6"), (None, "0.3")),
    negotiated_each_side=_bands(
        (3_000, "0.24"), (6_000, "0.2"), (10_000, "0.15"), (50_000, "0.07"), (None, "0.03")
    ),
    min_bidding_fen=3_600 * 100,
    min_negotiated_fen=2_000 * 100,
)
