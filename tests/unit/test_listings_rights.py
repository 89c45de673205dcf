"""Ownership and encumbrance checks before a listing goes public."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from exchange.errors import RuleViolationError
from listings.domain import (
    Authorisation,
    Encumbrance,
    EncumbranceKind,
    ListingFacts,
    Owner,
    RightHolding,
    RightType,
    TradingMode,
    check_listable,
    listing_problems,
    seller_rights,
)

D = date
ON = D(2026, 6, 1)
SELLER = "univ-1"


def facts(**overrides: Any) -> ListingFacts:
    """A listable assignment by a sole owner; tests override one thing at a time."""
    base = ListingFacts(seller_party_id=SELLER, mode=TradingMode.ASSIGNMENT, owners=(Owner(SELLER),),
                        expiry=D(2037, 7, 19))
    return replace(base, **overrides)


def codes(f: ListingFacts, on: date = ON) -> list[str]:
    return [p.code for p in listing_problems(f, on)]


def raised_code(f: ListingFacts, on: date = ON) -> str:
    with pytest.raises(RuleViolationError) as exc:
        check_listable(f, on)
    return exc.value.code


# --- one unhappy path per code -------------------------------------------------------------

def test_co_owner_consent_missing() -> None:
    f = facts(owners=(Owner(SELLER, Decimal("0.5")), Owner("corp-2", Decimal("0.5"), consented=False)))
    assert codes(f) == ["co_owner_consent_missing"]
    assert raised_code(f) == "co_owner_consent_missing"
    assert "corp-2" in listing_problems(f, ON)[0].message


def test_employee_invention_unauthorised() -> None:
    f = facts(employee_invention_of=SELLER)
    assert raised_code(f) == "employee_invention_unauthorised"
    # An authorisation for another mode, another grantee, or out of date does not help.
    for auth in (
        Authorisation(SELLER, SELLER, trading_modes=frozenset({TradingMode.ORDINARY_LICENCE})),
        Authorisation(SELLER, "someone-else"),
        Authorisation(SELLER, SELLER, valid_until=D(2026, 5, 31)),
        Authorisation(SELLER, SELLER, valid_from=D(2026, 6, 2)),
        Authorisation("other-univ", SELLER),
    ):
        assert codes(replace(f, authorisations=(auth,))) == ["employee_invention_unauthorised"]


def test_seller_lacks_right_for_assignment_with_only_operating_right() -> None:
    f = facts(seller_party_id="tto-co", owners=(Owner(SELLER, consented=True),),
              holdings=(RightHolding("tto-co", RightType.OPERATING),))
    assert codes(f) == ["seller_lacks_right"]
    assert "ownership" in listing_problems(f, ON)[0].message


def test_revenue_right_alone_sells_nothing() -> None:
    f = facts(seller_party_id="fund", mode=TradingMode.ORDINARY_LICENCE, owners=(Owner(SELLER, consented=True),),
              holdings=(RightHolding("fund", RightType.REVENUE),))
    assert codes(f) == ["seller_lacks_right"]


def test_pledged_without_consent_blocks_transfer_and_licence() -> None:
    pledge = Encumbrance(EncumbranceKind.PLEDGE, D(2025, 1, 1), D(2027, 1, 1), "bank-1")
    assert raised_code(facts(encumbrances=(pledge,))) == "pledged_without_consent"
    assert codes(facts(encumbrances=(pledge,), mode=TradingMode.ORDINARY_LICENCE)) == ["pledged_without_consent"]


@pytest.mark.parametrize("existing", [EncumbranceKind.EXCLUSIVE_LICENCE, EncumbranceKind.SOLE_LICENCE])
@pytest.mark.parametrize("new", [TradingMode.EXCLUSIVE_LICENCE, TradingMode.SOLE_LICENCE, TradingMode.OPEN_LICENCE])
def test_licence_conflict(existing: EncumbranceKind, new: TradingMode) -> None:
    f = facts(mode=new, encumbrances=(Encumbrance(existing, D(2024, 1, 1), D(2028, 12, 31), "lic-1"),))
    assert raised_code(f) == "licence_conflict"


@pytest.mark.parametrize("new", [TradingMode.EXCLUSIVE_LICENCE, TradingMode.SOLE_LICENCE])
def test_open_licence_declared_blocks_exclusive_and_sole(new: TradingMode) -> None:
    assert codes(facts(mode=new, open_licence_declared=True)) == ["licence_conflict"]


def test_court_frozen_blocks_everything_and_comes_first() -> None:
    freeze = Encumbrance(EncumbranceKind.COURT_FREEZE, D(2026, 5, 1), None, "court-1")
    for mode in TradingMode:
        assert raised_code(facts(mode=mode, encumbrances=(freeze,))) == "court_frozen"
    # Even alongside other problems, the freeze is what the service reports.
    f = facts(encumbrances=(freeze,), owners=(Owner(SELLER), Owner("x")))
    assert codes(f) == ["court_frozen", "co_owner_consent_missing"]


def test_patent_expired_or_lapsed() -> None:
    assert raised_code(facts(expiry=D(2026, 5, 31))) == "patent_expired"
    assert raised_code(facts(lapsed=True)) == "patent_expired"


def test_all_problems_are_collected_for_the_checklist() -> None:
    f = facts(
        seller_party_id="tto-co",
        mode=TradingMode.EXCLUSIVE_LICENCE,
        owners=(Owner(SELLER), Owner("corp-2", consented=True)),
        employee_invention_of=SELLER,
        encumbrances=(
            Encumbrance(EncumbranceKind.PLEDGE, D(2025, 1, 1), None, "bank-1"),
            Encumbrance(EncumbranceKind.SOLE_LICENCE, D(2025, 1, 1), None, "lic-1"),
            Encumbrance(EncumbranceKind.COURT_FREEZE, D(2026, 1, 1), None, "court-1"),
        ),
        expiry=D(2026, 1, 1),
    )
    assert codes(f) == [
        "court_frozen",
        "patent_expired",
        "seller_lacks_right",
        "co_owner_consent_missing",
        "employee_invention_unauthorised",
        "pledged_without_consent",
        "licence_conflict",
    ]
    with pytest.raises(RuleViolationError) as exc:
        check_listable(f, ON)
    assert [p["code"] for p in exc.value.details["problems"]] == codes(f)
    # Tuples as well as named fields, for the operator's checklist.
    code, message = listing_problems(f, ON)[0]
    assert code == "court_frozen" and message


# --- happy paths ----------------------------------------------------------------------------

def test_sole_owner_assignment_is_listable() -> None:
    assert listing_problems(facts(), ON) == []
    check_listable(facts(), ON)


def test_co_owners_who_consented() -> None:
    f = facts(owners=(Owner(SELLER, Decimal("0.6")), Owner("corp-2", Decimal("0.4"), consented=True)))
    check_listable(f, ON)


def test_authorised_employee_invention() -> None:
    auth = Authorisation(SELLER, "tto-co", frozenset({TradingMode.ASSIGNMENT}), D(2026, 1, 1), D(2026, 12, 31))
    f = facts(seller_party_id="tto-co", owners=(Owner(SELLER, consented=True),),
              holdings=(RightHolding("tto-co", RightType.OWNERSHIP),),
              employee_invention_of=SELLER, authorisations=(auth,))
    check_listable(f, ON)


def test_operating_right_holder_may_license() -> None:
    f = facts(seller_party_id="tto-co", mode=TradingMode.ORDINARY_LICENCE, owners=(Owner(SELLER, consented=True),),
              holdings=(RightHolding("tto-co", RightType.OPERATING),))
    assert seller_rights(f) == {RightType.OPERATING}
    check_listable(f, ON)


def test_pledgee_consent_or_released_pledge() -> None:
    consented = Encumbrance(EncumbranceKind.PLEDGE, D(2025, 1, 1), None, "bank-1", consent_to_transfer=True)
    released = Encumbrance(EncumbranceKind.PLEDGE, D(2024, 1, 1), D(2026, 5, 31), "bank-1")
    check_listable(facts(encumbrances=(consented, released)), ON)


def test_existing_licences_leave_other_modes_alone() -> None:
    sole = Encumbrance(EncumbranceKind.SOLE_LICENCE, D(2025, 1, 1), None, "lic-1")
    for mode in (TradingMode.ASSIGNMENT, TradingMode.ORDINARY_LICENCE, TradingMode.CAPITAL_CONTRIBUTION):
        check_listable(facts(mode=mode, encumbrances=(sole,)), ON)
    # An expired exclusive licence no longer blocks, nor does one not yet started.
    for enc in (Encumbrance(EncumbranceKind.EXCLUSIVE_LICENCE, D(2020, 1, 1), D(2026, 5, 31)),
                Encumbrance(EncumbranceKind.EXCLUSIVE_LICENCE, D(2026, 6, 2), None)):
        check_listable(facts(mode=TradingMode.EXCLUSIVE_LICENCE, encumbrances=(enc,)), ON)
    # An open licence may sit beside ordinary licences.
    check_listable(facts(mode=TradingMode.ORDINARY_LICENCE, open_licence_declared=True), ON)
    check_listable(facts(mode=TradingMode.OPEN_LICENCE, open_licence_declared=True), ON)


def test_last_day_in_force_is_listable() -> None:
    check_listable(facts(expiry=ON), ON)


def test_encumbrance_active_on_is_inclusive() -> None:
    e = Encumbrance(EncumbranceKind.PLEDGE, D(2026, 1, 1), D(2026, 1, 31))
    assert [e.active_on(d) for d in (D(2025, 12, 31), D(2026, 1, 1), D(2026, 1, 31), D(2026, 2, 1))] == [
        False, True, True, False]
