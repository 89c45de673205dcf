"""IP pledges (知识产权质押): a pledged asset may not be sold or exclusively
licensed without the pledgee's recorded consent, until the pledge is released.

A pledge blocks from its start date until it is *released*, even after the
secured debt's term has ended: a pledge stands until it is deregistered, so
only the release lifts it. The trading modes it restricts are a setting
(``DEFAULT_PLEDGE_RESTRICTED_MODES``): assignment and capital contribution move
the ownership; exclusive and sole licences shut everybody else out and so take
most of the collateral's value. Civil Code art. 444 lets the pledgee refuse any
licence, so an operator may widen the set.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum

from exchange.errors import RuleViolationError, StateError, ValidationError
from exchange.money import Money

__all__ = [
    "DEFAULT_PLEDGE_RESTRICTED_MODES",
    "Pledge",
    "PledgeState",
    "PLEDGE_TRANSITIONS",
    "check_pledge_allows",
    "pledge_blocks",
    "record_consent",
    "release_pledge",
]

#: Trading-mode values (as listings name them) that need the pledgee's consent.
DEFAULT_PLEDGE_RESTRICTED_MODES: frozenset[str] = frozenset(
    {"assignment", "exclusive_licence", "sole_licence", "capital_contribution"}
)


class PledgeState(str, Enum):
    ACTIVE = "active"
    RELEASED = "released"


PLEDGE_TRANSITIONS: dict[PledgeState, frozenset[PledgeState]] = {
    PledgeState.ACTIVE: frozenset({PledgeState.RELEASED}),
    PledgeState.RELEASED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Pledge:
    """A pledge over one or more assets, with the modes the pledgee has consented to."""

    pledgor: str
    pledgee: str
    secured_amount: Money
    starts_on: date
    ends_on: date | None = None
    assets: tuple[str, ...] = ()
    state: PledgeState = PledgeState.ACTIVE
    consented_modes: frozenset[str] = field(default_factory=frozenset)
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.pledgor or not self.pledgee:
            raise ValidationError("A pledge names its pledgor and pledgee.", code="invalid_pledge")
        if not isinstance(self.secured_amount, Money) or self.secured_amount.fen <= 0:
            raise ValidationError("The secured amount must be more than zero.", code="invalid_amount",
                                  field="secured_amount")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValidationError("A pledge cannot end before it starts.", code="invalid_pledge", field="ends_on")
        # Stored values may arrive as plain strings; normalise so identity checks hold.
        object.__setattr__(self, "state", PledgeState(self.state))
        object.__setattr__(self, "consented_modes", frozenset(_mode(m) for m in self.consented_modes))


def _mode(mode: object) -> str:
    # Accept the listings package's str enum or its plain value without importing it.
    value = getattr(mode, "value", mode)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"Unknown trading mode {mode!r}.", code="invalid_trading_mode", field="mode")
    return value


def pledge_blocks(
    pledge: Pledge, mode: object, on: date, *, restricted: frozenset[str] = DEFAULT_PLEDGE_RESTRICTED_MODES
) -> bool:
    """True when this pledge forbids dealing in ``mode`` on ``on``."""
    mode = _mode(mode)
    return (
        pledge.state is PledgeState.ACTIVE
        and pledge.starts_on <= on
        and mode in restricted
        and mode not in pledge.consented_modes
    )


def check_pledge_allows(
    pledges: Iterable[Pledge],
    mode: object,
    on: date,
    *,
    restricted: frozenset[str] = DEFAULT_PLEDGE_RESTRICTED_MODES,
) -> None:
    """Raise ``RuleViolationError`` ``pledged_without_consent`` if any pledge blocks ``mode`` on ``on``."""
    blocking = [p for p in pledges if pledge_blocks(p, mode, on, restricted=restricted)]
    if blocking:
        raise RuleViolationError(
            "The asset is pledged; this trade needs the pledgee's recorded consent.",
            code="pledged_without_consent",
            field="mode",
            details={"mode": _mode(mode), "pledgees": sorted({p.pledgee for p in blocking}),
                     "pledges": [p.reference for p in blocking if p.reference]},
        )


def record_consent(pledge: Pledge, mode: object) -> Pledge:
    """The pledge with the pledgee's consent to ``mode`` recorded (``pledge_already_released`` if released)."""
    if pledge.state is PledgeState.RELEASED:
        raise StateError("This pledge has been released.", code="pledge_already_released")
    return replace(pledge, consented_modes=pledge.consented_modes | {_mode(mode)})


def release_pledge(pledge: Pledge) -> Pledge:
    """The pledge released; it resolves once (``pledge_already_released`` on a second release)."""
    if PledgeState.RELEASED not in PLEDGE_TRANSITIONS[pledge.state]:
        raise StateError("This pledge has already been released.", code="pledge_already_released",
                         details={"from": pledge.state.value, "to": PledgeState.RELEASED.value})
    return replace(pledge, state=PledgeState.RELEASED)
