"""The PDFs of stored records: fill ``contracts.pdf``'s input dataclasses from the rows.

Rendering is deterministic (``contracts.pdf``), so a document can be produced
again at any time from the stored record and gives the same bytes.
"""
from __future__ import annotations

import dataclasses
from datetime import date

from contracts.domain import CertificateState, ContractType, RegistrationState
from contracts.models import Certificate, Contract, TechRegistration
from contracts.pdf import (
    CertificateData,
    ContractDocData,
    PartyLine,
    RegistrationProofData,
    SignatureLine,
    render_certificate_pdf,
    render_contract_pdf,
    render_registration_pdf,
)
from contracts.service import drafting
from contracts.service import labels as lb
from exchange.clock import local_date
from exchange.errors import StateError
from exchange.models import EntityType
from exchange.money import Money
from listings.domain import AssetKind
from listings.fields import TECH_FIELDS

_CERTIFICATE_FIELDS = {f.name for f in dataclasses.fields(CertificateData)}


def _party_line(role: str, party) -> PartyLine:  # type: ignore[no-untyped-def]
    return PartyLine(role=role, name=party.name, credit_code=party.id_code, region_code=party.region_code,
                     entity_type=lb.label(lb.ENTITY_TYPE, party.entity_type))


def contract_pdf(contract: Contract) -> bytes:
    deal = contract.deal
    ctype = contract.contract_type
    signatures = tuple(
        SignatureLine(party=f"{(lb.seller_role if s.side.value == 'seller' else lb.buyer_role)(ctype)} {s.party.name}",
                      signer=f"{s.user.display_name}（{s.user.ref}）", signed_at=s.signed_at, text_sha256=s.text_sha256)
        for s in contract.signatures)
    asset = deal.asset
    subject = f"{asset.title}（{lb.label(lb.ASSET_KIND, asset.kind)}{'，' + asset.number if asset.number else ''}）"
    data = ContractDocData(
        title=contract.title, contract_number=contract.ref,
        parties=(_party_line(lb.seller_role(ctype), deal.seller), _party_line(lb.buyer_role(ctype), deal.buyer)),
        subject=subject, mode=lb.label(lb.MODE, deal.mode), scope=drafting.scope_line(deal),
        price=Money(deal.price_fen, deal.currency), payment_terms=drafting.payment_line(deal),
        clauses=drafting.clauses_of(contract.text), text_sha256=contract.text_sha256, signatures=signatures)
    return render_contract_pdf(data)


def _term_text(reg: TechRegistration) -> str:
    if reg.term_start and reg.term_end:
        return f"{reg.term_start.isoformat()} 至 {reg.term_end.isoformat()}"
    if reg.contract_type is ContractType.TRANSFER:
        return "权利转让，无期限 Assignment, no term"
    if reg.licence_term_years:
        return f"自合同生效起{reg.licence_term_years}年 {reg.licence_term_years} years from taking effect"
    return "见合同 As the contract states"


def _reg_party_line(p: dict) -> PartyLine:
    role = "卖方 Seller" if p.get("role") == "seller" else "买方 Buyer"
    try:
        entity = lb.label(lb.ENTITY_TYPE, EntityType(p.get("entity_type")))
    except ValueError:
        entity = str(p.get("entity_type", ""))
    return PartyLine(role=role, name=p.get("name", ""), credit_code=p.get("credit_code", ""),
                     region_code=p.get("region_code", ""), entity_type=entity)


def registration_pdf(reg: TechRegistration, *, registry: str = "") -> bytes:
    """The registration proof; only for a registration that stands (registered or changed)."""
    if reg.state not in (RegistrationState.REGISTERED, RegistrationState.CHANGED) or not reg.registration_number:
        raise StateError("Only a standing registration has a proof.", code="registration_not_registered",
                         details={"state": reg.state.value})
    field_zh, field_en = TECH_FIELDS.get(reg.technical_field, (reg.technical_field, reg.technical_field))
    try:
        ip_type = lb.label(lb.ASSET_KIND, AssetKind(reg.ip_type))
    except ValueError:
        ip_type = reg.ip_type
    relief = reg.tax_relief or {}
    lines = (f"增值税 VAT：{'免征 exempt' if relief.get('vat_exempt') else '不免征 not exempt'}",
             f"企业所得税 Income tax：{'可享受减免 relief available' if relief.get('income_tax_relief') else '不适用 no relief'}",
             *relief.get("reasons", ()))
    data = RegistrationProofData(
        registration_number=reg.registration_number, contract_name=reg.contract_name,
        parties=tuple(_reg_party_line(p) for p in reg.parties),
        contract_type=lb.label(lb.CONTRACT_TYPE, reg.contract_type), contract_subtype=lb.label(lb.SUBTYPE, reg.subtype),
        technical_field=f"{field_zh} {field_en}", ip_type=ip_type,
        signing_date=reg.signing_date.isoformat() if reg.signing_date else "未签署 Not signed",
        term=_term_text(reg), deal_amount=Money(reg.deal_amount_fen, reg.currency),
        technology_amount=Money(reg.tech_amount_fen, reg.currency),
        registration_date=reg.registered_on or date.min, fingerprint=reg.record_hash,
        tax_relief=lines, registry=registry or f"技术合同登记机构（行政区划 {reg.region_code}）")
    return render_registration_pdf(data)


def certificate_input(cert: Certificate) -> CertificateData:
    data = {k: v for k, v in cert.data.items() if k in _CERTIFICATE_FIELDS}
    data["subject_numbers"] = tuple(data.get("subject_numbers") or ())
    return CertificateData(short_code=cert.short_code, fingerprint=cert.fingerprint, **data)


def certificate_pdf(cert: Certificate, *, base_url: str) -> bytes:
    revoked = cert.state is CertificateState.REVOKED
    return render_certificate_pdf(certificate_input(cert), base_url=base_url, revoked=revoked,
                                  revocation_reason=cert.revoked_reason if revoked else None,
                                  revoked_on=local_date(cert.revoked_at) if revoked and cert.revoked_at else None)
