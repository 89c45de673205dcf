"""Transaction certificates: issued only when everything is in place, never twice (the database
says so too), revocable, publicly verifiable; and the three PDFs, read back with pypdf."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from contracts import service as svc
from contracts.domain import CertificateState, certificate_fingerprint, certificate_short_code
from contracts.models import Certificate
from contracts.service import settlement_link
from exchange.errors import ConflictError, NotFoundError, RuleViolationError, StateError, ValidationError
from exchange.models import EntityType
from tests.integration.test_contracts_support import (
    contract_of,
    make_deal,
    money_status,
    operator,
    pdf_text,
    sign_both,
    squash,
)

BASE_URL = "https://www.example-exchange.cn"


def ready_deal(session, clock, monkeypatch, **over):  # type: ignore[no-untyped-def]
    deal = make_deal(session, clock, **over)
    sign_both(session, clock, deal)
    money_status(monkeypatch)
    return deal


# --------------------------------------------------------------------------- the settlement adapter
def test_without_settlement_nothing_counts_as_paid(monkeypatch, session, clock):
    monkeypatch.setattr(settlement_link, "_settlement_deal_status", lambda: None)
    assert settlement_link.deal_money_status(session, object()) == {
        "price_received": False, "buyer_fee_paid": False, "seller_fee_paid": False, "settled": False}


def test_the_adapter_reads_a_dict_or_an_object(monkeypatch, session):
    monkeypatch.setattr(settlement_link, "_settlement_deal_status",
                        lambda: lambda s, d: {"price_received": True, "buyer_fee_paid": 1})
    assert settlement_link.deal_money_status(session, None) == {
        "price_received": True, "buyer_fee_paid": True, "seller_fee_paid": False, "settled": False}
    monkeypatch.setattr(settlement_link, "_settlement_deal_status",
                        lambda: lambda s, d: SimpleNamespace(price_received=True, seller_fee_paid=True))
    assert settlement_link.deal_money_status(session, None) == {
        "price_received": True, "buyer_fee_paid": False, "seller_fee_paid": True, "settled": False}


# --------------------------------------------------------------------------- issuing
def test_not_issuable_until_signed_and_paid(session, clock, monkeypatch):
    deal = make_deal(session, clock)
    op = operator(session, clock)
    money_status(monkeypatch, {"price_received": True, "buyer_fee_paid": False, "seller_fee_paid": True})
    with pytest.raises(RuleViolationError) as exc:
        svc.issue_certificate(session, op, deal.ref, clock=clock)
    assert exc.value.code == "certificate_not_issuable"
    assert exc.value.details["missing"] == ["contract_in_force", "buyer_fee_paid"]
    sign_both(session, clock, deal)
    assert svc.readiness(session, deal)["missing"] == ["buyer_fee_paid"]
    money_status(monkeypatch)
    assert svc.readiness(session, deal)["issuable"] is True
    cert = svc.issue_certificate(session, op, deal.ref, clock=clock)
    assert cert.state is CertificateState.VALID and cert.data["price"] == "¥1,000,000.00"
    assert cert.fingerprint == certificate_fingerprint(cert.data)
    assert cert.short_code == certificate_short_code(cert.fingerprint, cert.serial)
    assert svc.readiness(session, deal)["certificate_ref"] == cert.ref


def test_a_second_certificate_for_the_same_deal_is_refused(session, clock, monkeypatch):
    deal = ready_deal(session, clock, monkeypatch)
    op = operator(session, clock)
    first = svc.issue_certificate(session, op, deal.ref, clock=clock)
    with pytest.raises(ConflictError) as exc:
        svc.issue_certificate(session, op, deal.ref, clock=clock)
    assert exc.value.code == "certificate_exists" and exc.value.details["certificate"] == first.ref
    svc.revoke_certificate(session, op, first.ref, "权属证明材料虚假", clock=clock)
    with pytest.raises(ConflictError) as exc:  # not even after a revocation
        svc.issue_certificate(session, op, deal.ref, clock=clock)
    assert exc.value.code == "certificate_exists"


def test_the_database_itself_refuses_a_second_certificate(session, clock, monkeypatch):
    deal = ready_deal(session, clock, monkeypatch)
    first = svc.issue_certificate(session, operator(session, clock), deal.ref, clock=clock)
    twin = Certificate(ref="T2026-999999", deal_id=deal.id, contract_id=first.contract_id, serial=first.serial + 9999,
                       short_code="0000000000", fingerprint=first.fingerprint, data=first.data,
                       state=CertificateState.VALID, issued_at=clock.now(), issued_by="raw", record_hash="x" * 64)
    with pytest.raises(sa.exc.IntegrityError) as exc:
        with session.begin_nested():
            session.add(twin)
            session.flush()
    assert "deal_id" in str(exc.value)


def test_the_service_answers_certificate_exists_when_the_constraint_fires(session, clock, monkeypatch):
    """Two issuances racing past the look-up: the unique key stops the second one, answered as a 409."""
    deal = ready_deal(session, clock, monkeypatch)
    op = operator(session, clock)
    svc.issue_certificate(session, op, deal.ref, clock=clock)
    from contracts.service import certificates as cert_service

    monkeypatch.setattr(cert_service, "certificate_of_deal", lambda s, deal_id: None)  # the look-up misses it
    with pytest.raises(ConflictError) as exc:
        cert_service.issue_certificate(session, op, deal.ref, clock=clock)
    assert exc.value.code == "certificate_exists"


def test_revoked_verifies_as_revoked(session, clock, monkeypatch):
    deal = ready_deal(session, clock, monkeypatch)
    op = operator(session, clock)
    cert = svc.issue_certificate(session, op, deal.ref, clock=clock)
    check = svc.verify_code(session, cert.short_code.lower())
    assert check == {"code": cert.short_code, "certificate_number": cert.ref, "state": "valid", "valid": True,
                     "fingerprint": cert.fingerprint, "issued_on": cert.issued_at.date(), "revoked_on": None}
    clock.advance(days=3)
    svc.revoke_certificate(session, op, cert.ref, "受让方提供虚假资质文件", clock=clock)
    check = svc.verify_code(session, f"{cert.short_code[:5]}-{cert.short_code[5:]}")
    assert check["state"] == "revoked" and check["valid"] is False and check["revoked_on"] is not None
    # Nothing private in the public answer.
    assert set(check) == {"code", "certificate_number", "state", "valid", "fingerprint", "issued_on", "revoked_on"}
    with pytest.raises(StateError) as exc:
        svc.revoke_certificate(session, op, cert.ref, "again", clock=clock)
    assert exc.value.code == "certificate_already_revoked"


def test_unknown_and_mistyped_codes(session, clock, monkeypatch):
    deal = ready_deal(session, clock, monkeypatch)
    cert = svc.issue_certificate(session, operator(session, clock), deal.ref, clock=clock)
    typo = cert.short_code[:3] + ("1" if cert.short_code[3] != "1" else "2") + cert.short_code[4:]
    with pytest.raises(ValidationError) as exc:
        svc.verify_code(session, typo)
    assert exc.value.code == "invalid_short_code"
    unknown = certificate_short_code("f" * 64, 1_000_000)
    with pytest.raises(NotFoundError):
        svc.verify_code(session, unknown)


def test_a_persons_id_number_is_masked_on_the_certificate(session, clock, monkeypatch):
    from exchange.models import PartyKind
    from tests.factories import id_number, make_member

    person = make_member(session, clock, party_kind=PartyKind.individual, entity_type=EntityType.individual,
                         id_code=id_number(), party_name="张伟")
    deal = ready_deal(session, clock, monkeypatch, buyer=person)
    cert = svc.issue_certificate(session, operator(session, clock), deal.ref, clock=clock)
    assert cert.data["buyer"] == "张伟" and "*" in cert.data["buyer_code"]
    assert person.party.id_code not in pdf_text(svc.certificate_pdf(cert, base_url=BASE_URL))


# --------------------------------------------------------------------------- the PDFs
def test_certificate_pdf_has_every_field_and_is_reproducible(session, clock, monkeypatch):
    deal = ready_deal(session, clock, monkeypatch, price_fen=123_456_789, title="一种高导热石墨烯复合材料")
    cert = svc.issue_certificate(session, operator(session, clock), deal.ref, clock=clock)
    pdf = svc.certificate_pdf(cert, base_url=BASE_URL)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for value in ("技术交易凭证", cert.ref, deal.ref, deal.seller.name, deal.buyer.name, deal.seller.id_code,
                  "一种高导热石墨烯复合材料", "发明专利", deal.asset.number, "¥1,234,567.89", "协议转让", "转让",
                  "未经评估", "一次性支付", "经审核，交易主体资格合法", "2026-03-02", "不适用",
                  f"{cert.short_code[:5]}-{cert.short_code[5:]}", f"{BASE_URL}/verify/{cert.short_code}"):
        assert squash(value) in text, value
    assert cert.fingerprint[:8] in text
    assert "已撤销" not in text
    # The same data gives the same bytes.
    assert svc.certificate_pdf(svc.load_certificate(session, cert.ref), base_url=BASE_URL) == pdf
    svc.revoke_certificate(session, operator(session, clock), cert.ref, "评估报告系伪造", clock=clock)
    revoked = pdf_text(svc.certificate_pdf(cert, base_url=BASE_URL))
    assert "已撤销" in revoked and "评估报告系伪造" in revoked


def test_registration_proof_pdf(session, clock):
    deal = make_deal(session, clock, mode="exclusive_licence", seller_entity=EntityType.enterprise)
    contract = contract_of(session, deal)
    svc.set_non_technical_items(session, operator(session, clock), contract.ref,
                                [svc.ItemInput("配套设备", 20_000_000)], clock=clock)
    sign_both(session, clock, deal)
    op = operator(session, clock)
    reg = svc.submit_registration(session, op, contract.ref, svc.RegistrationSubmission(), clock=clock)
    with pytest.raises(StateError) as exc:
        svc.registration_pdf(reg)
    assert exc.value.code == "registration_not_registered"
    reg = svc.register(session, op, reg.ref, clock=clock)
    pdf = svc.registration_pdf(reg)
    text = pdf_text(pdf)
    for value in ("技术合同认定登记证明", reg.registration_number, contract.title, "技术许可", "独占许可",
                  "先进制造", "发明专利", deal.seller.name, deal.buyer.name, deal.seller.id_code, deal.seller.region_code,
                  "企业", "¥1,000,000.00", "¥800,000.00", "2026-03-02", "2031-03-01", "增值税", "免征",
                  "企业所得税", "可享受减免", reg.record_hash[:8]):
        assert squash(value) in text, value
    assert svc.registration_pdf(reg) == pdf


def test_contract_pdf_shows_articles_and_signatures(session, clock):
    deal = make_deal(session, clock, price_fen=98_765_432)
    contract = sign_both(session, clock, deal)
    pdf = svc.contract_pdf(contract)
    text = pdf_text(pdf)
    for value in (contract.title, contract.ref, deal.seller.name, deal.buyer.name, deal.asset.title, "¥987,654.32",
                  "第一条", "第八条", "合同标的", "违约责任", "争议解决", "上海仲裁委员会", "与本文本一致",
                  deal.seller.users[0].display_name, deal.buyer.users[0].display_name, contract.text_sha256[:8]):
        assert squash(value) in text, value
    assert svc.contract_pdf(contract) == pdf


def test_lists_of_certificates(session, clock, monkeypatch):
    d1 = ready_deal(session, clock, monkeypatch)
    d2 = ready_deal(session, clock, monkeypatch)
    op = operator(session, clock)
    c1 = svc.issue_certificate(session, op, d1.ref, clock=clock)
    c2 = svc.issue_certificate(session, op, d2.ref, clock=clock)
    svc.revoke_certificate(session, op, c2.ref, "撤销", clock=clock)
    items, _ = svc.list_certificates(session, svc.CertificateQuery(state=CertificateState.REVOKED), page=1,
                                     per_page=100)
    assert c2 in items and c1 not in items
    mine, meta = svc.list_certificates(session, svc.CertificateQuery(), page=1, per_page=100,
                                       party_id=d1.seller_party_id)
    assert mine == [c1] and meta["total"] == 1
