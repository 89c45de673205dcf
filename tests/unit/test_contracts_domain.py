"""Contracts, registration, tax relief and certificates: the rules without a database."""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.domain import (
    CONTRACT_SUBTYPES,
    CROCKFORD_ALPHABET,
    DEFAULT_MIN_TECHNOLOGY_SHARE,
    MAX_CERTIFICATE_SERIAL,
    TYPE_OF_SUBTYPE,
    CertificateState,
    ContractState,
    ContractSubtype,
    ContractType,
    NonTechnicalItem,
    RefusalReason,
    RegistrationInput,
    RegistrationNumber,
    RegistrationParty,
    RegistrationState,
    SigningSide,
    apply_signature,
    certificate_deadline,
    certificate_fingerprint,
    certificate_issuable,
    certificate_short_code,
    check_certificate_transition,
    check_contract_subtype,
    check_registration_transition,
    check_text_editable,
    check_transition,
    classify_deal,
    contract_text_fingerprint,
    format_registration_number,
    normalise_short_code,
    parse_registration_number,
    registration_deadline,
    registration_problems,
    signing_deadline,
    tax_relief,
    taxable_transfer_income,
    technology_amount,
    valid_region_code,
    valid_short_code,
)
from exchange.calendar import BusinessCalendar, Deadline
from exchange.errors import (
    ConflictError,
    CurrencyMismatchError,
    DomainError,
    RuleViolationError,
    StateError,
    ValidationError,
)
from exchange.money import Money

CAL = BusinessCalendar.bundled()
Y = Money.yuan
T, S = ContractType, ContractSubtype


@contextmanager
def raises(exc: type[DomainError], code: str) -> Iterator[pytest.ExceptionInfo]:
    """``pytest.raises`` that also pins the stable error code."""
    with pytest.raises(exc) as info:
        yield info
    assert info.value.code == code


# =========================================================================== 1. types
@pytest.mark.parametrize(
    ("mode", "kind", "code", "exc"),
    [
        ("sale", "invention_patent", "unknown_trading_mode", ValidationError),
        ("assignment", "trademark", "unknown_asset_kind", ValidationError),
        ("open_licence", "technical_secret", "open_licence_patent_only", RuleViolationError),
        ("open_licence", "patent_application_right", "open_licence_patent_only", RuleViolationError),
        ("open_licence", "software_copyright", "open_licence_patent_only", RuleViolationError),
    ],
)
def test_classify_deal_refuses(mode: str, kind: str, code: str, exc: type[Exception]) -> None:
    with raises(exc, code):
        classify_deal(mode, kind)


@pytest.mark.parametrize(
    ("kind", "subtype"),
    [
        ("invention_patent", S.TRANSFER_PATENT_RIGHT),
        ("utility_model", S.TRANSFER_PATENT_RIGHT),
        ("design_patent", S.TRANSFER_PATENT_RIGHT),
        ("patent_application_right", S.TRANSFER_PATENT_APPLICATION_RIGHT),
        ("technical_secret", S.TRANSFER_TECHNICAL_SECRET),
        ("software_copyright", S.TRANSFER_OTHER),
        ("ic_layout_design", S.TRANSFER_OTHER),
        ("plant_variety", S.TRANSFER_OTHER),
    ],
)
@pytest.mark.parametrize("mode", ["assignment", "capital_contribution"])
def test_assignment_and_capital_contribution_are_transfers(mode: str, kind: str, subtype: ContractSubtype) -> None:
    assert classify_deal(mode, kind) == (T.TRANSFER, subtype)


@pytest.mark.parametrize(
    ("mode", "subtype"),
    [
        ("exclusive_licence", S.LICENCE_EXCLUSIVE),
        ("sole_licence", S.LICENCE_SOLE),
        ("ordinary_licence", S.LICENCE_ORDINARY),
    ],
)
@pytest.mark.parametrize(
    "kind",
    ["invention_patent", "utility_model", "design_patent", "patent_application_right", "software_copyright",
     "ic_layout_design", "plant_variety", "technical_secret"],
)
def test_licences_are_classified_by_scope_for_every_asset(mode: str, kind: str, subtype: ContractSubtype) -> None:
    assert classify_deal(mode, kind) == (T.LICENCE, subtype)


@pytest.mark.parametrize("kind", ["invention_patent", "utility_model", "design_patent"])
def test_open_licence_is_an_ordinary_licence(kind: str) -> None:
    assert classify_deal("open_licence", kind) == (T.LICENCE, S.LICENCE_ORDINARY)


def test_invalid_type_subtype_pairs_are_refused() -> None:
    with raises(ValidationError, "invalid_contract_subtype"):
        check_contract_subtype(T.LICENCE, S.TRANSFER_PATENT_RIGHT)
    with raises(ValidationError, "invalid_contract_subtype"):
        check_contract_subtype("bogus", "consulting")
    with raises(ValidationError, "invalid_contract_subtype"):
        check_contract_subtype("service", "bogus")


@pytest.mark.parametrize(
    ("ctype", "subtypes"),
    [
        (T.DEVELOPMENT, {"development_commissioned", "development_cooperative"}),
        (T.TRANSFER, {"transfer_patent_right", "transfer_patent_application_right", "transfer_technical_secret",
                      "transfer_other"}),
        (T.LICENCE, {"licence_exclusive", "licence_sole", "licence_ordinary"}),
        (T.CONSULTING, {"consulting"}),
        (T.SERVICE, {"service_general", "service_training", "service_brokerage"}),
    ],
)
def test_subtype_table(ctype: ContractType, subtypes: set[str]) -> None:
    assert CONTRACT_SUBTYPES[ctype] == subtypes
    for sub in subtypes:
        check_contract_subtype(ctype, sub)
        assert TYPE_OF_SUBTYPE[ContractSubtype(sub)] is ctype


def test_every_subtype_has_exactly_one_type() -> None:
    assert set(TYPE_OF_SUBTYPE) == set(ContractSubtype)
    assert sum(len(s) for s in CONTRACT_SUBTYPES.values()) == len(ContractSubtype)


# =========================================================================== 2. lifecycle
@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("drafted", "in_force"),
        ("drafted", "terminated"),
        ("partly_signed", "drafted"),
        ("partly_signed", "terminated"),
        ("in_force", "cancelled"),
        ("in_force", "drafted"),
        ("terminated", "in_force"),
        ("cancelled", "drafted"),
        ("drafted", "drafted"),
    ],
)
def test_contract_transitions_refused(src: str, dst: str) -> None:
    with raises(StateError, "invalid_contract_transition") as info:
        check_transition(src, dst)
    assert info.value.details == {"from": src, "to": dst}


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("drafted", "partly_signed"),
        ("drafted", "cancelled"),
        ("partly_signed", "in_force"),
        ("partly_signed", "cancelled"),
        ("in_force", "terminated"),
    ],
)
def test_contract_transitions_allowed(src: str, dst: str) -> None:
    assert check_transition(src, dst) is ContractState(dst)


TEXT = "技术转让合同\n甲方：某大学\n乙方：某公司\n价款：¥1,000,000.00"
FP = contract_text_fingerprint(TEXT)


def test_fingerprint_refuses_non_text() -> None:
    with raises(ValidationError, "invalid_contract_text"):
        contract_text_fingerprint(b"bytes")  # type: ignore[arg-type]
    with raises(ValidationError, "invalid_contract_text"):
        contract_text_fingerprint("half a pair \ud800")


def test_fingerprint_is_sha256_of_the_exact_utf8_text() -> None:
    assert contract_text_fingerprint("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert contract_text_fingerprint("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert contract_text_fingerprint(TEXT + " ") != FP
    # NFC and NFD spell the same word; a signature is over the exact text, so they differ.
    assert contract_text_fingerprint("caf\u00e9") != contract_text_fingerprint("cafe\u0301")


def test_text_locked_after_first_signature() -> None:
    with raises(StateError, "contract_text_locked"):
        check_text_editable("partly_signed", {SigningSide.SELLER})
    with raises(StateError, "contract_text_locked"):
        check_text_editable("drafted", ["buyer"])
    with raises(StateError, "contract_text_locked"):
        check_text_editable("cancelled", ())
    check_text_editable("drafted", ())


def test_signature_refusals() -> None:
    with raises(ConflictError, "contract_text_mismatch") as info:
        apply_signature("drafted", (), "seller", signed_fingerprint=contract_text_fingerprint("old"),
                        current_fingerprint=FP)
    assert info.value.status == 409
    with raises(ConflictError, "already_signed"):
        apply_signature("partly_signed", {"seller"}, "seller", signed_fingerprint=FP, current_fingerprint=FP)
    for state in ("in_force", "terminated", "cancelled"):
        with raises(StateError, "contract_not_signable"):
            apply_signature(state, (), "buyer", signed_fingerprint=FP, current_fingerprint=FP)
    with raises(ValidationError, "invalid_signing_side"):
        apply_signature("drafted", (), "broker", signed_fingerprint=FP, current_fingerprint=FP)


@pytest.mark.parametrize("first, second", [("seller", "buyer"), ("buyer", "seller")])
def test_two_signatures_put_the_contract_in_force(first: str, second: str) -> None:
    state = apply_signature("drafted", (), first, signed_fingerprint=FP, current_fingerprint=FP)
    assert state is ContractState.PARTLY_SIGNED
    state = apply_signature(state, {first}, second, signed_fingerprint=FP, current_fingerprint=FP)
    assert state is ContractState.IN_FORCE


def test_signing_deadline_refuses_non_positive_days() -> None:
    for days in (0, -1, True):
        with raises(ValidationError, "invalid_days"):
            signing_deadline(CAL, date(2026, 9, 18), days=days)


def test_signing_deadline_counts_a_makeup_sunday() -> None:
    # Fri 18 Sep drafted: Sun 20 (make-up day) 1, Mon 21 2, Tue 22 3.
    assert signing_deadline(CAL, date(2026, 9, 18)) == Deadline(date(2026, 9, 22), provisional=False)


def test_signing_deadline_across_national_day() -> None:
    # Wed 30 Sep: Oct 1-7 off; Thu 8 1, Fri 9 2, Sat 10 (make-up) 3.
    assert signing_deadline(CAL, date(2026, 9, 30)).day == date(2026, 10, 10)
    assert signing_deadline(CAL, date(2026, 9, 30), days=4).day == date(2026, 10, 12)


def test_deadline_in_an_unloaded_year_is_provisional() -> None:
    assert signing_deadline(CAL, date(2027, 3, 1)).provisional


# =========================================================================== 3. amount
def test_non_technical_item_refuses_bad_values() -> None:
    with raises(ValidationError, "required"):
        NonTechnicalItem("  ", Y(1))
    with raises(ValidationError, "invalid_amount"):
        NonTechnicalItem("equipment", Y(-1))


def test_technology_amount_refusals() -> None:
    with raises(RuleViolationError, "non_technical_exceeds_deal") as info:
        technology_amount(Y(100), [NonTechnicalItem("equipment", Y(60)), NonTechnicalItem("materials", Y("40.01"))])
    assert info.value.details == {"deal_amount_fen": 10000, "non_technical_fen": 10001}
    with raises(ValidationError, "invalid_amount"):
        technology_amount(Y(-1), [])
    with pytest.raises(CurrencyMismatchError):
        technology_amount(Y(100), [NonTechnicalItem("equipment", Money(1, "USD"))])


def test_technology_amount() -> None:
    items = [NonTechnicalItem("设备 equipment", Y("300000.50")), NonTechnicalItem("原材料 materials", Y(49_999))]
    assert technology_amount(Y(1_000_000), items) == Y("650000.50")
    assert technology_amount(Y(1_000_000), []) == Y(1_000_000)
    assert technology_amount(Y(100), [NonTechnicalItem("equipment", Y(100))]) == Y(0)


# =========================================================================== 4. registration
@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("submitted", "changed"),
        ("registered", "refused"),
        ("registered", "submitted"),
        ("refused", "registered"),
        ("refused", "submitted"),
        ("cancelled", "registered"),
        ("changed", "registered"),
    ],
)
def test_registration_transitions_refused(src: str, dst: str) -> None:
    with raises(StateError, "invalid_registration_transition"):
        check_registration_transition(src, dst)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("submitted", "registered"),
        ("submitted", "refused"),
        ("submitted", "cancelled"),
        ("registered", "changed"),
        ("registered", "cancelled"),
        ("changed", "changed"),
        ("changed", "cancelled"),
    ],
)
def test_registration_transitions_allowed(src: str, dst: str) -> None:
    assert check_registration_transition(src, dst) is RegistrationState(dst)


MID_AUTUMN_FRIDAY = date(2026, 9, 25)


def test_registration_deadline_refuses_foreign_amounts() -> None:
    with pytest.raises(CurrencyMismatchError):
        registration_deadline(CAL, MID_AUTUMN_FRIDAY, Money(100, "USD"), False)


def test_registration_deadline_15_working_days_across_the_holidays() -> None:
    # Submitted on Fri 25 Sep (Mid-Autumn, off). Sat 26, Sun 27 off; Mon 28 1, 29 2, 30 3;
    # Oct 1-7 off; Thu 8 4, Fri 9 5, Sat 10 (make-up) 6; Oct 12-16 7-11; Oct 19-22 12-15.
    deadline = registration_deadline(CAL, MID_AUTUMN_FRIDAY, Y("4999999.99"), disputed=False)
    assert deadline == Deadline(date(2026, 10, 22), provisional=False)


def test_registration_deadline_30_working_days_from_5_million() -> None:
    # From Thu 22 Oct (15): Oct 23 16, Oct 26-30 17-21, Nov 2-6 22-26, Nov 9-12 27-30.
    assert registration_deadline(CAL, MID_AUTUMN_FRIDAY, Y(5_000_000), disputed=False).day == date(2026, 11, 12)


def test_registration_deadline_30_working_days_when_disputed() -> None:
    assert registration_deadline(CAL, MID_AUTUMN_FRIDAY, Y(1), disputed=True).day == date(2026, 11, 12)


def test_registration_deadline_settings_override() -> None:
    d = registration_deadline(CAL, MID_AUTUMN_FRIDAY, Y(2_000_000), False, long_threshold=Y(1_000_000), long_days=3)
    assert d.day == date(2026, 9, 30)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "JS2026310104000000",  # serial 0
        "JS202631010400012",  # 17 characters
        "JS20263101040001234",  # 19 characters
        "JX2026310104000123",
        "2026310104000123",  # the opaque form without prefix
        "JS1999310104000123",  # before the scheme
        "JS2026990104000123",  # no province 99
        "JS2026 3101O4 000123",  # letter O in the region
        "ＪＳ2026310104000123",  # full-width letters
        "JS２０２６310104000123",  # full-width digits
    ],
)
def test_parse_registration_number_refuses(text: str) -> None:
    with raises(ValidationError, "registration_number_format"):
        parse_registration_number(text)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((2026, "31010", 1), "region_code"),
        ((2026, "3101045", 1), "region_code"),
        ((2026, 310104, 1), "region_code"),
        ((2026, "３１０１０４", 1), "region_code"),  # full-width digits pass str.isdigit
        ((2026, "000000", 1), "region_code"),
        ((2026, "310104", 0), "serial"),
        ((2026, "310104", 1_000_000), "serial"),
        ((1999, "310104", 1), "year"),
        ((10000, "310104", 1), "year"),
        ((True, "310104", 1), "year"),
    ],
)
def test_format_registration_number_refuses(args: tuple, field: str) -> None:
    with raises(ValidationError, "registration_number_format") as info:
        format_registration_number(*args)
    assert info.value.field == field


def test_registration_number_round_trip() -> None:
    number = format_registration_number(2026, "310104", 123)
    assert number == "JS2026310104000123"
    assert parse_registration_number(number) == RegistrationNumber(2026, "310104", 123)
    assert parse_registration_number(" js-2026-310104-000123 ") == (2026, "310104", 123)
    assert str(parse_registration_number(number)) == number


@given(st.integers(2000, 9999), st.sampled_from(["110000", "310104", "440305", "820000"]), st.integers(1, 999_999))
def test_registration_number_round_trip_property(year: int, region: str, serial: int) -> None:
    assert parse_registration_number(format_registration_number(year, region, serial)) == (year, region, serial)


def test_valid_region_code() -> None:
    assert valid_region_code("310104") and valid_region_code("110000")
    assert not valid_region_code("990000") and not valid_region_code("31010") and not valid_region_code(None)


# --------------------------------------------------------------------------- 5. refusal
SELLER = RegistrationParty("上海某大学", "91310000132200000Y", "310104", "university")
BUYER = RegistrationParty("张三", "11010519491231002X", "110105", "individual")
GOOD = RegistrationInput(
    contract_state=ContractState.IN_FORCE,
    contract_type=ContractType.TRANSFER,
    seller=SELLER,
    buyer=BUYER,
    subject="一种锂电池隔膜的制备方法",
    asset_refs=("ZL201710601862.3",),
    deal_amount=Y(1_000_000),
    tech_amount=Y(800_000),
)


def reasons(inp: RegistrationInput, **kw) -> list[RefusalReason]:
    return [p.reason for p in registration_problems(inp, **kw)]


def test_a_complete_contract_has_no_problems() -> None:
    assert registration_problems(GOOD) == []
    # Values straight from a row or a request are plain strings.
    assert registration_problems(dataclasses.replace(GOOD, contract_state="in_force", contract_type="licence")) == []


@pytest.mark.parametrize("state", ["drafted", "partly_signed", "terminated", "cancelled"])
def test_not_in_force(state: str) -> None:
    assert reasons(dataclasses.replace(GOOD, contract_state=ContractState(state))) == [RefusalReason.NOT_IN_FORCE]


@pytest.mark.parametrize("tech", [Y(0), Y("499999.99")])
def test_not_technology(tech: Money) -> None:
    assert reasons(dataclasses.replace(GOOD, tech_amount=tech)) == [RefusalReason.NOT_TECHNOLOGY]


def test_technology_share_threshold_is_inclusive_and_settable() -> None:
    assert DEFAULT_MIN_TECHNOLOGY_SHARE == Decimal("0.5")
    assert reasons(dataclasses.replace(GOOD, tech_amount=Y(500_000))) == []
    assert reasons(dataclasses.replace(GOOD, tech_amount=Y(200_000)), min_technology_share=Decimal("0.2")) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seller": None}, "seller.name"),
        ({"buyer": dataclasses.replace(BUYER, name=" ")}, "buyer.name"),
        ({"seller": dataclasses.replace(SELLER, credit_code="")}, "seller.credit_code"),
        ({"seller": dataclasses.replace(SELLER, credit_code="91310000132200000X")}, "seller.credit_code"),
        ({"buyer": dataclasses.replace(BUYER, credit_code="110105194912310021")}, "buyer.credit_code"),
        ({"seller": dataclasses.replace(SELLER, region_code="")}, "seller.region_code"),
        ({"buyer": dataclasses.replace(BUYER, region_code="1101")}, "buyer.region_code"),
        ({"seller": dataclasses.replace(SELLER, entity_type="")}, "seller.entity_type"),
    ],
)
def test_unclear_parties(changes: dict, field: str) -> None:
    problems = registration_problems(dataclasses.replace(GOOD, **changes))
    assert [(p.reason, p.field) for p in problems] == [(RefusalReason.UNCLEAR_PARTIES, field)]


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "  "},
        {"asset_refs": ()},
        {"asset_refs": ("",)},
        {"contract_type": ContractType.LICENCE, "asset_refs": ()},
    ],
)
def test_unclear_subject(changes: dict) -> None:
    assert reasons(dataclasses.replace(GOOD, **changes)) == [RefusalReason.UNCLEAR_SUBJECT]


def test_development_needs_no_existing_asset() -> None:
    assert reasons(dataclasses.replace(GOOD, contract_type=ContractType.DEVELOPMENT, asset_refs=())) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"deal_amount": None},
        {"deal_amount": Y(0)},
        {"deal_amount": Y(-5)},
        {"tech_amount": None},
        {"tech_amount": Y(-1)},
        {"tech_amount": Y("1000000.01")},
        {"tech_amount": Money(80_000_000, "USD")},
    ],
)
def test_unclear_price(changes: dict) -> None:
    # An unclear price says nothing about the technology share, so only one reason.
    assert reasons(dataclasses.replace(GOOD, **changes)) == [RefusalReason.UNCLEAR_PRICE]


@pytest.mark.parametrize(
    "changes",
    [
        {"seller_state_owned": True},
        {"export_controlled": True},
        {"seller_state_owned": True, "export_controlled": True, "export_licence_obtained": True},
    ],
)
def test_missing_approvals(changes: dict) -> None:
    assert reasons(dataclasses.replace(GOOD, **changes)) == [RefusalReason.MISSING_APPROVALS]


def test_approvals_present() -> None:
    inp = dataclasses.replace(GOOD, seller_state_owned=True, appraisal_filed=True, export_controlled=True,
                              export_licence_obtained=True)
    assert reasons(inp) == []


def test_illegal_restrictive_clauses() -> None:
    assert reasons(dataclasses.replace(GOOD, restrictive_clauses_flagged=True)) == [
        RefusalReason.ILLEGAL_RESTRICTIVE_CLAUSES
    ]


def test_disputed_alone_is_not_a_refusal() -> None:
    assert reasons(dataclasses.replace(GOOD, disputed=True)) == []


def test_all_problems_listed_in_reason_order() -> None:
    bad = RegistrationInput(
        contract_state=ContractState.DRAFTED,
        contract_type=ContractType.LICENCE,
        seller=None,
        buyer=None,
        subject="",
        deal_amount=None,
        seller_state_owned=True,
        restrictive_clauses_flagged=True,
    )
    got = reasons(bad)
    assert got == sorted(got, key=list(RefusalReason).index)
    assert set(got) == set(RefusalReason) - {RefusalReason.NOT_TECHNOLOGY}
    assert all(p.message for p in registration_problems(bad))


# =========================================================================== 6. tax
def test_tax_relief_refuses_bad_input() -> None:
    with raises(ValidationError, "invalid_contract_subtype"):
        tax_relief(T.CONSULTING, S.LICENCE_SOLE, None, False, True)
    for term in (Decimal(0), Decimal(-5), Decimal("NaN"), 5.0):
        with raises(ValidationError, "invalid_licence_term"):
            tax_relief(T.LICENCE, S.LICENCE_SOLE, term, False, True)  # type: ignore[arg-type]


@pytest.mark.parametrize("subtype", sorted(CONTRACT_SUBTYPES[T.TRANSFER]))
def test_assignment_gets_both_reliefs(subtype: ContractSubtype) -> None:
    relief = tax_relief(T.TRANSFER, subtype, None, wholly_related=False, seller_is_resident_company=True)
    assert (relief.vat_exempt, relief.income_tax_relief) == (True, True)


@pytest.mark.parametrize("subtype", sorted(CONTRACT_SUBTYPES[T.LICENCE]))
def test_licence_of_5_years_gets_income_tax_relief_and_4_years_does_not(subtype: ContractSubtype) -> None:
    five = tax_relief(T.LICENCE, subtype, Decimal(5), False, True)
    four = tax_relief(T.LICENCE, subtype, Decimal("4.99"), False, True)
    unknown = tax_relief(T.LICENCE, subtype, None, False, True)
    assert (five.vat_exempt, five.income_tax_relief) == (True, True)
    assert (four.vat_exempt, four.income_tax_relief) == (True, False)
    assert (unknown.vat_exempt, unknown.income_tax_relief) == (True, False)
    assert any("under 5 years" in r for r in four.reasons)


def test_wholly_related_parties_get_no_income_tax_relief() -> None:
    relief = tax_relief(T.TRANSFER, S.TRANSFER_PATENT_RIGHT, None, wholly_related=True,
                        seller_is_resident_company=True)
    assert (relief.vat_exempt, relief.income_tax_relief) == (True, False)
    assert any("wholly related" in r for r in relief.reasons)


def test_non_resident_or_individual_seller_gets_no_income_tax_relief() -> None:
    relief = tax_relief(T.TRANSFER, S.TRANSFER_PATENT_RIGHT, None, False, seller_is_resident_company=False)
    assert (relief.vat_exempt, relief.income_tax_relief) == (True, False)


@pytest.mark.parametrize("subtype", sorted(CONTRACT_SUBTYPES[T.DEVELOPMENT]))
def test_development_is_vat_exempt_only(subtype: ContractSubtype) -> None:
    relief = tax_relief(T.DEVELOPMENT, subtype, None, False, True)
    assert (relief.vat_exempt, relief.income_tax_relief) == (True, False)


@pytest.mark.parametrize(
    ("ctype", "subtype"),
    [(T.CONSULTING, S.CONSULTING), (T.SERVICE, S.SERVICE_GENERAL), (T.SERVICE, S.SERVICE_TRAINING),
     (T.SERVICE, S.SERVICE_BROKERAGE)],
)
def test_consulting_and_service_get_nothing(ctype: ContractType, subtype: ContractSubtype) -> None:
    relief = tax_relief(ctype, subtype, Decimal(10), False, True)
    assert (relief.vat_exempt, relief.income_tax_relief) == (False, False)
    assert len(relief.reasons) == 2


def test_taxable_transfer_income_refuses_foreign_currency() -> None:
    with pytest.raises(CurrencyMismatchError):
        taxable_transfer_income(Money(100, "USD"))


@pytest.mark.parametrize(
    ("income", "taxable"),
    [
        (Y(0), Y(0)),
        (Y(4_000_000), Y(0)),
        (Y(5_000_000), Y(0)),
        (Y(7_000_000), Y(1_000_000)),
        (Y("5000000.01"), Y("0.01")),  # half a fen rounds up
        (Y("5000000.03"), Y("0.02")),
        (Y(-10_000), Y(-10_000)),  # a loss is not halved
    ],
)
def test_taxable_transfer_income(income: Money, taxable: Money) -> None:
    assert taxable_transfer_income(income) == taxable


@given(st.integers(0, 10**14))
def test_taxable_is_half_the_excess_rounded_up(fen: int) -> None:
    assert taxable_transfer_income(Money(fen)).fen == max(0, (fen - 500_000_000 + 1) // 2)


# =========================================================================== 7. certificates
def test_certificate_transitions_refused() -> None:
    with raises(StateError, "certificate_already_revoked"):
        check_certificate_transition("revoked", "revoked")
    with raises(StateError, "certificate_already_revoked"):
        check_certificate_transition("revoked", "valid")
    with raises(StateError, "invalid_certificate_transition"):
        check_certificate_transition("valid", "valid")


def test_certificate_revocation() -> None:
    assert check_certificate_transition(CertificateState.VALID, "revoked") is CertificateState.REVOKED


def test_certificate_not_issuable_lists_what_is_missing() -> None:
    with raises(RuleViolationError, "certificate_not_issuable") as info:
        certificate_issuable(contract_in_force=True, price_received=False, buyer_fee_paid=True, seller_fee_paid=False)
    assert info.value.details == {"missing": ["price_received", "seller_fee_paid"]}
    with raises(RuleViolationError, "certificate_not_issuable") as info:
        certificate_issuable(False, False, False, False)
    assert len(info.value.details["missing"]) == 4


def test_certificate_issuable() -> None:
    assert certificate_issuable(True, True, True, True) is None


def test_certificate_deadline() -> None:
    # Fri 25 Sep (holiday): Mon 28, Tue 29, Wed 30.
    assert certificate_deadline(CAL, MID_AUTUMN_FRIDAY).day == date(2026, 9, 30)


def test_certificate_fingerprint_refuses_non_objects() -> None:
    with raises(ValidationError, "invalid_certificate_data"):
        certificate_fingerprint(["not", "a", "dict"])  # type: ignore[arg-type]
    with raises(ValidationError, "invalid_certificate_data"):
        certificate_fingerprint({"x": object()})


def test_certificate_fingerprint_is_canonical() -> None:
    a = {"project": "L2026-000123", "seller": "上海某大学", "price": Y(1_000_000), "signed_on": date(2026, 10, 8),
         "nested": {"b": 1, "a": [1, 2]}}
    b = {"nested": {"a": [1, 2], "b": 1}, "signed_on": date(2026, 10, 8), "price": Y(1_000_000),
         "seller": "上海某大学", "project": "L2026-000123"}
    assert certificate_fingerprint(a) == certificate_fingerprint(b)
    assert certificate_fingerprint(a) != certificate_fingerprint({**a, "seller": "上海某大學"})
    # The exact bytes: sorted keys, no spaces, characters kept as UTF-8.
    expected = hashlib.sha256('{"a":"技","b":[1,2]}'.encode()).hexdigest()
    assert certificate_fingerprint({"b": [1, 2], "a": "技"}) == expected


FP_HEX = certificate_fingerprint({"deal": "D2026-000001"})


def test_short_code_refuses_bad_input() -> None:
    with raises(ValidationError, "invalid_fingerprint"):
        certificate_short_code("abc", 1)
    with raises(ValidationError, "invalid_fingerprint"):
        certificate_short_code(FP_HEX.upper(), 1)
    for serial in (0, -1, MAX_CERTIFICATE_SERIAL + 1, True):
        with raises(ValidationError, "certificate_serial_out_of_range"):
            certificate_short_code(FP_HEX, serial)
    for code in ("", "ABC", "0123456789AB", "ABCDEFGHU1", None):
        assert not valid_short_code(code)  # type: ignore[arg-type]
        with raises(ValidationError, "invalid_short_code"):
            normalise_short_code(code)  # type: ignore[arg-type]


def test_short_code_shape_and_round_trip() -> None:
    code = certificate_short_code(FP_HEX, 123)
    assert len(code) == 10 and set(code) <= set(CROCKFORD_ALPHABET)
    assert valid_short_code(code)
    assert certificate_short_code(FP_HEX, 123) == code  # deterministic
    assert certificate_short_code(FP_HEX, 124) != code
    # People type codes in lower case, with a hyphen, and confuse O/0 and I/L/1.
    typed = (code[:5] + "-" + code[5:]).lower().replace("0", "o").replace("1", "l")
    assert normalise_short_code(typed) == code


def test_short_code_detects_a_typo() -> None:
    code = certificate_short_code(FP_HEX, 42)
    i = 3
    wrong = CROCKFORD_ALPHABET[(CROCKFORD_ALPHABET.index(code[i]) + 1) % 32]
    assert not valid_short_code(code[:i] + wrong + code[i + 1:])


def test_short_codes_differ_for_different_serials() -> None:
    codes = {certificate_short_code(FP_HEX, n) for n in range(1, 2001)}
    assert len(codes) == 2000


@given(
    st.binary(min_size=32, max_size=32),
    st.integers(1, MAX_CERTIFICATE_SERIAL),
    st.integers(0, 9),
    st.integers(1, 31),
)
def test_every_single_character_error_is_detected(digest: bytes, serial: int, pos: int, shift: int) -> None:
    code = certificate_short_code(digest.hex(), serial)
    assert valid_short_code(code)
    wrong = CROCKFORD_ALPHABET[(CROCKFORD_ALPHABET.index(code[pos]) + shift) % 32]
    assert not valid_short_code(code[:pos] + wrong + code[pos + 1:])


@given(st.binary(min_size=32, max_size=32), st.integers(1, MAX_CERTIFICATE_SERIAL), st.integers(0, 8))
def test_every_adjacent_swap_is_detected(digest: bytes, serial: int, pos: int) -> None:
    code = certificate_short_code(digest.hex(), serial)
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    assert swapped == code or not valid_short_code(swapped)
