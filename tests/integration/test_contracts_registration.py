"""Technology contract registration (技术合同认定登记): each type and subtype, the technology
amount, each refusal reason, deadlines across holidays, changes and cancellations."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from contracts import jobs
from contracts import service as svc
from contracts.domain import (
    CONTRACT_SUBTYPES,
    ContractSubtype,
    ContractType,
    RefusalReason,
    RegistrationState,
    parse_registration_number,
    tax_relief,
)
from exchange.actors import Actor
from exchange.clock import BUSINESS_TZ
from exchange.errors import ConflictError, PermissionDeniedError, RuleViolationError, StateError
from exchange.models import EntityType, Party
from tests.integration.test_contracts_support import (
    buyer_user,
    contract_of,
    make_deal,
    operator,
    seller_user,
    sign_both,
)

PAIRS = sorted((t, s) for t, subs in CONTRACT_SUBTYPES.items() for s in subs)


def submit(session, clock, deal, **over):  # type: ignore[no-untyped-def]
    contract = contract_of(session, deal)
    return svc.submit_registration(session, Actor.of(seller_user(deal)), contract.ref,
                                   svc.RegistrationSubmission(**over), clock=clock)


@pytest.mark.parametrize("ctype, subtype", PAIRS, ids=[s.value for _, s in PAIRS])
def test_each_type_and_subtype_registers_with_its_tax_relief(session, clock, ctype, subtype):
    deal = make_deal(session, clock, mode="exclusive_licence")
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal, contract_type=ctype, subtype=subtype)
    assert (reg.contract_type, reg.subtype) == (ctype, subtype)
    reg = svc.register(session, operator(session, clock), reg.ref, clock=clock)
    assert reg.state is RegistrationState.REGISTERED
    number = parse_registration_number(reg.registration_number)
    assert (number.year, number.region_code) == (2026, deal.seller.region_code) and number.serial >= 1
    expected = tax_relief(ctype, subtype, Decimal(5), False, True)
    assert reg.tax_relief == {"vat_exempt": expected.vat_exempt, "income_tax_relief": expected.income_tax_relief,
                              "reasons": list(expected.reasons)}


def test_a_subtype_of_another_type_is_refused(session, clock):
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    from exchange.errors import ValidationError

    with pytest.raises(ValidationError) as exc:
        submit(session, clock, deal, contract_type=ContractType.CONSULTING, subtype=ContractSubtype.LICENCE_SOLE)
    assert exc.value.code == "invalid_contract_subtype"


@pytest.mark.parametrize("mode, kind, subtype, months, years", [
    ("assignment", "invention_patent", ContractSubtype.TRANSFER_PATENT_RIGHT, None, None),
    ("capital_contribution", "technical_secret", ContractSubtype.TRANSFER_TECHNICAL_SECRET, None, None),
    ("exclusive_licence", "invention_patent", ContractSubtype.LICENCE_EXCLUSIVE, 60, "5"),
    ("ordinary_licence", "utility_model", ContractSubtype.LICENCE_ORDINARY, 18, "1.50"),
])
def test_the_registration_records_the_contract_as_classified(session, clock, mode, kind, subtype, months, years):
    terms = {"licence_term_months": months, "territory": "上海市"} if months else {}
    deal = make_deal(session, clock, mode=mode, kind=kind, terms=terms, seller_entity=EntityType.enterprise)
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal)
    assert reg.subtype is subtype and reg.ip_type == kind and reg.technical_field == "advanced_manufacturing"
    assert reg.signing_date == date(2026, 3, 2) and reg.licence_term_years == years
    assert [p["role"] for p in reg.parties] == ["seller", "buyer"]
    seller = reg.parties[0]
    assert (seller["name"], seller["credit_code"], seller["region_code"], seller["entity_type"]) == (
        deal.seller.name, deal.seller.id_code, deal.seller.region_code, "enterprise")
    if months:
        assert reg.term_start == date(2026, 3, 2) and reg.term_end == (date(2031, 3, 1) if months == 60
                                                                       else date(2027, 9, 1))
    reg = svc.register(session, operator(session, clock), reg.ref, clock=clock)
    # A licence under 5 years gets the VAT exemption but no income-tax relief.
    assert reg.tax_relief["vat_exempt"] is True
    assert reg.tax_relief["income_tax_relief"] is (months != 18)


def test_the_technology_amount_is_the_deal_amount_less_the_non_technical_items(session, clock):
    deal = make_deal(session, clock, price_fen=200_000_000)
    contract = contract_of(session, deal)
    svc.set_non_technical_items(session, operator(session, clock), contract.ref,
                                [svc.ItemInput("检测仪器", 30_000_000), svc.ItemInput("耗材", 12_345)], clock=clock)
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal)
    assert (reg.deal_amount_fen, reg.tech_amount_fen) == (200_000_000, 200_000_000 - 30_012_345)
    assert svc.register(session, operator(session, clock), reg.ref, clock=clock).state is RegistrationState.REGISTERED


# --------------------------------------------------------------------------- refusals
def _not_in_force(session, clock):  # type: ignore[no-untyped-def]
    return submit(session, clock, make_deal(session, clock))


def _not_technology(session, clock):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock, price_fen=10_000_000)
    svc.set_non_technical_items(session, operator(session, clock), contract_of(session, deal).ref,
                                [svc.ItemInput("生产线设备", 6_000_000)], clock=clock)
    sign_both(session, clock, deal)
    return submit(session, clock, deal)


def _unclear_parties(session, clock):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    # A legacy party whose region code is not a division code (e.g. typed in by hand long ago).
    session.execute(sa.update(Party).where(Party.id == deal.buyer_party_id).values(region_code="990000"))
    session.expire(deal.buyer)
    return submit(session, clock, deal)


def _unclear_subject(session, clock):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    return submit(session, clock, deal, subject="  ", asset_refs=[])


def _unclear_price(session, clock):  # type: ignore[no-untyped-def]
    # A royalty-only open licence: no price is fixed in the contract.
    from auctions.models import DealMethod

    deal = make_deal(session, clock, mode="open_licence", method=DealMethod.OPEN_LICENCE, price_fen=0,
                     terms={"open_licence": "OL2026-000009", "fee_kind": "royalty", "royalty_rate": "0.03",
                            "term_start": "2026-03-01", "term_end": "2031-02-28"})
    sign_both(session, clock, deal)
    return submit(session, clock, deal)


def _missing_approvals(session, clock):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock, seller_entity=EntityType.university)  # public seller, no filed appraisal
    sign_both(session, clock, deal)
    return submit(session, clock, deal)


def _restrictive_clauses(session, clock):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal)
    return svc.update_review(session, operator(session, clock), reg.ref, {"restrictive_clauses_flagged": True},
                             clock=clock)


REFUSALS = {
    RefusalReason.NOT_IN_FORCE: _not_in_force,
    RefusalReason.NOT_TECHNOLOGY: _not_technology,
    RefusalReason.UNCLEAR_PARTIES: _unclear_parties,
    RefusalReason.UNCLEAR_SUBJECT: _unclear_subject,
    RefusalReason.UNCLEAR_PRICE: _unclear_price,
    RefusalReason.MISSING_APPROVALS: _missing_approvals,
    RefusalReason.ILLEGAL_RESTRICTIVE_CLAUSES: _restrictive_clauses,
}


def test_every_refusal_reason_has_a_case():
    assert set(REFUSALS) == set(RefusalReason)


@pytest.mark.parametrize("reason", list(REFUSALS), ids=[r.value for r in REFUSALS])
def test_each_refusal_reason_is_found_in_the_data(session, clock, reason):
    reg = REFUSALS[reason](session, clock)
    op = operator(session, clock)
    found = {p.reason for p in svc.problems_of(reg)}
    assert reason in found
    with pytest.raises(RuleViolationError) as exc:
        svc.register(session, op, reg.ref, clock=clock)
    assert exc.value.code == "registration_has_problems"
    assert reason.value in {p["reason"] for p in exc.value.details["problems"]}
    # A reason the data does not show is refused, whatever the operator believes.
    other = next(r for r in RefusalReason if r not in found)
    with pytest.raises(RuleViolationError) as exc:
        svc.refuse(session, op, reg.ref, [reason, other], clock=clock)
    assert exc.value.code == "refusal_reason_unsupported" and exc.value.details["unsupported"] == [other.value]
    reg = svc.refuse(session, op, reg.ref, [reason], note="未予登记", clock=clock)
    assert reg.state is RegistrationState.REFUSED and reg.registration_number is None
    assert {p["reason"] for p in reg.refusal_reasons} == {reason.value}
    assert all(p["message"] for p in reg.refusal_reasons)
    # After a refusal the parties may submit anew.
    again = svc.submit_registration(session, op, reg.contract.ref, svc.RegistrationSubmission(), clock=clock)
    assert again.state is RegistrationState.SUBMITTED and again.ref != reg.ref


def test_nothing_to_refuse_for(session, clock):
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal)
    with pytest.raises(RuleViolationError) as exc:
        svc.refuse(session, operator(session, clock), reg.ref, [], clock=clock)
    assert exc.value.code == "no_refusal_reason"
    # Without reasons given, every reason found is recorded.
    svc.update_review(session, operator(session, clock), reg.ref,
                      {"restrictive_clauses_flagged": True, "export_controlled": True}, clock=clock)
    reg = svc.refuse(session, operator(session, clock), reg.ref, [], clock=clock)
    assert [p["reason"] for p in reg.refusal_reasons] == ["missing_approvals", "illegal_restrictive_clauses"]


def test_an_export_licence_lifts_the_missing_approval(session, clock):
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    reg = submit(session, clock, deal, export_controlled=True)
    assert [p.reason for p in svc.problems_of(reg)] == [RefusalReason.MISSING_APPROVALS]
    svc.update_review(session, operator(session, clock), reg.ref, {"export_licence_obtained": True}, clock=clock)
    assert svc.problems_of(reg) == []


# --------------------------------------------------------------------------- who, once
def test_the_sellers_side_registers_once(session, clock):
    deal = make_deal(session, clock)
    sign_both(session, clock, deal)
    with pytest.raises(PermissionDeniedError) as exc:
        svc.submit_registration(session, Actor.of(buyer_user(deal)), contract_of(session, deal).ref,
                                svc.RegistrationSubmission(), clock=clock)
    assert exc.value.code == "not_the_seller"
    submit(session, clock, deal)
    with pytest.raises(ConflictError) as exc:
        submit(session, clock, deal)
    assert exc.value.code == "tech_registration_exists"


def test_registration_numbers_are_unique_and_in_the_documented_format(session, clock):
    op = operator(session, clock)
    numbers = []
    for _ in range(3):
        deal = make_deal(session, clock)
        sign_both(session, clock, deal)
        numbers.append(svc.register(session, op, submit(session, clock, deal).ref, clock=clock).registration_number)
    parsed = [parse_registration_number(n) for n in numbers]
    assert len(set(numbers)) == 3 and all(len(n) == 18 and n.startswith("JS2026") for n in numbers)
    assert [p.serial for p in parsed] == sorted(p.serial for p in parsed)
    assert parsed[1].serial == parsed[0].serial + 1


# --------------------------------------------------------------------------- deadlines
def _submitted_on(session, clock, day: date, **over):  # type: ignore[no-untyped-def]
    clock.set(datetime(day.year, day.month, day.day, 10, 0, tzinfo=BUSINESS_TZ))
    deal = make_deal(session, clock, **over)
    sign_both(session, clock, deal)
    return submit(session, clock, deal)


def test_fifteen_working_days_across_mid_autumn_and_national_day(session, clock):
    # Thu 24 Sep 2026: 25-27 Sep and 1-7 Oct are holidays, Sat 10 Oct is a make-up working day.
    reg = _submitted_on(session, clock, date(2026, 9, 24))
    assert (reg.due_on, reg.due_provisional) == (date(2026, 10, 22), False)


def test_thirty_working_days_from_five_million_yuan(session, clock):
    reg = _submitted_on(session, clock, date(2026, 9, 24), price_fen=500_000_000)
    assert reg.due_on == date(2026, 11, 12)
    below = _submitted_on(session, clock, date(2026, 9, 24), price_fen=499_999_999)
    assert below.due_on == date(2026, 10, 22)


def test_a_dispute_lengthens_the_review(session, clock):
    reg = _submitted_on(session, clock, date(2026, 9, 24))
    svc.update_review(session, operator(session, clock), reg.ref, {"disputed": True}, clock=clock)
    assert reg.due_on == date(2026, 11, 12)
    svc.update_review(session, operator(session, clock), reg.ref, {"disputed": False}, clock=clock)
    assert reg.due_on == date(2026, 10, 22)


def test_spring_festival_and_an_unloaded_year(session, clock):
    assert _submitted_on(session, clock, date(2026, 1, 30)).due_on == date(2026, 2, 27)
    late = _submitted_on(session, clock, date(2026, 12, 20))
    assert late.due_on.year == 2027 and late.due_provisional is True


def test_overdue_registrations_are_shown_and_flagged_once(session, clock):
    reg = _submitted_on(session, clock, date(2026, 9, 24))
    status = svc.deadline_status(session, reg, clock)
    assert status["working_days_left"] == 15 and not status["overdue"]
    clock.set(datetime(2026, 10, 22, 23, 0, tzinfo=BUSINESS_TZ))
    assert svc.deadline_status(session, reg, clock)["overdue"] is False
    assert jobs.flag_overdue_registrations(session, clock) == 0
    clock.set(datetime(2026, 10, 23, 9, 0, tzinfo=BUSINESS_TZ))
    status = svc.deadline_status(session, reg, clock)
    assert status["overdue"] and status["working_days_left"] == 0
    late, _ = svc.list_registrations(session, svc.RegistrationQuery(overdue=True), clock=clock, page=1, per_page=100)
    assert reg in late
    assert jobs.flag_overdue_registrations(session, clock) >= 1
    assert reg.overdue_flagged_at == clock.now()
    assert reg.ref not in svc.overdue_refs(session, clock)
    assert jobs.flag_overdue_registrations(session, clock) == 0  # once
    svc.register(session, operator(session, clock), reg.ref, clock=clock)
    late, _ = svc.list_registrations(session, svc.RegistrationQuery(overdue=True), clock=clock, page=1, per_page=100)
    assert reg not in late


# --------------------------------------------------------------------------- changes and cancellations
def test_changes_are_registered_and_checked_the_same_way(session, clock):
    deal = make_deal(session, clock, price_fen=100_000_000)
    sign_both(session, clock, deal)
    op = operator(session, clock)
    reg = svc.register(session, op, submit(session, clock, deal).ref, clock=clock)
    number = reg.registration_number
    reg = svc.register_change(session, op, reg.ref, {"deal_amount_fen": 120_000_000, "tech_amount_fen": 110_000_000},
                              "补充协议增加价款", clock=clock)
    assert reg.state is RegistrationState.CHANGED and reg.registration_number == number
    assert reg.changes[-1].changes == {"deal_amount_fen": {"from": 100_000_000, "to": 120_000_000},
                                       "tech_amount_fen": {"from": 100_000_000, "to": 110_000_000}}
    # A change the rules would refuse is refused with its reasons.
    with pytest.raises(RuleViolationError) as exc:
        svc.register_change(session, op, reg.ref, {"tech_amount_fen": 10_000_000}, "设备占比提高", clock=clock)
    assert exc.value.code == "change_refused"
    assert [p["reason"] for p in exc.value.details["problems"]] == ["not_technology"]
    assert reg.tech_amount_fen == 110_000_000
    # A change of type brings the tax relief of the new type.
    reg = svc.register_change(session, op, reg.ref, {"contract_type": "service", "subtype": "service_training"},
                              "改为技术培训", clock=clock)
    assert reg.tax_relief["vat_exempt"] is False and len(reg.changes) == 2
    reg = svc.cancel_registration(session, op, reg.ref, "合同解除，注销登记", clock=clock)
    assert reg.state is RegistrationState.CANCELLED and reg.changes[-1].kind == "cancellation"
    with pytest.raises(StateError):
        svc.register_change(session, op, reg.ref, {"subject": "x"}, "晚了", clock=clock)
