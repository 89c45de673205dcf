"""Asset identifiers: Chinese patent application numbers, software copyright
registration numbers, and the patent term.

Numbers are typed by people from certificates, register extracts and PDFs, so
the parsers accept the usual variants (``ZL``/``CN`` prefix, spaces, full-width
characters, lowercase ``x``) and store one normal form. Anything else is refused
with a stable code rather than guessed at.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from exchange.errors import RuleViolationError, ValidationError

from ._dates import add_years
from .enums import PATENT_KINDS, AssetKind

# -- patent application numbers -------------------------------------------------

#: Weights applied to the digits left to right, cycling (CNIPA check-character rule).
PATENT_CHECK_WEIGHTS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
#: The 12-digit format started with applications filed in 2003.
MODERN_FORMAT_FIRST_YEAR = 2003
#: Two-digit years of the legacy 8-digit format: 85..99 → 1985..1999, 00..02 → 2000..2002.
LEGACY_FIRST_YEAR = 1985
LEGACY_LAST_YEAR = 2002
#: Type digits: 1 invention, 2 utility model, 3 design, 8 PCT invention, 9 PCT utility model.
PATENT_TYPE_DIGITS: frozenset[int] = frozenset({1, 2, 3, 8, 9})

#: Which type digits each patent kind accepts. A patent application right
#: (专利申请权) can be transferred for any kind of pending application (Patent
#: Law art. 10), so it accepts every type digit.
KIND_TYPE_DIGITS: dict[AssetKind, frozenset[int]] = {
    AssetKind.INVENTION_PATENT: frozenset({1, 8}),
    AssetKind.UTILITY_MODEL: frozenset({2, 9}),
    AssetKind.DESIGN_PATENT: frozenset({3}),
    AssetKind.PATENT_APPLICATION_RIGHT: PATENT_TYPE_DIGITS,
}

# A dot is only meaningful right before the check character.
_PATENT_RE = re.compile(r"^(?P<body>\d{12}|\d{8})\.?(?P<check>[0-9X])$")


@dataclass(frozen=True, slots=True)
class PatentNumber:
    """A validated patent application number in its normal form (``201710601862.3``)."""

    normal: str
    filing_year: int
    type_digit: int
    serial: str
    check: str

    @property
    def body(self) -> str:
        """The digits the check character is computed over."""
        return self.normal.split(".")[0]

    @property
    def is_legacy(self) -> bool:
        """True for the pre-2003 8-digit form."""
        return len(self.body) == 8

    @property
    def granted_form(self) -> str:
        """How a granted patent is written on the certificate (``ZL201710601862.3``)."""
        return "ZL" + self.normal

    def __str__(self) -> str:
        return self.normal


def patent_check_character(body: str) -> str:
    """The check character for the digits of an application number (``'X'`` for 10)."""
    if not body.isdigit() or not body.isascii():
        raise ValidationError("A patent number body is digits only.", code="patent_number_format")
    total = sum(int(ch) * PATENT_CHECK_WEIGHTS[i % len(PATENT_CHECK_WEIGHTS)] for i, ch in enumerate(body))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _clean(text: object) -> str:
    if not isinstance(text, str):
        raise ValidationError("The number must be text.", code="patent_number_format", field="number")
    # NFKC turns full-width digits, letters and the full-width dot into ASCII,
    # which is how numbers copied from Chinese documents usually arrive.
    cleaned = unicodedata.normalize("NFKC", text).upper()
    return "".join(cleaned.split())


def normalize_patent_number(text: str) -> PatentNumber:
    """Parse and validate a Chinese patent application number.

    Accepts ``ZL201710601862.3``, ``CN 2017 1 0601862.3``, ``2017106018623``,
    ``97101765.4`` and the like. Raises ``ValidationError`` with code
    ``patent_number_format`` or ``patent_check_character``.
    """
    s = _clean(text)
    for prefix in ("ZL", "CN"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    m = _PATENT_RE.match(s)
    if not m:
        raise ValidationError(
            "%(number)r is not a patent application number "
            "(12 digits + check character since 2003, 8 digits + check character before).",
            params={"number": text},
            code="patent_number_format",
            field="number",
        )
    body, check = m.group("body"), m.group("check")
    if len(body) == 12:
        filing_year, type_digit, serial = int(body[:4]), int(body[4]), body[5:]
        if filing_year < MODERN_FORMAT_FIRST_YEAR:
            raise ValidationError(
                "12-digit application numbers start with a filing year of %(year)d or later.",
                params={"year": MODERN_FORMAT_FIRST_YEAR},
                code="patent_number_format",
                field="number",
            )
    else:
        yy, type_digit, serial = int(body[:2]), int(body[2]), body[3:]
        filing_year = (1900 if yy >= LEGACY_FIRST_YEAR % 100 else 2000) + yy
        if not LEGACY_FIRST_YEAR <= filing_year <= LEGACY_LAST_YEAR:
            raise ValidationError(
                "8-digit application numbers were used for filings from 1985 to 2002.",
                code="patent_number_format",
                field="number",
            )
    if type_digit not in PATENT_TYPE_DIGITS:
        raise ValidationError(
            "Unknown patent type digit %(digit)d (1, 2, 3, 8 or 9).",
            params={"digit": type_digit},
            code="patent_number_format",
            field="number",
        )
    if patent_check_character(body) != check:
        raise ValidationError(
            "The check character of %(number)r is wrong; please re-check the number.",
            params={"number": text},
            code="patent_check_character",
            field="number",
        )
    return PatentNumber(f"{body}.{check}", filing_year, type_digit, serial, check)


def patent_type_matches(kind: AssetKind, type_digit: int) -> bool:
    """Whether an application number's type digit fits the asset kind."""
    return type_digit in KIND_TYPE_DIGITS.get(kind, frozenset())


def check_patent_type(kind: AssetKind, type_digit: int) -> None:
    """Raise ``ValidationError`` ``patent_type_mismatch`` when the type digit does not fit."""
    if not patent_type_matches(kind, type_digit):
        raise ValidationError(
            "A number with type digit %(digit)d does not match the kind of asset chosen (%(kind)s).",
            params={"digit": type_digit, "kind": kind},
            code="patent_type_mismatch",
            field="number",
        )


def patent_kind_for_type_digit(type_digit: int) -> AssetKind:
    """The granted-patent kind a type digit denotes (PCT entries map to their national kind)."""
    if type_digit in (1, 8):
        return AssetKind.INVENTION_PATENT
    if type_digit in (2, 9):
        return AssetKind.UTILITY_MODEL
    if type_digit == 3:
        return AssetKind.DESIGN_PATENT
    raise ValidationError("Unknown patent type digit %(digit)s.", params={"digit": type_digit},
                          code="patent_number_format")


# -- patent term ------------------------------------------------------------------

#: Patent Law art. 42. Design patents filed on or after 2021-06-01 (the fourth
#: amendment's entry into force) get 15 years; earlier ones keep 10.
INVENTION_TERM_YEARS = 20
UTILITY_MODEL_TERM_YEARS = 10
DESIGN_TERM_YEARS_BEFORE_2021 = 10
DESIGN_TERM_YEARS = 15
DESIGN_TERM_CHANGE_DATE = date(2021, 6, 1)


def patent_term_years(kind: AssetKind, filing_date: date, type_digit: int | None = None) -> int:
    """The statutory term in years. A patent application right needs ``type_digit``."""
    if kind is AssetKind.PATENT_APPLICATION_RIGHT:
        if type_digit is None:
            raise ValidationError(
                "The term of a patent application right depends on the application's type.",
                code="patent_type_required",
            )
        kind = patent_kind_for_type_digit(type_digit)
    if kind is AssetKind.INVENTION_PATENT:
        return INVENTION_TERM_YEARS
    if kind is AssetKind.UTILITY_MODEL:
        return UTILITY_MODEL_TERM_YEARS
    if kind is AssetKind.DESIGN_PATENT:
        return DESIGN_TERM_YEARS if filing_date >= DESIGN_TERM_CHANGE_DATE else DESIGN_TERM_YEARS_BEFORE_2021
    raise ValidationError(f"A {kind.value} has no patent term.", code="not_a_patent")


def patent_expiry(
    kind: AssetKind,
    filing_date: date,
    *,
    type_digit: int | None = None,
    extension_days: int = 0,
) -> date:
    """The last day on which the patent is in force.

    The term counts from the filing date, so it covers ``filing_date`` up to the
    day before the anniversary: the CNIPA writes a utility model filed
    1999-09-06 as in force 1999-09-06 to 2009-09-05. ``extension_days`` carries
    a granted term compensation (专利权期限补偿, Patent Law art. 42(2)-(3)).
    """
    years = patent_term_years(kind, filing_date, type_digit)
    return add_years(filing_date, years) - timedelta(days=1) + timedelta(days=extension_days)


def patent_expired(expiry: date, today: date) -> bool:
    """True once ``today`` is after the last day in force."""
    return today > expiry


# -- software copyright -------------------------------------------------------------

#: China's software registration started under the 1991 regulations.
SOFTWARE_REGISTRATION_FIRST_YEAR = 1991
_SOFTWARE_RE = re.compile(r"^(?P<year>\d{4})SR(?P<serial>\d{6,7})$")


def software_copyright_number(text: str) -> str:
    """Normalise a software copyright registration number (登记号) like ``2020SR0123456``.

    Raises ``ValidationError`` ``software_number_format``.
    """
    if not isinstance(text, str):
        raise ValidationError("The number must be text.", code="software_number_format", field="number")
    s = "".join(unicodedata.normalize("NFKC", text).upper().split())
    m = _SOFTWARE_RE.match(s)
    if not m or int(m.group("year")) < SOFTWARE_REGISTRATION_FIRST_YEAR:
        raise ValidationError(
            "%(number)r is not a software registration number (e.g. 2020SR0123456).",
            params={"number": text},
            code="software_number_format",
            field="number",
        )
    return s


# Other registers (IC layout designs, plant varieties) use several historical
# formats; we keep the number as typed, tidied, and let the operator check it
# against the register extract during rights confirmation.
_OTHER_MAX_LEN = 64


def _other_identifier(text: str) -> str:
    s = " ".join(unicodedata.normalize("NFKC", text).upper().split())
    if not s or len(s) > _OTHER_MAX_LEN or not any(ch.isdigit() for ch in s):
        raise ValidationError(
            "%(number)r does not look like a registration number.", params={"number": text},
            code="identifier_format", field="number"
        )
    return s


# -- tying it together ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetIdentifier:
    """A checked identifier: ``number`` in normal form (None for a technical secret)."""

    kind: AssetKind
    number: str | None
    patent: PatentNumber | None = None
    expiry: date | None = None


def validate_asset_identifier(
    kind: AssetKind,
    number: str | None,
    filing_date: date | None,
    today: date,
) -> AssetIdentifier:
    """Check an asset's identifier against its kind and return the normal form.

    Codes: ``identifier_not_allowed`` (a technical secret has no public number),
    ``identifier_required``, ``patent_number_format``, ``patent_check_character``,
    ``patent_type_mismatch``, ``filing_date_required``, ``filing_date_in_future``,
    ``patent_filing_year_mismatch``, ``patent_expired`` (RuleViolationError),
    ``software_number_format``, ``identifier_format``.
    """
    blank = number is None or (isinstance(number, str) and not number.strip())
    if kind is AssetKind.TECHNICAL_SECRET:
        if not blank:
            # A know-how's value is its secrecy; a public number would mean it is not secret.
            raise ValidationError(
                "A technical secret has no registration number.", code="identifier_not_allowed", field="number"
            )
        return AssetIdentifier(kind, None)
    if blank:
        raise ValidationError("This kind of asset needs its registration number.",
                              code="identifier_required", field="number")
    assert number is not None
    if kind in PATENT_KINDS:
        pn = normalize_patent_number(number)
        check_patent_type(kind, pn.type_digit)
        if filing_date is None:
            raise ValidationError("A patent needs its filing date.", code="filing_date_required", field="filing_date")
        if filing_date > today:
            raise ValidationError("The filing date is in the future.", code="filing_date_in_future",
                                  field="filing_date")
        if filing_date.year != pn.filing_year:
            raise ValidationError(
                "The number says the application was filed in %(number_year)d, not %(date_year)d.",
                params={"number_year": pn.filing_year, "date_year": filing_date.year},
                code="patent_filing_year_mismatch",
                field="filing_date",
            )
        expiry = patent_expiry(kind, filing_date, type_digit=pn.type_digit)
        if patent_expired(expiry, today):
            raise RuleViolationError(
                "The patent expired on %(expiry)s and cannot be listed.",
                params={"expiry": expiry.isoformat()},
                code="patent_expired",
                details={"expiry": expiry.isoformat()},
            )
        return AssetIdentifier(kind, pn.normal, pn, expiry)
    if kind is AssetKind.SOFTWARE_COPYRIGHT:
        return AssetIdentifier(kind, software_copyright_number(number))
    return AssetIdentifier(kind, _other_identifier(number))
