"""Deposit holds (交易保证金) as a state machine.

A hold is created *pending* when a buyer registers and must pay its deposit,
becomes *held* when the money is in, and then resolves exactly once:

* **applied** – the winner's deposit becomes part of the price;
* **released** – refunded (losers, withdrawn listings); a pending hold that
  never got its money is also closed as released, with nothing to pay back;
* **forfeited** – kept because the buyer defaulted.

The three outcomes are final. Asking to resolve a resolved hold raises
``hold_already_resolved`` whatever the outcome asked for, so a retried job or a
double click can never refund a deposit twice or refund a forfeited one.
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType

from exchange.errors import StateError, ValidationError

__all__ = [
    "HOLD_TRANSITIONS",
    "HoldEvent",
    "HoldState",
    "fund_hold",
    "is_resolved",
    "resolve_hold",
    "transition_hold",
]


class HoldState(str, Enum):
    PENDING = "pending"
    HELD = "held"
    APPLIED = "applied"
    RELEASED = "released"
    FORFEITED = "forfeited"


class HoldEvent(str, Enum):
    """What happens to a hold. ``fund`` is the money arriving; the rest are outcomes."""

    FUND = "fund"
    APPLY = "apply"
    RELEASE = "release"
    FORFEIT = "forfeit"


#: The only allowed moves. Anything not listed raises ``StateError``.
HOLD_TRANSITIONS: Mapping[HoldState, Mapping[HoldEvent, HoldState]] = MappingProxyType({
    HoldState.PENDING: MappingProxyType({
        HoldEvent.FUND: HoldState.HELD,
        HoldEvent.RELEASE: HoldState.RELEASED,  # lapsed: registration ended before any money came
    }),
    HoldState.HELD: MappingProxyType({
        HoldEvent.APPLY: HoldState.APPLIED,
        HoldEvent.RELEASE: HoldState.RELEASED,
        HoldEvent.FORFEIT: HoldState.FORFEITED,
    }),
    HoldState.APPLIED: MappingProxyType({}),
    HoldState.RELEASED: MappingProxyType({}),
    HoldState.FORFEITED: MappingProxyType({}),
})

_RESOLVED = frozenset({HoldState.APPLIED, HoldState.RELEASED, HoldState.FORFEITED})
_OUTCOMES = frozenset({HoldEvent.APPLY, HoldEvent.RELEASE, HoldEvent.FORFEIT})


def is_resolved(state: HoldState | str) -> bool:
    """True once a hold has been applied, released or forfeited."""
    return _state(state) in _RESOLVED


def transition_hold(state: HoldState | str, event: HoldEvent | str) -> HoldState:
    """The state after ``event``, or ``StateError``.

    Codes: ``hold_already_resolved`` (the hold is final), ``hold_already_funded``
    (money for a hold that is already held), ``hold_not_funded`` (applying or
    forfeiting money that never arrived).
    """
    state, event = _state(state), _event(event)
    target = HOLD_TRANSITIONS[state].get(event)
    if target is not None:
        return target
    details = {"from": state.value, "event": event.value}
    if state in _RESOLVED:
        raise StateError(f"This deposit hold is already {state.value}.", code="hold_already_resolved",
                         details=details)
    if event is HoldEvent.FUND:
        raise StateError("This deposit is already held.", code="hold_already_funded", details=details)
    raise StateError("The deposit has not been received.", code="hold_not_funded", details=details)


def fund_hold(state: HoldState | str) -> HoldState:
    """The deposit money has arrived: pending → held."""
    return transition_hold(state, HoldEvent.FUND)


def resolve_hold(state: HoldState | str, outcome: HoldEvent | str) -> HoldState:
    """Resolve a hold once: ``apply``, ``release`` or ``forfeit``.

    ``fund`` is not an outcome (``invalid_hold_outcome``); a resolved hold raises
    ``hold_already_resolved``.
    """
    event = _event(outcome)
    if event not in _OUTCOMES:
        raise ValidationError(f"{event.value!r} does not resolve a hold.", code="invalid_hold_outcome",
                              field="outcome")
    return transition_hold(state, event)


def _state(value: HoldState | str) -> HoldState:
    try:
        return HoldState(value)
    except ValueError:
        raise ValidationError("Unknown hold state %(value)r.", params={"value": value},
                              code="invalid_hold_state") from None


def _event(value: HoldEvent | str) -> HoldEvent:
    try:
        return HoldEvent(value)
    except ValueError:
        raise ValidationError(f"Unknown hold outcome {value!r}.", code="invalid_hold_outcome",
                              field="outcome") from None
