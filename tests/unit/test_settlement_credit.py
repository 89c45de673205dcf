"""Credit records, grades and what they change; instruments; pledges."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, RuleViolationError, StateError, ValidationError
from exchange.money import Money
from settlement.domain import (
    CreditEvent,
    CreditEventKind,
    CreditGrade,
    Instrument,
    InstrumentKind,
    Pledge,
    PledgeState,
    cash_needed,
    check_grade_allows_registration,
    check_pledge_allows,
    credit_grade,
    credit_score,
    deposit_ratio_for_grade,
    grade_bars_registration,
    instrument_covers,
    record_consent,
    release_pledge,
)

TODAY = date(2026, 6, 1)
K = CreditEventKind


def ev(kind: CreditEventKind, days_ago: int) -> CreditEvent:
    return CreditEvent(kind, TODAY - timedelta(days=days_ago))


# -- score and grade ----------------------------------------------------------------


def test_newcomer_is_b() -> None:
    s = credit_score([], TODAY)
    assert s.score == 80 and s.grade == "B"
    assert [r.text for r in s.reasons] == ["starting score 80"]


def test_good_record_reaches_a() -> None:
    s = credit_score([ev(K.COMPLETED_DEAL, d) for d in (10, 50, 100)] + [ev(K.ON_TIME_PAYMENT, 20)], TODAY)
    assert s.score == 80 + 3 * 3 + 2 == 91
    assert s.grade is CreditGrade.A


def test_default_with_forfeiture_bars_for_a_year_then_fades() -> None:
    bad = [(K.DEFAULT, 0), (K.FORFEITURE, 0)]
    assert credit_score([ev(k, d) for k, d in bad], TODAY).score == 45          # 80 − 20 − 15 → D
    assert credit_score([ev(k, d + 500) for k, d in bad], TODAY).score == 63   # 80 − 17.5 = 62.5 → C
    assert credit_score([ev(k, d + 800) for k, d in bad], TODAY).score == 71   # 80 − 8.75 → C
    assert credit_score([ev(k, d + 1100) for k, d in bad], TODAY).score == 80  # forgotten → B


def test_recency_boundaries_and_explanation() -> None:
    s = credit_score([ev(K.LATE_PAYMENT, 365), ev(K.LATE_PAYMENT, 366), ev(K.DISPUTE, 1096)], TODAY)
    assert [r.factor for r in s.reasons[1:]] == [Decimal(0), Decimal("0.5"), Decimal(1)]  # oldest first
    assert [r.points for r in s.reasons] == [Decimal(80), Decimal(0), Decimal("-2.5"), Decimal(-5)]
    assert s.score == 73  # 80 − 2.5 − 5 = 72.5 → HALF_UP
    assert s.reasons[2].text == "late payment on 2025-05-31: -5 × 0.5 (365-730 days ago) = -2.5"
    assert s.reasons[1].text == "dispute on 2023-06-01: -8, not counted (more than 1095 days ago)"


def test_score_is_clamped_and_future_events_refused() -> None:
    assert credit_score([ev(K.COMPLETED_DEAL, 1)] * 20, TODAY).score == 100
    assert credit_score([ev(K.DEFAULT, 1)] * 10, TODAY).score == 0
    with pytest.raises(ValidationError) as e:
        credit_score([ev(K.DEFAULT, -1)], TODAY)
    assert e.value.code == "invalid_credit_event"


@given(st.lists(st.tuples(st.sampled_from(list(K)), st.integers(0, 2000)), max_size=30))
def test_score_is_explained_by_its_reasons(events: list[tuple[CreditEventKind, int]]) -> None:
    s = credit_score([ev(k, d) for k, d in events], TODAY)
    assert 0 <= s.score <= 100
    assert len(s.reasons) == len(events) + 1
    total = sum(r.points for r in s.reasons)
    assert s.score == max(0, min(100, int(total.to_integral_value(rounding="ROUND_HALF_UP"))))


@pytest.mark.parametrize(("score", "grade"), [
    (100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"), (59, "D"), (0, "D")])
def test_grade_thresholds(score: int, grade: str) -> None:
    assert credit_grade(score) == grade


def test_grade_effects() -> None:
    base = Decimal("0.10")
    assert deposit_ratio_for_grade("A", base) == Decimal("0.080000")
    assert deposit_ratio_for_grade(CreditGrade.B, base) == Decimal("0.100000")
    assert deposit_ratio_for_grade("C", base) == Decimal("0.150000")
    assert deposit_ratio_for_grade("C", Decimal("0.25")) == Decimal("0.300000")  # capped at 30 %
    assert deposit_ratio_for_grade("A", Decimal("0.25")) == Decimal("0.200000")
    with pytest.raises(RuleViolationError) as e:
        deposit_ratio_for_grade("D", base)
    assert e.value.code == "credit_grade_barred"
    with pytest.raises(ValidationError) as e:
        deposit_ratio_for_grade("A", Decimal("1.5"))
    assert e.value.code == "invalid_rate"
    assert grade_bars_registration("D") and not grade_bars_registration("C")
    check_grade_allows_registration("C")
    with pytest.raises(RuleViolationError):
        check_grade_allows_registration(CreditGrade.D)


# -- instruments ---------------------------------------------------------------------


def guarantee(fen: int, expires: date, issued: date | None = None) -> Instrument:
    return Instrument(InstrumentKind.GUARANTEE_LETTER, Money(fen), "Bank of Shanghai", expires, issued)


def test_instrument_covers_up_to_its_amount_while_valid() -> None:
    g = guarantee(50_000, date(2026, 6, 30), issued=date(2026, 5, 1))
    assert instrument_covers(g, Money(80_000), TODAY) == Money(50_000)
    assert instrument_covers(g, Money(30_000), TODAY) == Money(30_000)
    assert instrument_covers(g, Money(80_000), date(2026, 6, 30)) == Money(50_000)  # expiry day included
    assert instrument_covers(g, Money(80_000), date(2026, 7, 1)) == Money(0)        # expired
    assert instrument_covers(g, Money(80_000), date(2026, 4, 30)) == Money(0)       # not yet issued
    assert instrument_covers(g, Money(80_000), TODAY, until=date(2026, 7, 15)) == Money(0)  # lapses too soon
    with pytest.raises(CurrencyMismatchError):
        instrument_covers(g, Money(1, "USD"), TODAY)


def test_cash_needed() -> None:
    valid = guarantee(50_000, date(2026, 12, 31))
    insurance = Instrument("ip_insurance", Money(20_000), "PICC", date(2027, 1, 1))
    expired = guarantee(1_000_000, date(2026, 1, 1))
    assert insurance.kind is InstrumentKind.IP_INSURANCE
    assert cash_needed(Money(100_000), [valid, insurance, expired], TODAY) == Money(30_000)
    assert cash_needed(Money(60_000), [valid, insurance], TODAY) == Money(0)
    assert cash_needed(Money(60_000), [], TODAY) == Money(60_000)
    with pytest.raises(ValidationError):
        guarantee(0, date(2026, 12, 31))


# -- pledges ----------------------------------------------------------------------------


def pledge(**kw: object) -> Pledge:
    args = {"pledgor": "Fudan University", "pledgee": "SPD Bank", "secured_amount": Money.yuan(5_000_000),
            "starts_on": date(2026, 1, 1), "ends_on": date(2027, 1, 1), "reference": "PL-1"} | kw
    return Pledge(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["assignment", "exclusive_licence", "sole_licence", "capital_contribution"])
def test_pledge_blocks_sale_and_exclusive_licence(mode: str) -> None:
    with pytest.raises(RuleViolationError) as e:
        check_pledge_allows([pledge()], mode, TODAY)
    assert e.value.code == "pledged_without_consent"
    assert e.value.details["pledgees"] == ["SPD Bank"]


def test_pledge_allows_ordinary_licences_consented_modes_and_released_pledges() -> None:
    check_pledge_allows([pledge()], "ordinary_licence", TODAY)
    check_pledge_allows([pledge()], "open_licence", TODAY)
    consented = record_consent(pledge(), "assignment")
    check_pledge_allows([consented], "assignment", TODAY)
    with pytest.raises(RuleViolationError):
        check_pledge_allows([consented], "exclusive_licence", TODAY)  # consent is per mode
    released = release_pledge(pledge())
    assert released.state is PledgeState.RELEASED
    check_pledge_allows([released], "assignment", TODAY)
    check_pledge_allows([pledge(starts_on=date(2026, 7, 1))], "assignment", TODAY)  # not yet in force
    check_pledge_allows([], "assignment", TODAY)


def test_pledge_blocks_after_its_term_until_released() -> None:
    with pytest.raises(RuleViolationError):
        check_pledge_allows([pledge(ends_on=date(2026, 3, 1))], "assignment", TODAY)


def test_pledge_releases_once() -> None:
    released = release_pledge(pledge(state="active"))
    with pytest.raises(StateError) as e:
        release_pledge(released)
    assert e.value.code == "pledge_already_released"
    with pytest.raises(StateError):
        record_consent(released, "assignment")
    with pytest.raises(ValidationError):
        pledge(ends_on=date(2025, 1, 1))
