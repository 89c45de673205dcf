"""Patent application numbers, patent terms, software numbers and asset identifiers."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import DomainError, RuleViolationError, ValidationError
from listings.domain import (
    AssetKind,
    normalize_patent_number,
    patent_check_character,
    patent_expiry,
    patent_kind_for_type_digit,
    patent_type_matches,
    software_copyright_number,
    validate_asset_identifier,
)
from listings.domain.identifiers import check_patent_type

D = date
TODAY = D(2026, 6, 1)


def numbered(body: str) -> str:
    """A well-formed number for ``body`` (its check character computed)."""
    return body + "." + patent_check_character(body)


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


# --- unhappy paths -------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "ZL", "2017106018623X",  # too long
        "20171060186.3",  # 11 digits
        "2017-1-0601862.3",  # hyphens are not a known spelling
        "2017.1.0601862.3",  # dots only before the check character
        "201710601862",  # check character missing
        "201710601862.A",
        "200210601862.X",  # 12-digit form before 2003
        "201740601862.3",  # type digit 4 does not exist
        "05101765.4",  # 8-digit form with a year after 2002
        "84101765.4",  # 8-digit form before 1985
        "XX201710601862.3",
        "CN1234567A",  # a publication number, not an application number
    ],
)
def test_bad_format_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_patent_number(text)
    assert code_of(exc) == "patent_number_format"


def test_non_text_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_patent_number(201710601862)  # type: ignore[arg-type]
    assert code_of(exc) == "patent_number_format"


@pytest.mark.parametrize("text", ["201710601862.4", "ZL201710601862.X", "97101765.5", "201910100004.0"])
def test_wrong_check_character_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_patent_number(text)
    assert code_of(exc) == "patent_check_character"
    assert exc.value.field == "number"


def test_type_mismatch() -> None:
    assert not patent_type_matches(AssetKind.UTILITY_MODEL, 1)
    assert not patent_type_matches(AssetKind.SOFTWARE_COPYRIGHT, 1)
    with pytest.raises(ValidationError) as exc:
        check_patent_type(AssetKind.DESIGN_PATENT, 2)
    assert code_of(exc) == "patent_type_mismatch"


@pytest.mark.parametrize("text", ["2020SR01234", "2020SR01234567", "20SR0123456", "2020XR0123456", "1990SR0123456",
                                  "2020 SR 0123456 X", ""])
def test_software_number_format(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        software_copyright_number(text)
    assert code_of(exc) == "software_number_format"


def test_technical_secret_must_have_no_number() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_asset_identifier(AssetKind.TECHNICAL_SECRET, "201710601862.3", None, TODAY)
    assert code_of(exc) == "identifier_not_allowed"


def test_other_kinds_need_a_number() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_asset_identifier(AssetKind.INVENTION_PATENT, "  ", D(2017, 7, 20), TODAY)
    assert code_of(exc) == "identifier_required"


def test_expired_patent_code_with_valid_number() -> None:
    # Utility model filed 2014-03-10: in force to 2024-03-09.
    number = numbered("201420123456")
    with pytest.raises(RuleViolationError) as exc:
        validate_asset_identifier(AssetKind.UTILITY_MODEL, number, D(2014, 3, 10), TODAY)
    assert code_of(exc) == "patent_expired"
    assert exc.value.details == {"expiry": "2024-03-09"}


@pytest.mark.parametrize(
    ("kind", "number", "filed", "code"),
    [
        (AssetKind.UTILITY_MODEL, "201710601862.3", D(2017, 7, 20), "patent_type_mismatch"),
        (AssetKind.INVENTION_PATENT, "201710601862.3", None, "filing_date_required"),
        (AssetKind.INVENTION_PATENT, "201710601862.3", D(2018, 7, 20), "patent_filing_year_mismatch"),
        (AssetKind.PATENT_APPLICATION_RIGHT, numbered("202610601862"), D(2026, 7, 1), "filing_date_in_future"),
        (AssetKind.SOFTWARE_COPYRIGHT, "2020SR01", None, "software_number_format"),
        (AssetKind.IC_LAYOUT_DESIGN, "BS.ABC", None, "identifier_format"),
    ],
)
def test_identifier_refusals(kind: AssetKind, number: str, filed: date | None, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_asset_identifier(kind, number, filed, TODAY)
    assert code_of(exc) == code


def test_application_right_term_needs_the_type() -> None:
    with pytest.raises(ValidationError) as exc:
        patent_expiry(AssetKind.PATENT_APPLICATION_RIGHT, D(2020, 1, 1))
    assert code_of(exc) == "patent_type_required"
    with pytest.raises(ValidationError) as exc:
        patent_expiry(AssetKind.TECHNICAL_SECRET, D(2020, 1, 1))
    assert code_of(exc) == "not_a_patent"


# --- happy paths -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    ["201710601862.3", "ZL201710601862.3", "zl 2017 1 0601862.3", "CN201710601862.3", "2017106018623",
     "ＺＬ２０１７１０６０１８６２．３", " ZL 201710601862 . 3 "],
)
def test_spellings_normalise_to_one_form(text: str) -> None:
    pn = normalize_patent_number(text)
    assert pn.normal == "201710601862.3"
    assert (pn.filing_year, pn.type_digit, pn.serial, pn.check) == (2017, 1, "0601862", "3")
    assert not pn.is_legacy and pn.granted_form == "ZL201710601862.3" and str(pn) == pn.normal


def test_legacy_number() -> None:
    pn = normalize_patent_number("ZL97101765.4")
    assert (pn.normal, pn.filing_year, pn.type_digit, pn.serial, pn.check) == ("97101765.4", 1997, 1, "01765", "4")
    assert pn.is_legacy
    assert normalize_patent_number("02200123.9").filing_year == 2002
    assert normalize_patent_number("88100001.9").filing_year == 1988


def test_lowercase_x_check_character() -> None:
    assert normalize_patent_number("201910100004.x").normal == "201910100004.X"
    assert normalize_patent_number("95100106x").check == "X"


@pytest.mark.parametrize(
    ("kind", "digits"),
    [
        (AssetKind.INVENTION_PATENT, {1, 8}),
        (AssetKind.UTILITY_MODEL, {2, 9}),
        (AssetKind.DESIGN_PATENT, {3}),
        (AssetKind.PATENT_APPLICATION_RIGHT, {1, 2, 3, 8, 9}),
    ],
)
def test_type_digits_per_kind(kind: AssetKind, digits: set[int]) -> None:
    assert {d for d in range(10) if patent_type_matches(kind, d)} == digits


def test_kind_for_type_digit() -> None:
    assert patent_kind_for_type_digit(8) is AssetKind.INVENTION_PATENT
    assert patent_kind_for_type_digit(9) is AssetKind.UTILITY_MODEL
    assert patent_kind_for_type_digit(3) is AssetKind.DESIGN_PATENT


@pytest.mark.parametrize(
    ("kind", "filed", "expiry"),
    [
        (AssetKind.INVENTION_PATENT, D(2017, 7, 20), D(2037, 7, 19)),
        (AssetKind.UTILITY_MODEL, D(1999, 9, 6), D(2009, 9, 5)),  # the CNIPA's own example
        (AssetKind.DESIGN_PATENT, D(2021, 5, 31), D(2031, 5, 30)),  # old law: 10 years
        (AssetKind.DESIGN_PATENT, D(2021, 6, 1), D(2036, 5, 31)),  # new law: 15 years
        (AssetKind.UTILITY_MODEL, D(2016, 2, 29), D(2026, 2, 28)),  # no 29 Feb in 2026
    ],
)
def test_patent_expiry(kind: AssetKind, filed: date, expiry: date) -> None:
    assert patent_expiry(kind, filed) == expiry


def test_patent_expiry_with_application_right_and_compensation() -> None:
    assert patent_expiry(AssetKind.PATENT_APPLICATION_RIGHT, D(2020, 1, 1), type_digit=2) == D(2029, 12, 31)
    assert patent_expiry(AssetKind.INVENTION_PATENT, D(2020, 1, 1), extension_days=30) == D(2040, 1, 30)


def test_software_number_happy() -> None:
    assert software_copyright_number(" 2020sr0123456 ") == "2020SR0123456"
    assert software_copyright_number("2008SR123456") == "2008SR123456"


def test_validate_asset_identifier_happy() -> None:
    ident = validate_asset_identifier(AssetKind.INVENTION_PATENT, "ZL 2017 1 0601862.3", D(2017, 7, 20), TODAY)
    assert ident.number == "201710601862.3" and ident.expiry == D(2037, 7, 19)
    assert ident.patent is not None and ident.patent.type_digit == 1
    # Last day in force is still listable.
    number = numbered("201620123456")
    assert validate_asset_identifier(AssetKind.UTILITY_MODEL, number, D(2016, 6, 2), TODAY).expiry == D(2026, 6, 1)
    assert validate_asset_identifier(AssetKind.TECHNICAL_SECRET, None, None, TODAY).number is None
    assert validate_asset_identifier(AssetKind.TECHNICAL_SECRET, "", None, TODAY).number is None
    software = validate_asset_identifier(AssetKind.SOFTWARE_COPYRIGHT, "2020sr0123456", None, TODAY)
    assert software.number == "2020SR0123456"
    variety = validate_asset_identifier(AssetKind.PLANT_VARIETY, " cna 20151234.5 ", None, TODAY)
    assert variety.number == "CNA 20151234.5"


# --- properties --------------------------------------------------------------------------

modern_bodies = st.builds(
    lambda year, type_digit, serial: f"{year}{type_digit}{serial:07d}",
    st.integers(2003, 2099),
    st.sampled_from([1, 2, 3, 8, 9]),
    st.integers(0, 9_999_999),
)
legacy_bodies = st.builds(
    lambda yy, type_digit, serial: f"{yy:02d}{type_digit}{serial:05d}",
    st.sampled_from([*range(85, 100), 0, 1, 2]),
    st.sampled_from([1, 2, 3, 8, 9]),
    st.integers(0, 99_999),
)


@given(st.one_of(modern_bodies, legacy_bodies), st.sampled_from(["", "ZL", "CN", "zl "]), st.booleans())
def test_check_character_round_trips(body: str, prefix: str, dot: bool) -> None:
    check = patent_check_character(body)
    pn = normalize_patent_number(prefix + body + ("." if dot else "") + check.lower())
    assert pn.normal == f"{body}.{check}"
    assert pn.body == body


@given(modern_bodies, st.integers(5, 11), st.integers(1, 9))
def test_corrupting_one_serial_digit_fails_the_check(body: str, position: int, delta: int) -> None:
    check = patent_check_character(body)
    corrupted = body[:position] + str((int(body[position]) + delta) % 10) + body[position + 1:]
    with pytest.raises(ValidationError) as exc:
        normalize_patent_number(f"{corrupted}.{check}")
    assert code_of(exc) == "patent_check_character"


@given(st.one_of(modern_bodies, legacy_bodies), st.data())
def test_corrupting_any_digit_is_refused(body: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(body) - 1))
    delta = data.draw(st.integers(1, 9))
    check = patent_check_character(body)
    corrupted = body[:position] + str((int(body[position]) + delta) % 10) + body[position + 1:]
    with pytest.raises(ValidationError):  # format (year/type) or check character
        normalize_patent_number(f"{corrupted}.{check}")
