"""People-facing names of the listings enums (English msgids, Chinese in the catalogue).

The stored values stay lower snake_case English; pages show these labels.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l

from listings import domain as d

# Keyed by enum class first: StrEnum members of different enums with the same value
# (TradingMode.EXCLUSIVE_LICENCE and EncumbranceKind.EXCLUSIVE_LICENCE) are equal dict keys.
LABELS: dict[type, dict[Any, Any]] = {
    d.AssetKind: {
        d.AssetKind.INVENTION_PATENT: _l("Invention patent"),
        d.AssetKind.UTILITY_MODEL: _l("Utility model"),
        d.AssetKind.DESIGN_PATENT: _l("Design patent"),
        d.AssetKind.PATENT_APPLICATION_RIGHT: _l("Patent application right"),
        d.AssetKind.SOFTWARE_COPYRIGHT: _l("Software copyright"),
        d.AssetKind.IC_LAYOUT_DESIGN: _l("IC layout design"),
        d.AssetKind.PLANT_VARIETY: _l("New plant variety"),
        d.AssetKind.TECHNICAL_SECRET: _l("Technical secret (know-how)"),
    },
    d.TradingMode: {
        d.TradingMode.ASSIGNMENT: _l("Assignment"),
        d.TradingMode.EXCLUSIVE_LICENCE: _l("Exclusive licence"),
        d.TradingMode.SOLE_LICENCE: _l("Sole licence"),
        d.TradingMode.ORDINARY_LICENCE: _l("Ordinary licence"),
        d.TradingMode.OPEN_LICENCE: _l("Open licence"),
        d.TradingMode.CAPITAL_CONTRIBUTION: _l("Capital contribution"),
    },
    d.ListingState: {
        d.ListingState.DRAFT: _l("Draft"),
        d.ListingState.SUBMITTED: _l("Submitted"),
        d.ListingState.REJECTED: _l("Sent back"),
        d.ListingState.PUBLISHED: _l("In publicity"),
        d.ListingState.SUSPENDED: _l("Suspended"),
        d.ListingState.AWAITING_NEGOTIATION: _l("Negotiated transfer"),
        d.ListingState.AWAITING_AUCTION: _l("Awaiting auction"),
        d.ListingState.IN_AUCTION: _l("In auction"),
        d.ListingState.SOLD: _l("Sold"),
        d.ListingState.UNSOLD: _l("Unsold"),
        d.ListingState.TERMINATED: _l("Terminated"),
        d.ListingState.WITHDRAWN: _l("Withdrawn"),
    },
    d.RegistrationState: {
        d.RegistrationState.PENDING_DEPOSIT: _l("Deposit due"),
        d.RegistrationState.DEPOSIT_PAID: _l("Deposit received"),
        d.RegistrationState.QUALIFIED: _l("Qualified"),
        d.RegistrationState.REJECTED: _l("Not qualified"),
        d.RegistrationState.LAPSED: _l("Lapsed (deposit not paid)"),
        d.RegistrationState.WITHDRAWN: _l("Withdrawn"),
    },
    d.AssetConfirmation: {
        d.AssetConfirmation.UNCONFIRMED: _l("Not yet reviewed"),
        d.AssetConfirmation.PENDING: _l("Under review"),
        d.AssetConfirmation.CONFIRMED: _l("Rights confirmed"),
        d.AssetConfirmation.REJECTED: _l("Confirmation refused"),
    },
    d.EncumbranceKind: {
        d.EncumbranceKind.PLEDGE: _l("Pledge"),
        d.EncumbranceKind.EXCLUSIVE_LICENCE: _l("Existing exclusive licence"),
        d.EncumbranceKind.SOLE_LICENCE: _l("Existing sole licence"),
        d.EncumbranceKind.COURT_FREEZE: _l("Court freeze"),
    },
    d.RightType: {
        d.RightType.OWNERSHIP: _l("Ownership"),
        d.RightType.OPERATING: _l("Operating right"),
        d.RightType.REVENUE: _l("Revenue right"),
    },
    d.ValuationMethod: {
        d.ValuationMethod.COST: _l("Cost method"),
        d.ValuationMethod.INCOME: _l("Income method"),
        d.ValuationMethod.MARKET: _l("Market method"),
    },
    d.OpenLicenceFeeKind: {
        d.OpenLicenceFeeKind.LUMP_SUM: _l("Lump sum"),
        d.OpenLicenceFeeKind.ROYALTY: _l("Royalty"),
        d.OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY: _l("Entry fee plus royalty"),
    },
}

EVIDENCE_KIND_LABELS = {
    "certificate": _l("Patent certificate"),
    "register_extract": _l("Register extract"),
    "consent": _l("Co-owner consent"),
    "authorisation": _l("Institution authorisation"),
    "appraisal_report": _l("Appraisal report"),
    "licence_contract": _l("Licence contract"),
    "pledge_record": _l("Pledge record"),
    "other": _l("Other document"),
}

CHECKLIST_LABELS = {
    "ownership": _l("Ownership matches the register"),
    "legal_status": _l("Legal status: in force, fees paid, not expired"),
    "consents": _l("Co-owner consents and authorisations on file"),
    "encumbrances": _l("Pledges, licences and freezes checked"),
    "evidence": _l("Evidence documents are genuine and complete"),
}

AUCTION_FORMAT_LABELS = {
    "ascending": _l("Ascending online bidding"),
    "sealed": _l("One-shot sealed bid"),
    "descending": _l("Descending price"),
}

_BADGES: dict[type, dict[Any, str]] = {
    d.ListingState: {
        d.ListingState.PUBLISHED: "ok", d.ListingState.SOLD: "ok",
        d.ListingState.SUBMITTED: "warn", d.ListingState.SUSPENDED: "warn", d.ListingState.REJECTED: "bad",
        d.ListingState.AWAITING_AUCTION: "warn", d.ListingState.IN_AUCTION: "warn",
        d.ListingState.AWAITING_NEGOTIATION: "warn",
        d.ListingState.TERMINATED: "bad", d.ListingState.WITHDRAWN: "bad", d.ListingState.UNSOLD: "bad"},
    d.RegistrationState: {
        d.RegistrationState.QUALIFIED: "ok", d.RegistrationState.DEPOSIT_PAID: "ok",
        d.RegistrationState.PENDING_DEPOSIT: "warn", d.RegistrationState.REJECTED: "bad",
        d.RegistrationState.LAPSED: "bad"},
    d.AssetConfirmation: {d.AssetConfirmation.CONFIRMED: "ok", d.AssetConfirmation.PENDING: "warn",
                          d.AssetConfirmation.REJECTED: "bad"},
}


def label(value: Any) -> str:
    """The translated label of an enum member (or its value when there is none)."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        found = LABELS.get(type(value), {}).get(value)
    else:  # plain codes stored as text: evidence kinds, bidding methods
        found = EVIDENCE_KIND_LABELS.get(value) or AUCTION_FORMAT_LABELS.get(value)
    if found is not None:
        return str(found)
    return str(value.value if isinstance(value, Enum) else value)


def badge_class(value: Any) -> str:
    return _BADGES.get(type(value), {}).get(value, "")


def choices(enum_members) -> list[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    """(value, lazy label) pairs for a select field."""
    return [(m.value, LABELS[type(m)][m]) for m in enum_members]


def _register() -> None:
    """Refusals that name a state or a kind show it by these labels on pages (exchange.http)."""
    from exchange.http import register_enum_labels

    for enum_cls in LABELS:
        register_enum_labels(enum_cls, label)


_register()
