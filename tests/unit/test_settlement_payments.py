"""Payment plans, amounts due and payment matching."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import Money
from settlement.domain import (
    PaymentMatch,
    add_months,
    amount_due,
    build_instalment_schedule,
    deposit_surplus,
    instalment_limit,
    lump_sum_due,
    match_payment,
    payment_difference,
)

EFFECTIVE = date(2026, 3, 2)  # a Monday
LIMIT = instalment_limit(EFFECTIVE)


def weekdays_only(day: date, n: int) -> date:
    """A stand-in for the business calendar: Monday to Friday."""
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def test_lump_sum_due_uses_the_given_calendar() -> None:
    assert lump_sum_due(EFFECTIVE, weekdays_only) == date(2026, 3, 9)
    assert lump_sum_due(date(2026, 3, 6), weekdays_only) == date(2026, 3, 13)  # Friday + 5
    assert lump_sum_due(EFFECTIVE, weekdays_only, working_days=3) == date(2026, 3, 5)


def test_month_arithmetic() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert instalment_limit(date(2028, 2, 29)) == date(2029, 2, 28)
    assert LIMIT == date(2027, 3, 2)


def test_worked_schedule() -> None:
    # 1,000,000.01 yuan, 30 % down: 30,000,000.3 fen → rounded up to 30,000,001.
    # Rest 70,000,000 fen over 3 → 23,333,333 each, remainder 1 fen to the last.
    plan = build_instalment_schedule(Money(100_000_001), Decimal("0.30"), 4, EFFECTIVE, LIMIT)
    assert [(i.seq, i.due_date, i.amount.fen) for i in plan] == [
        (1, date(2026, 3, 2), 30_000_001),
        (2, date(2026, 4, 2), 23_333_333),
        (3, date(2026, 5, 2), 23_333_333),
        (4, date(2026, 6, 2), 23_333_334),
    ]


def test_explicit_due_dates() -> None:
    dates = [date(2026, 9, 1), date(2027, 3, 2)]
    plan = build_instalment_schedule(Money(1_000), Decimal("0.5"), 3, EFFECTIVE, LIMIT, due_dates=dates)
    assert [i.due_date for i in plan] == [EFFECTIVE, *dates]
    assert [i.amount.fen for i in plan] == [500, 250, 250]


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"down_ratio": Decimal("0.29")}, "down_payment_too_low"),
    ({"down_ratio": Decimal("0.299999")}, "down_payment_too_low"),
    ({"down_ratio": Decimal(1)}, "invalid_instalments"),
    ({"count": 1}, "invalid_instalments"),
    ({"count": 0}, "invalid_instalments"),
    ({"count": 14}, "instalments_beyond_one_year"),  # monthly: the 14th falls 13 months on
    ({"first_due": date(2027, 3, 3)}, "instalments_beyond_one_year"),
    ({"interval_months": 0}, "invalid_instalments"),
    ({"due_dates": [date(2026, 5, 1)]}, "invalid_instalments"),  # one date for three later instalments
    ({"count": 2, "due_dates": [date(2026, 3, 1)]}, "invalid_instalments"),  # before the down payment
    ({"count": 2, "due_dates": [date(2027, 3, 3)]}, "instalments_beyond_one_year"),
    ({"total": Money(3)}, "invalid_instalments"),  # 1 fen down, 2 fen for 3 instalments
    ({"total": Money(0)}, "invalid_amount"),
])
def test_refusals(kwargs: dict, code: str) -> None:
    args = {"total": Money(1_000_000), "down_ratio": Decimal("0.3"), "count": 4, "first_due": EFFECTIVE,
            "final_due_limit": LIMIT} | kwargs
    with pytest.raises(ValidationError) as e:
        build_instalment_schedule(**args)
    assert e.value.code == code


def test_thirteen_monthly_instalments_fit_a_year() -> None:
    plan = build_instalment_schedule(Money(1_000_000), Decimal("0.3"), 13, EFFECTIVE, LIMIT)
    assert plan[-1].due_date == LIMIT


@given(
    total=st.integers(min_value=1, max_value=10**14),
    ratio=st.decimals(min_value=Decimal("0.3"), max_value=Decimal("0.99"), places=4),
    count=st.integers(min_value=2, max_value=13),
)
def test_instalments_sum_exactly_and_down_is_enough(total: int, ratio: Decimal, count: int) -> None:
    try:
        plan = build_instalment_schedule(Money(total), ratio, count, EFFECTIVE, LIMIT)
    except ValidationError as e:  # tiny totals cannot give every instalment a fen
        assert e.code == "invalid_instalments" and total - total * ratio < count
        return
    assert sum(i.amount.fen for i in plan) == total
    assert [i.seq for i in plan] == list(range(1, count + 1))
    assert plan[0].amount.fen * 100 >= 30 * total       # at least 30 % down
    assert plan[0].amount.fen >= total * ratio          # and at least the ratio asked for
    assert all(i.amount.fen > 0 for i in plan)
    later = [i.amount.fen for i in plan[1:]]
    assert max(later) - min(later) < len(later)         # remainder fen only on the last
    assert all(a.due_date < b.due_date <= LIMIT for a, b in zip(plan, plan[1:]))


def test_amount_due_and_surplus() -> None:
    price, deposit, fee = Money.yuan(1_000_000), Money.yuan(300_000), Money.yuan(32_000)
    assert amount_due(price, deposit, fee) == Money.yuan(732_000)
    assert deposit_surplus(price, deposit, fee) == Money(0)
    # A deposit larger than price and fee: nothing due, the excess is refunded.
    assert amount_due(Money.yuan(10_000), Money.yuan(15_000), Money.yuan(3_600)) == Money(0)
    assert deposit_surplus(Money.yuan(10_000), Money.yuan(15_000), Money.yuan(3_600)) == Money.yuan(1_400)
    with pytest.raises(ValidationError):
        amount_due(price, Money(-1), fee)
    with pytest.raises(CurrencyMismatchError):
        amount_due(price, Money(1, "USD"), fee)


@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**10))
def test_due_minus_surplus_is_the_balance(p: int, d: int, f: int) -> None:
    due = amount_due(Money(p), Money(d), Money(f))
    surplus = deposit_surplus(Money(p), Money(d), Money(f))
    assert due.fen >= 0 and surplus.fen >= 0 and min(due.fen, surplus.fen) == 0
    assert due.fen - surplus.fen == p - d + f


def test_match_payment() -> None:
    assert match_payment(Money(100), Money(100)) is PaymentMatch.EXACT
    assert match_payment(Money(100), Money(99)) is PaymentMatch.SHORT
    assert match_payment(Money(100), Money(101)) is PaymentMatch.OVER
    assert payment_difference(Money(100), Money(99)) == Money(-1)
    with pytest.raises(CurrencyMismatchError):
        match_payment(Money(100), Money(100, "USD"))
    with pytest.raises(ValidationError):
        match_payment(Money(100), Money(-1))
