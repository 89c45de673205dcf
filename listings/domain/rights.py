"""Ownership and encumbrance checks made before a listing goes public (确权).

The operator sees every problem at once as a checklist (``listing_problems``);
a service that must refuse raises the first (``check_listable``). The order of
the checklist puts the blockers nobody can cure by paperwork first.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from exchange.errors import RuleViolationError

from .enums import EncumbranceKind, RightType, TradingMode


class Problem(NamedTuple):
    """One reason an asset cannot be listed as proposed: a stable code and a message."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Owner:
    """A registered (co-)owner of the asset and whether it consented in writing to this listing."""

    party_id: str
    share: Decimal | None = None
    consented: bool = False


@dataclass(frozen=True, slots=True)
class RightHolding:
    """A split-off right (operating or revenue right, or ownership) held by a party."""

    party_id: str
    right_type: RightType


@dataclass(frozen=True, slots=True)
class Authorisation:
    """An institution's authorisation to commercialise an employee invention (职务科技成果).

    ``trading_modes`` empty means any mode; ``valid_until`` None means no end.
    """

    institution_party_id: str
    grantee_party_id: str
    trading_modes: frozenset[TradingMode] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None

    def covers(self, institution_party_id: str, seller_party_id: str, mode: TradingMode, on: date) -> bool:
        return (
            self.institution_party_id == institution_party_id
            and self.grantee_party_id == seller_party_id
            and (not self.trading_modes or mode in self.trading_modes)
            and (self.valid_from is None or self.valid_from <= on)
            and (self.valid_until is None or on <= self.valid_until)
        )


@dataclass(frozen=True, slots=True)
class Encumbrance:
    """A recorded burden on the asset, in force from ``start`` to ``end`` inclusive (None: open-ended)."""

    kind: EncumbranceKind
    start: date
    end: date | None = None
    holder_party_id: str | None = None
    consent_to_transfer: bool = False

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


#: The seller must hold one of these rights to offer a mode. Licensing is an act
#: of operating the right, which the owner also may do (unless it gave an
#: exclusive licence away, which is checked as an encumbrance).
RIGHTS_NEEDED: dict[TradingMode, frozenset[RightType]] = {
    TradingMode.ASSIGNMENT: frozenset({RightType.OWNERSHIP}),
    TradingMode.CAPITAL_CONTRIBUTION: frozenset({RightType.OWNERSHIP}),
    TradingMode.EXCLUSIVE_LICENCE: frozenset({RightType.OWNERSHIP, RightType.OPERATING}),
    TradingMode.SOLE_LICENCE: frozenset({RightType.OWNERSHIP, RightType.OPERATING}),
    TradingMode.ORDINARY_LICENCE: frozenset({RightType.OWNERSHIP, RightType.OPERATING}),
    TradingMode.OPEN_LICENCE: frozenset({RightType.OWNERSHIP, RightType.OPERATING}),
}

_EXCLUSIVE_KINDS = frozenset({TradingMode.EXCLUSIVE_LICENCE, TradingMode.SOLE_LICENCE})

#: New modes that an active licence encumbrance blocks. (An exclusive licensee
#: would also object to a new ordinary licence in its territory; the rule book
#: names only exclusive, sole and open, so that is what is enforced here.)
LICENCE_BLOCKS: dict[EncumbranceKind, frozenset[TradingMode]] = {
    # An exclusive licensee has the field to itself, so even an ordinary licence would breach it.
    EncumbranceKind.EXCLUSIVE_LICENCE: _EXCLUSIVE_KINDS | {TradingMode.OPEN_LICENCE, TradingMode.ORDINARY_LICENCE},
    EncumbranceKind.SOLE_LICENCE: _EXCLUSIVE_KINDS | {TradingMode.OPEN_LICENCE},
}

#: While an open licence is declared, no exclusive or sole licence may be granted (Patent Law art. 52).
OPEN_LICENCE_BLOCKS: frozenset[TradingMode] = _EXCLUSIVE_KINDS


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What is known about the asset and the proposed listing when the operator checks it."""

    seller_party_id: str
    mode: TradingMode
    owners: Sequence[Owner]
    holdings: Sequence[RightHolding] = ()
    #: Set when the asset is an employee invention of this university or institute.
    employee_invention_of: str | None = None
    authorisations: Sequence[Authorisation] = ()
    encumbrances: Sequence[Encumbrance] = ()
    open_licence_declared: bool = False
    #: Last day in force for patents (see ``patent_expiry``); None when it has no term.
    expiry: date | None = None
    #: Lapsed before expiry (unpaid annual fee, surrender, invalidation: 失效).
    lapsed: bool = False


def seller_rights(facts: ListingFacts) -> frozenset[RightType]:
    """The rights the seller holds: ownership as a registered owner, plus split-off rights it holds."""
    rights = {h.right_type for h in facts.holdings if h.party_id == facts.seller_party_id}
    if any(o.party_id == facts.seller_party_id for o in facts.owners):
        rights.add(RightType.OWNERSHIP)
    return frozenset(rights)


def listing_problems(facts: ListingFacts, on: date) -> list[Problem]:
    """Every reason the listing cannot go public on ``on``, most fundamental first; empty if none.

    Codes: ``court_frozen``, ``patent_expired``, ``seller_lacks_right``,
    ``co_owner_consent_missing``, ``employee_invention_unauthorised``,
    ``pledged_without_consent``, ``licence_conflict``.
    """
    problems: list[Problem] = []
    active = [e for e in facts.encumbrances if e.active_on(on)]
    mode = facts.mode

    if any(e.kind is EncumbranceKind.COURT_FREEZE for e in active):
        problems.append(Problem("court_frozen", "The asset is frozen by a court; nothing can be done with it."))

    if facts.lapsed:
        problems.append(Problem("patent_expired", "The patent has lapsed and cannot be listed."))
    elif facts.expiry is not None and on > facts.expiry:
        problems.append(Problem("patent_expired", f"The patent expired on {facts.expiry.isoformat()}."))

    needed = RIGHTS_NEEDED[mode]
    if not seller_rights(facts) & needed:
        wanted = " or ".join(sorted(r.value for r in needed))
        problems.append(
            Problem("seller_lacks_right", f"To offer {mode.value} the seller must hold the {wanted} right.")
        )

    # The seller's own listing is its consent; every other co-owner must consent in writing.
    missing = [o.party_id for o in facts.owners if o.party_id != facts.seller_party_id and not o.consented]
    if missing:
        problems.append(Problem("co_owner_consent_missing", "Written consent missing from co-owner(s): "
                                + ", ".join(missing) + "."))

    institution = facts.employee_invention_of
    if institution is not None and not any(
        a.covers(institution, facts.seller_party_id, mode, on) for a in facts.authorisations
    ):
        problems.append(Problem("employee_invention_unauthorised",
                                "This employee invention needs the institution's authorisation for this listing."))

    # Civil Code art. 444: after an IP right is pledged the pledgor may neither
    # transfer nor license it without the pledgee's agreement, so a pledge
    # blocks every mode, not only assignments.
    if any(e.kind is EncumbranceKind.PLEDGE and not e.consent_to_transfer for e in active):
        problems.append(Problem("pledged_without_consent", "The asset is pledged and the pledgee has not consented."))

    blocking = [e for e in active if mode in LICENCE_BLOCKS.get(e.kind, frozenset())]
    if blocking:
        problems.append(Problem("licence_conflict",
                                f"An existing {blocking[0].kind.value.replace('_', ' ')} prevents a new "
                                f"{mode.value.replace('_', ' ')}."))
    elif facts.open_licence_declared and mode in OPEN_LICENCE_BLOCKS:
        problems.append(Problem("licence_conflict",
                                "While an open licence is declared no exclusive or sole licence may be granted."))
    return problems


def check_listable(facts: ListingFacts, on: date) -> None:
    """Raise ``RuleViolationError`` with the first problem's code; the others go in ``details``."""
    problems = listing_problems(facts, on)
    if problems:
        first = problems[0]
        raise RuleViolationError(
            first.message,
            code=first.code,
            details={"problems": [p._asdict() for p in problems]},
        )
