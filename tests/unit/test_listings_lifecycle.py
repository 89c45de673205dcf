"""Listing lifecycle: transition tables, publicity on the 2026 calendar, suspension,
withdrawal and buyer registration."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.calendar import BusinessCalendar, Deadline
from exchange.errors import ConflictError, DomainError, RuleViolationError, StateError, ValidationError
from listings.domain import (
    CONFIRMATION_TRANSITIONS,
    DEFAULT_PUBLICITY_WORKING_DAYS,
    REGISTRATION_TRANSITIONS,
    TERMINAL_STATES,
    TRANSITIONS,
    AssetConfirmation,
    EndAction,
    ListingState,
    PublicityOutcome,
    RegistrationState,
    action_at_end,
    can_extend,
    check_can_register,
    check_can_withdraw,
    check_confirmation_transition,
    check_registration_transition,
    check_transition,
    declaration_outdated,
    extended_end,
    outcome_at_end,
    publicity_days_served,
    publicity_end,
    resume_end,
    suspension_limit,
    suspension_overdue,
    withdrawal_forfeits_deposit,
)

D = date
CAL = BusinessCalendar.bundled()
L = ListingState


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# --- transitions ---------------------------------------------------------------------------

def test_every_pair_outside_the_table_raises() -> None:
    assert set(TRANSITIONS) == set(ListingState)
    for src, dst in itertools.product(ListingState, repeat=2):
        if dst in TRANSITIONS[src]:
            check_transition(src, dst)
            continue
        with pytest.raises(StateError) as exc:
            check_transition(src, dst)
        assert code_of(exc) == "invalid_transition"
        assert src.value in exc.value.message and dst.value in exc.value.message
        assert exc.value.details == {"from": src.value, "to": dst.value}
        assert exc.value.status == 409


S = TypeVar("S", bound=StrEnum)


def assert_table_enforced(states: type[S], table: Mapping[S, set[S]], check: Callable[[S, S], None]) -> None:
    assert set(table) == set(states)
    for src, dst in itertools.product(states, repeat=2):
        if dst in table[src]:
            check(src, dst)
        else:
            with pytest.raises(StateError) as exc:
                check(src, dst)
            assert code_of(exc) == "invalid_transition"


def test_other_tables_raise_the_same_way() -> None:
    assert_table_enforced(RegistrationState, REGISTRATION_TRANSITIONS, check_registration_transition)
    assert_table_enforced(AssetConfirmation, CONFIRMATION_TRANSITIONS, check_confirmation_transition)


def test_every_state_is_reachable_and_terminals_are_final() -> None:
    seen, todo = {L.DRAFT}, [L.DRAFT]
    while todo:
        for nxt in TRANSITIONS[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(ListingState)
    assert TERMINAL_STATES == {L.SOLD, L.TERMINATED, L.WITHDRAWN}


@given(st.lists(st.integers(0, 100), max_size=30))
def test_random_walks_stay_in_the_table(choices: list[int]) -> None:
    state = L.DRAFT
    for c in choices:
        targets = sorted(TRANSITIONS[state])
        if not targets:
            assert state in TERMINAL_STATES
            break
        nxt = targets[c % len(targets)]
        check_transition(state, nxt)
        state = nxt


def test_happy_lifecycles() -> None:
    for path in (
        [L.DRAFT, L.SUBMITTED, L.PUBLISHED, L.AWAITING_AUCTION, L.IN_AUCTION, L.SOLD],
        [L.DRAFT, L.SUBMITTED, L.PUBLISHED, L.AWAITING_NEGOTIATION, L.SOLD],
        [L.DRAFT, L.SUBMITTED, L.REJECTED, L.DRAFT, L.SUBMITTED, L.PUBLISHED, L.SUSPENDED, L.PUBLISHED,
         L.UNSOLD, L.DRAFT],
    ):
        for src, dst in itertools.pairwise(path):
            check_transition(src, dst)


# --- publicity on the real 2026 calendar ---------------------------------------------------------

def test_publicity_across_national_day() -> None:
    # Start not counted. Working days after Mon 2026-09-21: 22, 23, 24 (25-27 Mid-Autumn),
    # 28, 29, 30 (Oct 1-7 National Day), 8, 9, Sat 10 (make-up), 12-16, 19-23, 26.
    assert publicity_end(CAL, D(2026, 9, 21)) == Deadline(D(2026, 10, 26), provisional=False)
    assert DEFAULT_PUBLICITY_WORKING_DAYS == 20


def test_publicity_into_an_unloaded_year_is_provisional() -> None:
    # 2027 is not loaded: its days count as plain weekdays (Fri 2027-01-01 included).
    assert publicity_end(CAL, D(2026, 12, 15)) == Deadline(D(2027, 1, 12), provisional=True)


def test_publicity_length_is_a_parameter() -> None:
    assert publicity_end(CAL, D(2026, 9, 21), working_days=3).day == D(2026, 9, 24)
    with pytest.raises(ValidationError):
        publicity_end(CAL, D(2026, 9, 21), working_days=0)


def test_extension_adds_five_working_days() -> None:
    assert extended_end(CAL, D(2026, 10, 26)) == Deadline(D(2026, 11, 2), provisional=False)
    assert extended_end(CAL, D(2026, 9, 30), 1).day == D(2026, 10, 8)  # over National Day


def test_can_extend() -> None:
    assert can_extend(0, 2, True, 0)
    assert can_extend(1, 2, True, 0)
    assert not can_extend(2, 2, True, 0)  # used up
    assert not can_extend(0, 2, False, 0)  # the listing does not allow it
    assert not can_extend(0, 2, True, 1)  # somebody qualified: no extension


def test_outcome_at_end() -> None:
    assert outcome_at_end(0) is PublicityOutcome.NONE
    assert outcome_at_end(1) is PublicityOutcome.NEGOTIATION
    assert outcome_at_end(2) is PublicityOutcome.AUCTION
    assert outcome_at_end(7) is PublicityOutcome.AUCTION
    with pytest.raises(ValidationError):
        outcome_at_end(-1)


def test_action_at_end() -> None:
    assert action_at_end(0, 0, 1, True) is EndAction.EXTEND
    assert action_at_end(0, 1, 1, True) is EndAction.UNSOLD
    assert action_at_end(1, 0, 1, True) is EndAction.NEGOTIATION
    assert action_at_end(3, 0, 0, False) is EndAction.AUCTION


# --- suspension ------------------------------------------------------------------------------

def test_suspension_limit_is_one_month() -> None:
    assert suspension_limit(D(2026, 3, 10)) == D(2026, 4, 10)
    assert suspension_limit(D(2026, 1, 31)) == D(2026, 2, 28)
    assert not suspension_overdue(D(2026, 3, 10), D(2026, 4, 10))
    assert suspension_overdue(D(2026, 3, 10), D(2026, 4, 11))
    assert suspension_limit(D(2026, 3, 10), max_months=2) == D(2026, 5, 10)


def test_days_served_before_suspension() -> None:
    # Mon 2026-03-02 start, suspended Mon 03-16: served Tue 03-03 .. Fri 03-13 = 9.
    assert publicity_days_served(CAL, D(2026, 3, 2), D(2026, 3, 16)) == 9
    # Across the holidays: Sep 22-24, 28-30, Oct 8 = 7.
    assert publicity_days_served(CAL, D(2026, 9, 21), D(2026, 10, 9)) == 7
    assert publicity_days_served(CAL, D(2026, 3, 2), D(2026, 3, 2)) == 0


def test_resume_reaches_twenty_in_total() -> None:
    # 9 served → 11 more after Wed 04-01: Apr 2, 3, (4-6 Qingming), 7-10, 13-17.
    assert resume_end(CAL, D(2026, 4, 1), 9) == Deadline(D(2026, 4, 17), provisional=False)


def test_resume_gives_at_least_ten_more() -> None:
    assert resume_end(CAL, D(2026, 4, 1), 15).day == D(2026, 4, 16)  # 10, not 5
    assert resume_end(CAL, D(2026, 4, 1), 25).day == D(2026, 4, 16)
    assert resume_end(CAL, D(2026, 4, 1), 0).day == publicity_end(CAL, D(2026, 4, 1)).day
    assert resume_end(CAL, D(2026, 4, 1), 9, minimum_total=12, minimum_more=2).day == D(2026, 4, 7)
    with pytest.raises(ValidationError):
        resume_end(CAL, D(2026, 4, 1), -1)


# --- withdrawal ------------------------------------------------------------------------------------

def test_withdraw_after_registration() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_can_withdraw(L.PUBLISHED, 1)
    assert code_of(exc) == "withdraw_after_registration"


def test_withdraw_from_wrong_state() -> None:
    with pytest.raises(StateError) as exc:
        check_can_withdraw(L.IN_AUCTION, 0)
    assert code_of(exc) == "invalid_transition"


def test_withdraw_happy() -> None:
    for state in (L.DRAFT, L.SUBMITTED, L.PUBLISHED, L.SUSPENDED):
        check_can_withdraw(state, 0)


# --- registration ------------------------------------------------------------------------------------

START, END = D(2026, 9, 21), D(2026, 10, 26)


def register(**overrides: object) -> None:
    kwargs: dict[str, object] = dict(
        buyer_party_id="buyer-1", seller_party_id="seller-1", related_party_ids={"seller-sub"},
        listing_state=L.PUBLISHED, today=D(2026, 10, 9), publicity_starts_on=START, publicity_ends_on=END,
        already_registered=False, credit_barred=False,
    )
    kwargs.update(overrides)
    check_can_register(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("buyer", ["seller-1", "seller-sub"])
def test_seller_cannot_register(buyer: str) -> None:
    with pytest.raises(RuleViolationError) as exc:
        register(buyer_party_id=buyer)
    assert code_of(exc) == "seller_cannot_register"


@pytest.mark.parametrize(
    "overrides",
    [{"listing_state": L.SUSPENDED}, {"listing_state": L.AWAITING_AUCTION},
     {"today": D(2026, 10, 27)}, {"today": D(2026, 9, 20)}],
)
def test_publicity_not_open(overrides: dict[str, Any]) -> None:
    with pytest.raises(StateError) as exc:
        register(**overrides)
    assert code_of(exc) == "publicity_not_open"


def test_already_registered() -> None:
    with pytest.raises(ConflictError) as exc:
        register(already_registered=True)
    assert code_of(exc) == "already_registered"


def test_not_eligible() -> None:
    with pytest.raises(RuleViolationError) as exc:
        register(credit_barred=True)
    assert code_of(exc) == "not_eligible"


def test_register_happy_including_first_and_last_day() -> None:
    register()
    register(today=START)
    register(today=END)


def test_registration_lifecycle_happy() -> None:
    R = RegistrationState
    for src, dst in itertools.pairwise([R.PENDING_DEPOSIT, R.DEPOSIT_PAID, R.QUALIFIED, R.WITHDRAWN]):
        check_registration_transition(src, dst)
    check_registration_transition(R.PENDING_DEPOSIT, R.LAPSED)
    check_registration_transition(R.QUALIFIED, R.DEPOSIT_PAID)  # new conditions: back to review
    check_confirmation_transition(AssetConfirmation.PENDING, AssetConfirmation.CONFIRMED)


def test_withdrawal_forfeits_only_under_the_terms_the_buyer_was_qualified_for() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert withdrawal_forfeits_deposit(None, None) is False  # never qualified
    assert withdrawal_forfeits_deposit(None, t) is False
    assert withdrawal_forfeits_deposit(t, None) is True  # terms never changed
    assert withdrawal_forfeits_deposit(t, t + hour) is False  # qualified before the terms changed
    assert withdrawal_forfeits_deposit(t + hour, t) is True  # qualified again under the new terms
    assert withdrawal_forfeits_deposit(t, t) is True


def test_a_declaration_is_outdated_only_by_conditions_changed_after_it() -> None:
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert declaration_outdated(t, None) is False
    assert declaration_outdated(t, t - timedelta(seconds=1)) is False
    assert declaration_outdated(t, t) is False
    assert declaration_outdated(t, t + timedelta(seconds=1)) is True
