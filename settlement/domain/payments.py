"""Payment plans, the amount a buyer owes, and matching what arrives against it.

DOMAIN.md section 5: the buyer pays the price less its applied deposit, plus its
service fee, either as a lump sum within 5 working days of the contract taking
effect, or in instalments with at least 30 % down and the rest within one year.
Working days come from the business calendar, which this pure module does not
import: callers pass the calendar's ``add_working_days`` function.
"""
from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from enum import Enum

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import Money

__all__ = [
    "DEFAULT_LUMP_SUM_WORKING_DAYS",
    "DEFAULT_MIN_DOWN_RATIO",
    "DEFAULT_MAX_INSTALMENT_MONTHS",
    "Instalment",
    "PaymentMatch",
    "PaymentPlanKind",
    "add_months",
    "amount_due",
    "build_instalment_schedule",
    "deposit_surplus",
    "instalment_limit",
    "lump_sum_due",
    "match_payment",
    "payment_difference",
]

#: Lump sum: due this many working days after the contract takes effect.
DEFAULT_LUMP_SUM_WORKING_DAYS = 5
#: Instalments: the down payment is at least this share of the total.
DEFAULT_MIN_DOWN_RATIO = Decimal("0.30")
#: Instalments: everything is due within this many months of the contract taking effect.
DEFAULT_MAX_INSTALMENT_MONTHS = 12


class PaymentPlanKind(str, Enum):
    LUMP_SUM = "lump_sum"
    INSTALMENTS = "instalments"


@dataclass(frozen=True, slots=True)
class Instalment:
    """One payment of a plan. ``seq`` starts at 1; instalment 1 is the down payment."""

    seq: int
    due_date: date
    amount: Money


def lump_sum_due(
    effective_on: date,
    add_working_days: Callable[[date, int], date],
    *,
    working_days: int = DEFAULT_LUMP_SUM_WORKING_DAYS,
) -> date:
    """The lump-sum deadline: ``working_days`` working days after the contract takes effect."""
    return add_working_days(effective_on, working_days)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; a day the target month lacks becomes its last day (Jan 31 + 1 → Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalment_limit(effective_on: date, *, months: int = DEFAULT_MAX_INSTALMENT_MONTHS) -> date:
    """The last day an instalment may fall due: one year (by default) after the contract takes effect."""
    return add_months(effective_on, months)


def build_instalment_schedule(
    total: Money,
    down_ratio: Decimal,
    count: int,
    first_due: date,
    final_due_limit: date,
    *,
    min_down_ratio: Decimal = DEFAULT_MIN_DOWN_RATIO,
    interval_months: int = 1,
    due_dates: Sequence[date] | None = None,
) -> list[Instalment]:
    """Split ``total`` into ``count`` instalments, the first being the down payment.

    * The down payment is ``total × down_ratio`` rounded **up** to the fen, so it is
      never below the ratio; ``down_ratio`` under ``min_down_ratio`` raises
      ``down_payment_too_low``.
    * The rest is split equally over the other ``count − 1`` instalments; the
      remainder fen go to the last one, so the amounts sum to ``total`` exactly.
    * Instalment 1 is due on ``first_due``; the others every ``interval_months``
      after it, or on the explicit ``due_dates`` (one per later instalment,
      strictly increasing). Any date after ``final_due_limit`` raises
      ``instalments_beyond_one_year``.
    * ``invalid_instalments``: fewer than two instalments, a down ratio of 100 %
      or more (that is a lump sum), an instalment that would be zero, or bad dates.
    """
    if not isinstance(total, Money):
        raise TypeError("total is Money")
    if total.fen <= 0:
        raise ValidationError("The total must be more than zero.", code="invalid_amount", field="total")
    if not isinstance(down_ratio, Decimal) or not down_ratio.is_finite():
        raise TypeError("down_ratio is a finite Decimal")
    if down_ratio < min_down_ratio:
        raise ValidationError(
            "The down payment must be at least %(pct)s of the total.",
            params={"pct": f"{(min_down_ratio * 100).normalize():f}%"},
            code="down_payment_too_low", field="down_ratio",
            details={"min_down_ratio": str(min_down_ratio)},
        )
    if down_ratio >= 1:
        raise _invalid("A down payment of the whole amount is a lump sum, not instalments.", "down_ratio")
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise _invalid("An instalment plan has at least two payments.", "count")
    if isinstance(interval_months, bool) or not isinstance(interval_months, int) or interval_months < 1:
        raise _invalid("Instalments are at least one month apart.", "interval_months")

    dates = _due_dates(count, first_due, interval_months, due_dates)
    late = [d for d in dates if d > final_due_limit]
    if late:
        raise ValidationError(
            "Every instalment must fall due by %(date)s.", params={"date": final_due_limit.isoformat()},
            code="instalments_beyond_one_year", field="count",
            details={"final_due_limit": final_due_limit.isoformat(), "latest_due": late[-1].isoformat()},
        )

    down = total.apply_rate(down_ratio, ROUND_CEILING)
    rest = total.fen - down.fen
    later = count - 1
    if rest < later:
        raise _invalid("Too many instalments for the amount: one would be zero.", "count")
    each, remainder = divmod(rest, later)
    amounts = [down.fen] + [each] * later
    amounts[-1] += remainder
    return [Instalment(i + 1, d, Money(fen, total.currency)) for i, (d, fen) in enumerate(zip(dates, amounts))]


def _due_dates(count: int, first_due: date, interval_months: int, explicit: Sequence[date] | None) -> list[date]:
    if explicit is None:
        return [add_months(first_due, interval_months * i) for i in range(count)]
    dates = [first_due, *explicit]
    if len(dates) != count:
        raise _invalid(f"Give one due date for each of the {count - 1} instalments after the down payment.",
                       "due_dates")
    if any(b <= a for a, b in zip(dates, dates[1:])):
        raise _invalid("Due dates must be strictly increasing, after the down payment.", "due_dates")
    return dates


def _invalid(message: str, field: str) -> ValidationError:
    return ValidationError(message, code="invalid_instalments", field=field)


def _balance(price: Money, applied_deposit: Money, buyer_fee: Money) -> Money:
    for name, m in (("price", price), ("applied_deposit", applied_deposit), ("buyer_fee", buyer_fee)):
        if not isinstance(m, Money):
            raise TypeError(f"{name} is Money")
        if m.fen < 0:
            raise ValidationError(f"{name} cannot be negative.", code="invalid_amount", field=name)
    return price - applied_deposit + buyer_fee


def amount_due(price: Money, applied_deposit: Money, buyer_fee: Money) -> Money:
    """What the buyer still has to pay: price − applied deposit + buyer fee, never below zero.

    When the deposit exceeds price plus fee the buyer owes nothing and the excess
    is refunded (``deposit_surplus``).
    """
    return max(_balance(price, applied_deposit, buyer_fee), Money.zero(price.currency))


def deposit_surplus(price: Money, applied_deposit: Money, buyer_fee: Money) -> Money:
    """The part of the applied deposit beyond price plus fee, to be refunded (zero usually)."""
    return max(-_balance(price, applied_deposit, buyer_fee), Money.zero(price.currency))


class PaymentMatch(str, Enum):
    """How a received payment compares with what was expected.

    A payment is always recorded for the amount actually received; a short or
    over payment is flagged for an operator, never adjusted silently.
    """

    EXACT = "exact"
    SHORT = "short"
    OVER = "over"


def payment_difference(expected: Money, received: Money) -> Money:
    """``received − expected``: negative when short, positive when over."""
    if not isinstance(expected, Money) or not isinstance(received, Money):
        raise TypeError("amounts are Money")
    if expected.currency != received.currency:
        raise CurrencyMismatchError("Expected %(expected)s, received %(received)s.",
                                    params={"expected": expected.currency, "received": received.currency},
                                    field="received")
    if expected.fen < 0 or received.fen < 0:
        raise ValidationError("Payment amounts cannot be negative.", code="invalid_amount")
    return received - expected


def match_payment(expected: Money, received: Money) -> PaymentMatch:
    """Compare a received payment with the amount expected (same currency required)."""
    diff = payment_difference(expected, received).fen
    if diff == 0:
        return PaymentMatch.EXACT
    return PaymentMatch.SHORT if diff < 0 else PaymentMatch.OVER
