"""Open licence (开放许可, Patent Law art. 50-52): the declared fee and term."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from exchange.errors import RuleViolationError, ValidationError
from exchange.money import Money

from ._dates import add_years
from .enums import OpenLicenceFeeKind

DEFAULT_OPEN_LICENCE_MIN_TERM_YEARS = 1


@dataclass(frozen=True, slots=True)
class OpenLicenceTerms:
    """A declared open licence. ``term_end`` is the last day of the licence (inclusive)."""

    fee_kind: OpenLicenceFeeKind
    term_start: date
    term_end: date
    lump_sum: Money | None = None
    royalty_rate: Decimal | None = None
    entry_fee: Money | None = None


_FEE_MESSAGES: dict[OpenLicenceFeeKind, str] = {
    OpenLicenceFeeKind.LUMP_SUM: "A lump-sum open licence declares a positive lump sum and nothing else.",
    OpenLicenceFeeKind.ROYALTY: "A royalty open licence declares a royalty rate above 0 and at most 1, "
    "and nothing else.",
    OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY: "An entry fee plus royalty declares a positive entry fee and a "
    "royalty rate above 0 and at most 1, and no lump sum.",
}


def _fee_problem(t: OpenLicenceTerms) -> str | None:
    """Each fee kind needs exactly its own fields: anything extra would make the declared fee ambiguous."""
    kind = t.fee_kind
    wants_lump = kind is OpenLicenceFeeKind.LUMP_SUM
    wants_entry = kind is OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY
    wants_rate = kind in (OpenLicenceFeeKind.ROYALTY, OpenLicenceFeeKind.ENTRY_FEE_PLUS_ROYALTY)

    def positive(m: Money | None) -> bool:
        return m is not None and m.fen > 0

    rate = t.royalty_rate
    rate_ok = isinstance(rate, Decimal) and Decimal(0) < rate <= Decimal(1)
    ok = (
        (positive(t.lump_sum) if wants_lump else t.lump_sum is None)
        and (positive(t.entry_fee) if wants_entry else t.entry_fee is None)
        and (rate_ok if wants_rate else rate is None)
    )
    return None if ok else _FEE_MESSAGES[kind]


def check_open_licence_terms(
    terms: OpenLicenceTerms,
    patent_expiry: date,
    min_term_years: int = DEFAULT_OPEN_LICENCE_MIN_TERM_YEARS,
) -> None:
    """Check a declaration against the patent's last day in force.

    Codes: ``open_licence_fee_invalid`` (ValidationError),
    ``open_licence_term_too_short``, ``open_licence_beyond_patent_term`` (RuleViolationError).
    """
    problem = _fee_problem(terms)
    if problem:
        raise ValidationError(problem, code="open_licence_fee_invalid", field="fee")
    # A term of one year starting 2026-01-01 ends on 2026-12-31, the day before the anniversary.
    shortest_end = add_years(terms.term_start, min_term_years) - timedelta(days=1)
    if terms.term_end < shortest_end:
        raise RuleViolationError(
            "An open licence runs for at least %(years)d year(s) (to %(end)s or later).",
            params={"years": min_term_years, "end": shortest_end.isoformat()},
            code="open_licence_term_too_short",
            field="term_end",
        )
    if terms.term_end > patent_expiry:
        raise RuleViolationError(
            "An open licence cannot outlast the patent, in force until %(expiry)s.",
            params={"expiry": patent_expiry.isoformat()},
            code="open_licence_beyond_patent_term",
            field="term_end",
        )
