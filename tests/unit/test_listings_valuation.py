"""Valuation methods, the reference band, and the pricing rules."""
from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, DomainError, RuleViolationError, ValidationError
from exchange.money import Money
from listings.domain import (
    DEFAULT_MAX_DEPOSIT_RATIO,
    ValuationMethod,
    appraisal_expiry,
    appraisal_valid,
    check_deposit,
    check_increment,
    check_listing_price,
    cost_method,
    income_method,
    market_method,
    max_deposit,
    reference_band,
    remaining_term_years,
)

D = date
Y = Money.yuan


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# --- cost ---------------------------------------------------------------------------------

def test_cost_method_subtracts_depreciation() -> None:
    v = cost_method(Y(1_000_000), Y(100_000), Y(200_000), Y(50_000))
    assert v.value == Y(650_000) and v.method is ValuationMethod.COST
    assert v.replacement_cost == Y(1_000_000) and v.economic_depreciation == Y(50_000)
    assert cost_method(Y(500)).value == Y(500)


def test_cost_method_floors_at_zero() -> None:
    assert cost_method(Y(100), Y(80), Y(80)).value == Money.zero()


def test_cost_method_refuses_negative_inputs() -> None:
    with pytest.raises(ValidationError) as exc:
        cost_method(Y(100), Y(-1))
    assert code_of(exc) == "invalid_valuation_input"


# --- income ---------------------------------------------------------------------------------

def test_income_method_exact_discounting() -> None:
    v = income_method([Y(1100), Y(1210)], Decimal("1"), Decimal("0.10"), 5, 10)
    assert v.value == Y(2000)
    assert v.method is ValuationMethod.INCOME and v.limited_by == "economic_life"


def test_income_method_bounded_by_remaining_term_with_part_year() -> None:
    revenues = [Y(1_000_000)] * 5
    v = income_method(revenues, Decimal("0.25"), Decimal("0.10"), 10, Decimal("3.5"))
    expected = sum(Fraction(250_000_00) * f / Fraction(11, 10) ** t
                   for t, f in ((1, 1), (2, 1), (3, 1), (4, Fraction(1, 2))))
    assert v.value.fen == math.floor(expected + Fraction(1, 2))  # half up
    assert v.horizon_years == Decimal("3.5") and v.limited_by == "remaining_term"
    assert v.yearly_revenue == tuple(revenues)


def test_income_method_nothing_beyond_projection_or_after_term() -> None:
    assert income_method([Y(100)], Decimal("0.5"), Decimal(0), 10, 10).value == Y(50)
    assert income_method([Y(100)], Decimal("0.5"), Decimal(0), 10, 0).value == Money.zero()


@pytest.mark.parametrize(
    "args",
    [
        ([], Decimal("0.3"), Decimal("0.1"), 5, 5),
        ([Y(-1)], Decimal("0.3"), Decimal("0.1"), 5, 5),
        ([Y(1)], Decimal("0"), Decimal("0.1"), 5, 5),
        ([Y(1)], Decimal("1.01"), Decimal("0.1"), 5, 5),
        ([Y(1)], Decimal("0.3"), Decimal("-0.1"), 5, 5),
        ([Y(1)], Decimal("0.3"), Decimal("0.1"), -1, 5),
        ([Y(1), Money(1, "USD")], Decimal("0.3"), Decimal("0.1"), 5, 5),
    ],
)
def test_income_method_refuses_bad_inputs(args: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as exc:
        income_method(*args)
    assert code_of(exc) == "invalid_valuation_input"


revenues = st.lists(st.integers(0, 10**12).map(Money), min_size=1, max_size=25)
shares = st.decimals(Decimal("0.01"), Decimal("1"), places=2)
rates = st.decimals(Decimal("0"), Decimal("0.5"), places=3)
years = st.decimals(Decimal("0"), Decimal("30"), places=2)


@given(revenues, shares, rates, years, years)
def test_income_never_counts_beyond_the_term(
    yearly: list[Money], share: Decimal, rate: Decimal, life: Decimal, term: Decimal
) -> None:
    v = income_method(yearly, share, rate, life, term)
    horizon = min(life, term)
    counted = math.ceil(horizon)
    # Revenue after the horizon changes nothing...
    if counted:
        assert income_method(yearly[:counted], share, rate, life, term).value == v.value
    if counted <= len(yearly):
        assert income_method([*yearly, Money(10**12)], share, rate, life, term).value == v.value
    # ...the value never exceeds the undiscounted royalties within the horizon...
    cap = sum(Fraction(r.fen) * Fraction(share) for r in yearly[:counted])
    assert v.value.fen <= math.floor(cap + Fraction(1, 2))
    # ...and a longer term never lowers it, a shorter one never raises it.
    assert income_method(yearly, share, rate, life, term + 1).value >= v.value
    assert income_method(yearly, share, rate, life, Decimal(0)).value == Money.zero()


def test_remaining_term_years() -> None:
    assert remaining_term_years(D(2026, 6, 1), D(2036, 5, 31)) == Decimal(10)
    assert remaining_term_years(D(2026, 6, 1), D(2037, 7, 19)) == Decimal("11.1342")  # 49/365
    assert remaining_term_years(D(2026, 6, 1), D(2026, 5, 31)) == Decimal(0)


# --- market ---------------------------------------------------------------------------------

def test_market_method_median_and_range() -> None:
    v = market_method([Y(300), Y(100), Y(200)])
    assert (v.median, v.low, v.high, v.count, v.sufficient) == (Y(200), Y(100), Y(300), 3, True)
    assert v.method is ValuationMethod.MARKET


def test_market_method_even_count_rounds_half_up() -> None:
    v = market_method([Money(100), Money(201), Money(50), Money(1000)])
    assert v.median == Money(151)  # (100 + 201) / 2 = 150.5


def test_market_method_insufficient() -> None:
    v = market_method([Y(100), Y(200)])
    assert not v.sufficient and v.median == Y(150) and "at least 3" in v.message
    empty = market_method([])
    assert not empty.sufficient and empty.median is None and empty.message
    assert market_method([Y(1), Y(2)], min_comparables=2).sufficient


def test_market_method_refuses_non_positive_prices() -> None:
    with pytest.raises(ValidationError):
        market_method([Y(100), Money.zero()])


# --- reference band ---------------------------------------------------------------------------

def test_reference_band_cost_floor_income_ceiling() -> None:
    assert reference_band(Y(100), Y(300)) == (Y(100), Y(300))
    low, high = reference_band(cost_method(Y(100)), income_method([Y(300)], Decimal(1), Decimal(0), 1, 1))
    assert (low, high) == (Y(100), Y(300))


def test_reference_band_missing_ends() -> None:
    market = market_method([Y(150), Y(200), Y(400)])
    assert reference_band(Y(100), None, market) == (Y(100), Y(400))
    assert reference_band(None, Y(300), market) == (Y(150), Y(300))
    assert reference_band(None, None, market) == (Y(150), Y(400))
    assert reference_band(Y(100), None) == (Y(100), Y(100))
    # An insufficient market is not used.
    assert reference_band(None, Y(300), market_method([Y(1)])) == (Y(300), Y(300))


def test_reference_band_inverted_is_ordered() -> None:
    band = reference_band(Y(500), Y(300))
    assert band.low == Y(300) and band.high == Y(500)


def test_reference_band_needs_something() -> None:
    with pytest.raises(ValidationError) as exc:
        reference_band(None, None, market_method([Y(1)]))
    assert code_of(exc) == "no_valuation"


# --- appraisal and listing price ----------------------------------------------------------------

def test_appraisal_valid_one_year() -> None:
    assert appraisal_expiry(D(2025, 6, 1)) == D(2026, 5, 31)
    assert appraisal_valid(D(2025, 6, 1), D(2026, 5, 31))
    assert not appraisal_valid(D(2025, 6, 1), D(2026, 6, 1))
    assert not appraisal_valid(D(2026, 6, 2), D(2026, 6, 1))  # dated in the future
    assert appraisal_valid(D(2024, 6, 1), D(2026, 5, 31), validity_years=2)


APPRAISAL = Y(1_000_000)


def test_price_below_appraisal_on_first_listing() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_listing_price(Y("999999.99"), APPRAISAL, True, 0, False)
    assert code_of(exc) == "price_below_appraisal"
    # Even with an approval: the first listing may never go below.
    with pytest.raises(RuleViolationError):
        check_listing_price(Y("999999.99"), APPRAISAL, True, 0, True)


def test_relist_below_90_needs_approval() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_listing_price(Y("899999.99"), APPRAISAL, True, 1, False)
    assert code_of(exc) == "relist_below_90_needs_approval"
    check_listing_price(Y("899999.99"), APPRAISAL, True, 1, True)
    check_listing_price(Y(900_000), APPRAISAL, True, 2, False)
    with pytest.raises(RuleViolationError):  # the ratio is a parameter
        check_listing_price(Y(900_000), APPRAISAL, True, 1, False, relist_approval_ratio=Decimal("0.95"))


def test_listing_price_other_refusals() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_listing_price(Y(1), None, True, 0, False)
    assert code_of(exc) == "appraisal_missing"
    with pytest.raises(ValidationError) as bad:
        check_listing_price(Money.zero(), APPRAISAL, True, 0, False)
    assert code_of(bad) == "invalid_price"
    with pytest.raises(CurrencyMismatchError):
        check_listing_price(Money(100, "USD"), APPRAISAL, True, 1, False)


def test_listing_price_happy() -> None:
    check_listing_price(APPRAISAL, APPRAISAL, True, 0, False)
    check_listing_price(Y(1), APPRAISAL, False, 0, False)  # appraisal advisory only
    check_listing_price(Y(1), None, False, 0, False)


# --- deposit and increment ------------------------------------------------------------------------

def test_deposit_too_high() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_deposit(Y("30.01"), Y(100))
    assert code_of(exc) == "deposit_too_high"
    with pytest.raises(RuleViolationError):
        check_deposit(Y(20), Y(100), max_ratio=Decimal("0.10"))


@pytest.mark.parametrize("deposit", [Money.zero(), Y(-5)])
def test_invalid_deposit(deposit: Money) -> None:
    with pytest.raises(ValidationError) as exc:
        check_deposit(deposit, Y(100))
    assert code_of(exc) == "invalid_deposit"


def test_deposit_happy_and_max() -> None:
    check_deposit(Y(30), Y(100))
    check_deposit(Money(1), Y(100))
    assert max_deposit(Money(1001)) == Money(300)  # 300.3 fen rounds down
    with pytest.raises(CurrencyMismatchError):
        check_deposit(Money(1, "USD"), Y(100))


@given(st.integers(1, 10**12), st.integers(1, 10**12))
def test_deposit_rule_is_exact(deposit: int, price: int) -> None:
    allowed = deposit * 100 <= price * 30
    try:
        check_deposit(Money(deposit), Money(price))
        assert allowed
    except RuleViolationError:
        assert not allowed
    assert max_deposit(Money(price)).fen * 100 <= price * 30
    assert DEFAULT_MAX_DEPOSIT_RATIO == Decimal("0.30")


def test_increment() -> None:
    check_increment(Y(100))
    for bad in (Money.zero(), Y(-1)):
        with pytest.raises(ValidationError) as exc:
            check_increment(bad)
        assert code_of(exc) == "invalid_increment"
