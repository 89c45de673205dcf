"""Deposit holds resolve exactly once."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import StateError, ValidationError
from settlement.domain import (
    HOLD_TRANSITIONS,
    HoldEvent,
    HoldState,
    fund_hold,
    is_resolved,
    resolve_hold,
    transition_hold,
)

OUTCOMES = [HoldEvent.APPLY, HoldEvent.RELEASE, HoldEvent.FORFEIT]
FINAL = [HoldState.APPLIED, HoldState.RELEASED, HoldState.FORFEITED]


def test_happy_paths() -> None:
    held = fund_hold(HoldState.PENDING)
    assert held is HoldState.HELD
    assert resolve_hold(held, "apply") is HoldState.APPLIED
    assert resolve_hold(held, HoldEvent.RELEASE) is HoldState.RELEASED
    assert resolve_hold("held", "forfeit") is HoldState.FORFEITED
    # A hold never funded lapses as released.
    assert resolve_hold(HoldState.PENDING, "release") is HoldState.RELEASED


def test_table_has_no_way_out_of_a_final_state() -> None:
    assert set(HOLD_TRANSITIONS) == set(HoldState)
    for state in FINAL:
        assert not HOLD_TRANSITIONS[state] and is_resolved(state)
    assert not is_resolved(HoldState.PENDING) and not is_resolved(HoldState.HELD)


@pytest.mark.parametrize("state", FINAL)
@pytest.mark.parametrize("event", list(HoldEvent))
def test_any_second_resolution_raises(state: HoldState, event: HoldEvent) -> None:
    with pytest.raises(StateError) as e:
        transition_hold(state, event)
    assert e.value.code == "hold_already_resolved" and e.value.status == 409


@given(st.sampled_from(OUTCOMES), st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=5))
def test_resolves_exactly_once(first: HoldEvent, later: list[HoldEvent]) -> None:
    state = resolve_hold(fund_hold(HoldState.PENDING), first)
    for outcome in later:
        with pytest.raises(StateError) as e:
            resolve_hold(state, outcome)
        assert e.value.code == "hold_already_resolved"


def test_wrong_moves() -> None:
    with pytest.raises(StateError) as e:
        fund_hold(HoldState.HELD)
    assert e.value.code == "hold_already_funded"
    for outcome in ("apply", "forfeit"):
        with pytest.raises(StateError) as e:
            resolve_hold(HoldState.PENDING, outcome)
        assert e.value.code == "hold_not_funded"
    with pytest.raises(ValidationError) as e:
        resolve_hold(HoldState.HELD, "fund")
    assert e.value.code == "invalid_hold_outcome"
    with pytest.raises(ValidationError) as e:
        resolve_hold(HoldState.HELD, "burn")
    assert e.value.code == "invalid_hold_outcome"
    with pytest.raises(ValidationError):
        resolve_hold("limbo", "apply")
