"""Pricing rules: appraisal validity, listing price against the appraisal, deposit and increment."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from exchange.errors import CurrencyMismatchError, RuleViolationError, ValidationError
from exchange.money import Money

from ._dates import add_years

#: A filed appraisal report (评估报告) is valid for one year from its reference date.
DEFAULT_APPRAISAL_VALIDITY_YEARS = 1
#: Relisting below this share of the appraised value needs a recorded approval.
DEFAULT_RELIST_APPROVAL_RATIO = Decimal("0.90")
#: The deposit (交易保证金) is at most this share of the listing price.
DEFAULT_MAX_DEPOSIT_RATIO = Decimal("0.30")


def _same_currency(a: Money, b: Money) -> None:
    # Exact comparisons below work on raw fen, so the currency check Money would do is done here.
    if a.currency != b.currency:
        raise CurrencyMismatchError("Cannot compare %(a)s and %(b)s.", params={"a": a.currency, "b": b.currency})


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"


def appraisal_expiry(report_date: date, validity_years: int = DEFAULT_APPRAISAL_VALIDITY_YEARS) -> date:
    """The last day an appraisal may be relied on: the day before its anniversary."""
    return add_years(report_date, validity_years) - timedelta(days=1)


def appraisal_valid(
    report_date: date, today: date, validity_years: int = DEFAULT_APPRAISAL_VALIDITY_YEARS
) -> bool:
    """Whether an appraisal dated ``report_date`` may still be used on ``today``.

    A report dated in the future is not valid: it cannot have been filed yet.
    """
    return report_date <= today <= appraisal_expiry(report_date, validity_years)


def check_listing_price(
    price: Money,
    appraisal_value: Money | None,
    appraisal_required: bool,
    relist_attempt: int,
    approved_below_90: bool,
    *,
    relist_approval_ratio: Decimal = DEFAULT_RELIST_APPROVAL_RATIO,
) -> None:
    """Check a listing price against the appraisal.

    ``relist_attempt`` is 0 for the first listing and counts relistings after
    unsold rounds. Only state-owned and public-institution sellers must follow
    the appraisal (``appraisal_required``); for others it is advisory.

    Codes: ``invalid_price`` (ValidationError), ``appraisal_missing``,
    ``price_below_appraisal``, ``relist_below_90_needs_approval`` (RuleViolationError).
    """
    if price.fen <= 0:
        raise ValidationError("The listing price must be positive.", code="invalid_price", field="price")
    if relist_attempt < 0:
        raise ValidationError("The relist attempt count cannot be negative.", code="invalid_input")
    if not appraisal_required:
        return
    if appraisal_value is None:
        raise RuleViolationError("This seller needs a filed appraisal before listing.", code="appraisal_missing")
    if relist_attempt == 0:
        if price < appraisal_value:
            raise RuleViolationError(
                "The first listing price may not be below the appraised value %(appraisal)s.",
                params={"appraisal": str(appraisal_value)},
                code="price_below_appraisal",
                field="price",
            )
        return
    _same_currency(price, appraisal_value)
    # Compared exactly in Decimal: no rounding may let a price one fen under the line through.
    if Decimal(price.fen) < Decimal(appraisal_value.fen) * relist_approval_ratio and not approved_below_90:
        raise RuleViolationError(
            "Relisting below %(ratio)s of the appraised value needs a recorded approval.",
            params={"ratio": _percent(relist_approval_ratio)},
            code="relist_below_90_needs_approval",
            field="price",
        )


def max_deposit(price: Money, max_ratio: Decimal = DEFAULT_MAX_DEPOSIT_RATIO) -> Money:
    """The largest allowed deposit, rounded down so it never exceeds the ratio."""
    return price.apply_rate(max_ratio, rounding=ROUND_DOWN)


def check_deposit(deposit: Money, price: Money, max_ratio: Decimal = DEFAULT_MAX_DEPOSIT_RATIO) -> None:
    """Codes: ``invalid_deposit`` (ValidationError, not positive), ``deposit_too_high`` (RuleViolationError)."""
    if deposit.fen <= 0:
        raise ValidationError("The deposit must be positive.", code="invalid_deposit", field="deposit")
    _same_currency(deposit, price)
    if Decimal(deposit.fen) > Decimal(price.fen) * max_ratio:
        raise RuleViolationError(
            "The deposit may be at most %(ratio)s of the listing price (%(max)s).",
            params={"ratio": _percent(max_ratio), "max": str(max_deposit(price, max_ratio))},
            code="deposit_too_high",
            field="deposit",
        )


def check_increment(increment: Money) -> None:
    """The bidding increment (加价幅度) must be positive. Code ``invalid_increment``."""
    if increment.fen <= 0:
        raise ValidationError("The bidding increment must be positive.", code="invalid_increment", field="increment")
