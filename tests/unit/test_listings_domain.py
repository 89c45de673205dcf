"""The listings domain package: enums, re-exports, defaults, open-licence terms."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

import pytest

import listings.domain as domain
from exchange.errors import DomainError, RuleViolationError, ValidationError
from exchange.money import Money
from listings.domain import (
    AssetConfirmation,
    AssetKind,
    EncumbranceKind,
    ListingState,
    OpenLicenceFeeKind,
    OpenLicenceTerms,
    RegistrationState,
    RightType,
    TradingMode,
    ValuationMethod,
    check_open_licence_terms,
)

D = date
Y = Money.yuan
EXPIRY = D(2037, 7, 19)


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# --- enums --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (AssetKind, ["invention_patent", "utility_model", "design_patent", "patent_application_right",
                     "software_copyright", "ic_layout_design", "plant_variety", "technical_secret"]),
        (TradingMode, ["assignment", "exclusive_licence", "sole_licence", "ordinary_licence", "open_licence",
                       "capital_contribution"]),
        (RightType, ["ownership", "operating", "revenue"]),
        (EncumbranceKind, ["pledge", "exclusive_licence", "sole_licence", "court_freeze"]),
        (ValuationMethod, ["cost", "income", "market"]),
        (ListingState, ["draft", "submitted", "rejected", "published", "suspended", "awaiting_negotiation",
                        "awaiting_auction", "in_auction", "sold", "unsold", "terminated", "withdrawn"]),
        (RegistrationState, ["pending_deposit", "deposit_paid", "qualified", "rejected", "lapsed", "withdrawn"]),
        (AssetConfirmation, ["unconfirmed", "pending", "confirmed", "rejected"]),
    ],
)
def test_enum_values(enum: type[StrEnum], values: list[str]) -> None:
    assert issubclass(enum, StrEnum)
    assert [m.value for m in enum] == values
    assert enum(values[0]) == values[0]  # stored and compared as plain strings


def test_defaults_are_module_level_constants() -> None:
    assert domain.DEFAULT_PUBLICITY_WORKING_DAYS == 20
    assert domain.DEFAULT_EXTENSION_WORKING_DAYS == 5
    assert domain.DEFAULT_MAX_DEPOSIT_RATIO == Decimal("0.30")
    assert domain.DEFAULT_RELIST_APPROVAL_RATIO == Decimal("0.90")
    assert domain.DEFAULT_MAX_SUSPENSION_MONTHS == 1
    assert domain.DEFAULT_RESUME_MINIMUM_TOTAL == 20 and domain.DEFAULT_RESUME_MINIMUM_MORE == 10
    assert domain.DEFAULT_APPRAISAL_VALIDITY_YEARS == 1
    assert domain.DEFAULT_MIN_COMPARABLES == 3
    assert domain.DEFAULT_OPEN_LICENCE_MIN_TERM_YEARS == 1


def test_everything_public_is_exported() -> None:
    for name in domain.__all__:
        assert hasattr(domain, name)
    assert "normalize_patent_number" in domain.__all__ and "enums" not in domain.__all__


# --- open licence -----------------------------------------------------------------------------

def terms(**kw: object) -> OpenLicenceTerms:
    base: dict[str, object] = dict(fee_kind=OpenLicenceFeeKind.LUMP_SUM, term_start=D(2026, 1, 1),
                                   term_end=D(2026, 12, 31), lump_sum=Y(50_000))
    base.update(kw)
    return OpenLicenceTerms(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "t",
    [
        terms(lump_sum=None),
        terms(lump_sum=Money.zero()),
        terms(royalty_rate=Decimal("0.05")),  # a lump sum declares nothing else
        terms(fee_kind=OpenLicenceFeeKind.ROYALTY, lump_sum=None, royalty_rate=None),
        terms(fee_kind=OpenLicenceFeeKind.ROYALTY, lump_sum=None, royalty_rate=Decimal("0")),
        terms(fee_kind=OpenLicenceFeeKind.ROYALTY, lump_sum=None, royalty_rate=Decimal("1.5")),
        terms(fee_kind=OpenLicenceFeeKind.ROYALTY, royalty_rate=Decimal("0.05")),
        terms(fee_kind=OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY, lump_sum=None, royalty_rate=Decimal("0.05")),
        terms(fee_kind=OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY, lump_sum=None, entry_fee=Y(1000)),
    ],
)
def test_open_licence_fee_invalid(t: OpenLicenceTerms) -> None:
    with pytest.raises(ValidationError) as exc:
        check_open_licence_terms(t, EXPIRY)
    assert code_of(exc) == "open_licence_fee_invalid"


def test_open_licence_term_too_short() -> None:
    for end in (D(2026, 12, 30), D(2025, 12, 31)):
        with pytest.raises(RuleViolationError) as exc:
            check_open_licence_terms(terms(term_end=end), EXPIRY)
        assert code_of(exc) == "open_licence_term_too_short"


def test_open_licence_beyond_patent_term() -> None:
    with pytest.raises(RuleViolationError) as exc:
        check_open_licence_terms(terms(term_end=D(2037, 7, 20)), EXPIRY)
    assert code_of(exc) == "open_licence_beyond_patent_term"
    # A patent with less than a year left cannot carry an open licence at all.
    with pytest.raises(RuleViolationError) as exc:
        check_open_licence_terms(terms(term_end=D(2026, 6, 30)), D(2026, 6, 30))
    assert code_of(exc) == "open_licence_term_too_short"


def test_open_licence_happy() -> None:
    check_open_licence_terms(terms(), EXPIRY)
    check_open_licence_terms(terms(term_end=EXPIRY), EXPIRY)
    check_open_licence_terms(terms(fee_kind=OpenLicenceFeeKind.ROYALTY, lump_sum=None,
                                   royalty_rate=Decimal("0.03")), EXPIRY)
    check_open_licence_terms(terms(fee_kind=OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY, lump_sum=None,
                                   entry_fee=Y(10_000), royalty_rate=Decimal("0.02")), EXPIRY)
    check_open_licence_terms(terms(term_end=D(2027, 12, 31)), EXPIRY, min_term_years=2)
