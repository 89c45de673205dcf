"""Money: whole fen plus a currency; parsing, formatting, arithmetic, rates. No database."""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import MAX_FEN, Money, rate


# --- parsing -------------------------------------------------------------------

@pytest.mark.parametrize("text, fen, currency", [
    ("¥1,234,567.89", 123456789, "CNY"),
    ("1234567.89", 123456789, "CNY"),
    ("¥0.01", 1, "CNY"),
    ("¥12", 1200, "CNY"),
    ("12.5", 1250, "CNY"),
    ("CNY 12.5", 1250, "CNY"),
    ("CNY12.50", 1250, "CNY"),
    ("RMB 3", 300, "CNY"),
    ("￥1,000", 100000, "CNY"),  # fullwidth yen sign, as typed with a Chinese input method
    ("  ¥ 1,000.00  ", 100000, "CNY"),
    ("¥\u00a01,000", 100000, "CNY"),  # no-break space
    ("-¥12.00", -1200, "CNY"),  # what format() writes for negatives
    ("¥-12.00", -1200, "CNY"),
    ("-12.34", -1234, "CNY"),
    ("\u221212.34", -1234, "CNY"),  # the typographic minus sign
    ("$5.05", 505, "USD"),
    ("HK$5", 500, "HKD"),
    ("€0.10", 10, "EUR"),
    ("USD 1,000,000.00", 100000000, "USD"),
    ("999999999999999.99", MAX_FEN - 1, "CNY"),
])
def test_parse(text: str, fen: int, currency: str) -> None:
    assert Money.parse(text) == Money(fen, currency)


def test_parse_with_expected_currency() -> None:
    assert Money.parse("12.5", currency="USD") == Money(1250, "USD")
    assert Money.parse("$12.5", currency="USD") == Money(1250, "USD")
    with pytest.raises(CurrencyMismatchError) as exc:
        Money.parse("$12.5", currency="CNY")
    assert exc.value.code == "currency_mismatch" and exc.value.status == 422


@pytest.mark.parametrize("text", [
    "", "   ", "¥", "abc", "12.345", "1.", ".5", "1,23", "12,3456", "1,234,56", ",123",
    "1e5", "NaN", "Infinity", "--1", "-¥-1", "-", "+1", "1-", "12.3.4", "¥¥1",
    "1234567890123456",  # 16 integer digits: beyond any amount the exchange stores
    "0x10", "cny 1", "12 元",
])
def test_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Money.parse(text)
    assert exc.value.code == "invalid_amount"


def test_parse_refuses_amounts_too_large() -> None:
    with pytest.raises(ValidationError) as exc:
        Money.parse("1,000,000,000,000,000")
    assert exc.value.code == "amount_too_large"


@pytest.mark.parametrize("value", [None, 12, 12.5, Decimal("12.5"), b"12"])
def test_parse_refuses_non_text(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        Money.parse(value)  # type: ignore[arg-type]
    assert exc.value.code == "invalid_amount"


# --- construction --------------------------------------------------------------

def test_constructor_refuses_floats_and_bools() -> None:
    for bad in (1.0, 0.1, True, Decimal("1"), "100"):
        with pytest.raises(ValidationError) as exc:
            Money(bad)  # type: ignore[arg-type]
        assert exc.value.code == "invalid_amount"


def test_constructor_limits() -> None:
    assert Money(MAX_FEN - 1).fen == MAX_FEN - 1
    assert Money(-(MAX_FEN - 1)).fen == -(MAX_FEN - 1)
    for fen in (MAX_FEN, -MAX_FEN):
        with pytest.raises(ValidationError) as exc:
            Money(fen)
        assert exc.value.code == "amount_too_large"
    for cur in ("cny", "CN", "CNYY", "", None, "¥"):
        with pytest.raises(ValidationError) as exc:
            Money(1, cur)  # type: ignore[arg-type]
        assert exc.value.code == "invalid_currency"


def test_yuan() -> None:
    assert Money.yuan(12) == Money(1200)
    assert Money.yuan("12.34") == Money(1234)
    assert Money.yuan(Decimal("0.05"), "USD") == Money(5, "USD")
    assert Money.yuan("-1.5") == Money(-150)
    for bad in ("12.345", "abc", "", "NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValidationError) as exc:
            Money.yuan(bad)
        assert exc.value.code == "invalid_amount", bad


def test_yuan_refuses_floats() -> None:
    # 0.1 happens to print as "0.1", but a float is never an exact amount: refuse all of them.
    for bad in (0.1, 12.0, 1e3):
        with pytest.raises(TypeError):
            Money.yuan(bad)  # type: ignore[arg-type]


def test_immutable() -> None:
    m = Money(100)
    with pytest.raises(AttributeError):
        m.fen = 5  # type: ignore[misc]


# --- formatting ----------------------------------------------------------------

@pytest.mark.parametrize("money, text", [
    (Money(123456789), "¥1,234,567.89"),
    (Money(0), "¥0.00"),
    (Money(1), "¥0.01"),
    (Money(100000), "¥1,000.00"),
    (Money(-1200), "-¥12.00"),
    (Money(-5), "-¥0.05"),
    (Money(505, "USD"), "$5.05"),
    (Money(500, "HKD"), "HK$5.00"),
    (Money(12345, "JPY"), "JPY 123.45"),
    (Money(MAX_FEN - 1), "¥999,999,999,999,999.99"),
])
def test_format(money: Money, text: str) -> None:
    assert money.format() == text
    assert str(money) == text


def test_format_without_symbol_and_to_decimal() -> None:
    assert Money(123456789).format(symbol=False) == "1,234,567.89"
    assert Money(-1200).format(symbol=False) == "-12.00"
    assert Money(123456789).to_decimal() == Decimal("1234567.89")
    assert Money(-1).to_decimal() == Decimal("-0.01")


@given(fen=st.integers(min_value=-(MAX_FEN - 1), max_value=MAX_FEN - 1),
       currency=st.sampled_from(["CNY", "USD", "EUR", "HKD", "JPY", "GBP"]))
def test_parse_inverts_format(fen: int, currency: str) -> None:
    m = Money(fen, currency)
    assert Money.parse(m.format()) == m
    assert Money.parse(m.format(symbol=False), currency=currency) == m


# --- arithmetic ----------------------------------------------------------------

def test_arithmetic() -> None:
    a, b = Money(1000), Money(250)
    assert a + b == Money(1250)
    assert a - b == Money(750)
    assert b - a == Money(-750)
    assert -a == Money(-1000)
    assert a * 3 == Money(3000) == 3 * a
    assert Money.zero() == Money(0) and not Money.zero()
    assert a and a.is_positive and not (-a).is_positive
    assert b < a and b <= a and a > b and a >= b and a <= Money(1000) and a >= Money(1000)
    assert sum([a, b, b], Money.zero()) == Money(1500)


@pytest.mark.parametrize("op", [
    lambda x, y: x + y,
    lambda x, y: x - y,
    lambda x, y: x < y,
    lambda x, y: x <= y,
    lambda x, y: x > y,
    lambda x, y: x >= y,
], ids=["add", "sub", "lt", "le", "gt", "ge"])
def test_mixed_currencies_refused(op) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CurrencyMismatchError) as exc:
        op(Money(100, "CNY"), Money(100, "USD"))
    assert exc.value.code == "currency_mismatch"
    assert exc.value.status == 422


def test_mixed_currencies_are_simply_unequal() -> None:
    assert Money(100, "CNY") != Money(100, "USD")


@pytest.mark.parametrize("bad", [1, 1.5, Decimal("1"), "1", None])
def test_combining_with_non_money_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(100) + bad  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100) < bad  # type: ignore[operator]


@pytest.mark.parametrize("factor", [1.5, Decimal("1.5"), True, "2"])
def test_multiply_only_by_int(factor: object) -> None:
    with pytest.raises(TypeError):
        Money(100) * factor  # type: ignore[operator]


def test_overflow_is_refused_not_wrapped() -> None:
    with pytest.raises(ValidationError) as exc:
        Money(MAX_FEN - 1) + Money(1)
    assert exc.value.code == "amount_too_large"


# --- rates -----------------------------------------------------------------------

def test_apply_rate_rounding_is_explicit() -> None:
    five = Money(5)
    half = Decimal("0.5")
    assert five.apply_rate(half) == Money(3)  # default ROUND_HALF_UP
    assert five.apply_rate(half, ROUND_HALF_UP) == Money(3)
    assert five.apply_rate(half, ROUND_HALF_EVEN) == Money(2)
    assert Money(7).apply_rate(half, ROUND_HALF_EVEN) == Money(4)
    assert Money(-5).apply_rate(half) == Money(-3)  # half-up rounds away from zero
    assert Money(999).apply_rate(Decimal("0.01"), ROUND_DOWN) == Money(9)
    assert Money(100_000_000, "USD").apply_rate(rate("0.032")) == Money(3_200_000, "USD")
    assert Money(1).apply_rate(rate("0.3")) == Money(0)


@pytest.mark.parametrize("bad", [0.5, 1, "0.5", None])
def test_apply_rate_needs_a_decimal(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(100).apply_rate(bad)  # type: ignore[arg-type]


def test_rate() -> None:
    assert rate("0.30") == Decimal("0.300000")
    assert str(rate("0.30")) == "0.300000"
    assert rate(1) == Decimal("1.000000")
    assert rate(Decimal("0.0325")) == Decimal("0.032500")
    assert rate("0.0000005") == Decimal("0.000001")  # half-up at the sixth place
    assert rate("0.12345", places=2) == Decimal("0.12")


def test_rate_refuses_floats() -> None:
    with pytest.raises(TypeError):
        rate(0.3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "sNaN", "Infinity", "-Infinity", "1e30", "0.3%"])
def test_rate_refuses_bad_values(bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        rate(bad)
    assert exc.value.code == "invalid_rate"
