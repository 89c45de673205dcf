"""The transaction certificate (交易凭证): issued once per deal when the contract is in force,
the price is in the settlement account and both sides' fees are paid; revocable with a
reason; publicly verifiable by its short code.

"Once per deal" is the database's rule (``certificates.deal_id`` UNIQUE): the
service looks first to answer clearly, and a concurrent second issuance that
slips past the look is stopped by the constraint and answered the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from auctions.models import Deal
from auctions.service import deals as deal_service
from contracts import domain as cd
from contracts.models import Certificate, Contract
from contracts.service import drafting
from contracts.service import labels as lb
from contracts.service.contracts import contract_for_deal, within
from contracts.service.records import seal
from contracts.service.settlement_link import deal_money_status
from exchange.actors import Actor
from exchange.audit import record_event
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, local_date
from exchange.db import is_postgres
from exchange.errors import ConflictError, NotFoundError
from exchange.money import Money
from exchange.pagination import paginate
from exchange.refs import next_reference
from exchange.text import clean_text
from listings.service.pricing import current_appraisal

_SERIAL_LOCK_KEY = 0x7EC4CE27  # names the certificate-serial lock (see exchange.audit for the pattern)
NOT_APPLICABLE = "不适用 N/A"
REVIEW_CONCLUSION = ("经审核，交易主体资格合法，交易程序符合本所交易规则，成交价款已通过本所结算。 "
                     "Parties qualified; the Exchange's rules were followed; the price was settled through the Exchange.")


def load_certificate(session: Session, ref: str, *, for_update: bool = False) -> Certificate:
    stmt = sa.select(Certificate).where(Certificate.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    cert = session.scalar(stmt)
    if cert is None:
        raise NotFoundError(f"No certificate {ref}.", code="certificate_not_found")
    return cert


def visible_certificate(actor: Actor, cert: Certificate) -> Certificate:
    deal = cert.deal
    if actor.can_read_all or actor.party_id in (deal.seller_party_id, deal.buyer_party_id):
        return cert
    raise NotFoundError(f"No certificate {cert.ref}.", code="certificate_not_found")


def certificate_of_deal(session: Session, deal_id: int) -> Certificate | None:
    return session.scalar(sa.select(Certificate).where(Certificate.deal_id == deal_id))


# --------------------------------------------------------------------------- readiness
def readiness(session: Session, deal: Deal) -> dict[str, Any]:
    """What the certificate waits for: each condition, and the certificate if issued."""
    contract = contract_for_deal(session, deal.id)
    money = deal_money_status(session, deal)
    conditions = {"contract_in_force": contract is not None and contract.state is cd.ContractState.IN_FORCE,
                  "price_received": money["price_received"], "buyer_fee_paid": money["buyer_fee_paid"],
                  "seller_fee_paid": money["seller_fee_paid"]}
    cert = certificate_of_deal(session, deal.id)
    return {"deal_ref": deal.ref, "contract_ref": contract.ref if contract else None, "conditions": conditions,
            "missing": [k for k, v in conditions.items() if not v], "issuable": all(conditions.values()) and not cert,
            "settled": money["settled"], "certificate_ref": cert.ref if cert else None}


# --------------------------------------------------------------------------- data
def _appraisal_line(session: Session, deal: Deal) -> str:
    appraisal = current_appraisal(session, deal.asset_id, local_date(deal.struck_at))
    if appraisal is None:
        return "未经评估 Not appraised"
    value = Money(appraisal.value_fen, appraisal.currency).format()
    return f"评估值 Appraised value {value}（{appraisal.appraiser}，{appraisal.report_number}，{appraisal.report_date}）"


def _party_code(party: Any) -> str:
    # The certificate is shown to banks and tax offices: a person's ID number only in part.
    return party.masked_id_code


def certificate_data(session: Session, deal: Deal, contract: Contract, number: str, issued_on: date) -> dict[str, Any]:
    """Every field the certificate prints, as plain JSON values (the fingerprint is over exactly this)."""
    terms = deal.terms or {}
    asset = deal.asset
    return {
        "certificate_number": number,
        "issue_date": issued_on.isoformat(),
        "project_number": deal.listing.ref if deal.listing else deal.ref,
        "deal_ref": deal.ref,
        "contract_ref": contract.ref,
        "signing_date": local_date(contract.in_force_at).isoformat() if contract.in_force_at else "",
        "publicity_start": terms.get("publicity_start") or NOT_APPLICABLE,
        "publicity_end": terms.get("publicity_end") or NOT_APPLICABLE,
        "seller": deal.seller.name,
        "seller_code": _party_code(deal.seller),
        "buyer": deal.buyer.name,
        "buyer_code": _party_code(deal.buyer),
        "broker": None,
        "subject_title": asset.title,
        "subject_kind": lb.label(lb.ASSET_KIND, asset.kind),
        "subject_numbers": [asset.number] if asset.number else [asset.ref],
        "trading_method": f"{lb.DEAL_METHOD.get(deal.method.value, deal.method.value)} · {lb.label(lb.MODE, deal.mode)}",
        "appraisal_result": _appraisal_line(session, deal),
        "price": Money(deal.price_fen, deal.currency).format(),
        "price_fen": deal.price_fen,
        "currency": deal.currency,
        "payment_method": drafting.payment_line(deal),
        "review_conclusion": REVIEW_CONCLUSION,
    }


# --------------------------------------------------------------------------- issue and revoke
def _next_serial(session: Session) -> int:
    if is_postgres(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_SERIAL_LOCK_KEY)))
    return (session.scalar(sa.select(sa.func.max(Certificate.serial))) or 0) + 1


def issue_certificate(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> Certificate:
    """Issue the deal's certificate. ``certificate_exists`` (409) if it has one, ever;
    ``certificate_not_issuable`` (422, ``details.missing``) while a condition is unmet."""
    deal = deal_service.load_deal(session, deal_ref, for_update=True)
    existing = certificate_of_deal(session, deal.id)
    if existing is not None:
        raise ConflictError("This deal already has a certificate; it is never issued twice.",
                            code="certificate_exists", details={"certificate": existing.ref})
    contract = contract_for_deal(session, deal.id)
    money = deal_money_status(session, deal)
    cd.certificate_issuable(contract is not None and contract.state is cd.ContractState.IN_FORCE,
                            money["price_received"], money["buyer_fee_paid"], money["seller_fee_paid"])
    assert contract is not None
    now = clock.now()
    number = next_reference(session, "T", now.year)
    data = certificate_data(session, deal, contract, number, local_date(now))
    fingerprint = cd.certificate_fingerprint(data)
    serial = _next_serial(session)
    cert = Certificate(ref=number, deal_id=deal.id, contract_id=contract.id, serial=serial,
                       short_code=cd.certificate_short_code(fingerprint, serial), fingerprint=fingerprint, data=data,
                       state=cd.CertificateState.VALID, issued_at=now, issued_by=actor.label, record_hash="")
    try:
        with session.begin_nested():
            session.add(cert)
            session.flush()
    except sa.exc.IntegrityError:
        raise ConflictError("This deal already has a certificate; it is never issued twice.",
                            code="certificate_exists") from None
    seal(session, cert)
    record_event(session, actor=actor, action="certificate.issued", subject_type="certificate", subject_ref=number,
                 after={"deal": deal.ref, "contract": contract.ref, "state": cert.state, "short_code": cert.short_code,
                        "fingerprint": fingerprint}, clock=clock)
    return cert


def revoke_certificate(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Certificate:
    """Revoke a certificate whose grounds proved false; it then shows as revoked everywhere."""
    cert = load_certificate(session, ref, for_update=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    cd.check_certificate_transition(cert.state, cd.CertificateState.REVOKED)
    cert.state = cd.CertificateState.REVOKED
    cert.revoked_at, cert.revoked_reason, cert.revoked_by = clock.now(), reason, actor.label
    seal(session, cert)
    record_event(session, actor=actor, action="certificate.revoked", subject_type="certificate", subject_ref=ref,
                 before={"state": cd.CertificateState.VALID}, after={"state": cert.state}, reason=reason, clock=clock)
    return cert


def certificate_due_on(session: Session, conditions_met_on: date) -> date:
    """The day a certificate is due once its last condition was met (3 working days)."""
    return cd.certificate_deadline(get_calendar(session), conditions_met_on).day


# --------------------------------------------------------------------------- public verification
def verify_code(session: Session, code: str) -> dict[str, Any]:
    """What anyone with the code may know: valid or revoked, the fingerprint, the number and dates.
    Nothing about the parties, the price or the reason of a revocation."""
    normal = cd.normalise_short_code(code)
    cert = session.scalar(sa.select(Certificate).where(Certificate.short_code == normal))
    if cert is None:
        raise NotFoundError("No certificate has this code.", code="certificate_not_found")
    return {"code": normal, "certificate_number": cert.ref, "state": cert.state.value,
            "valid": cert.state is cd.CertificateState.VALID, "fingerprint": cert.fingerprint,
            "issued_on": local_date(cert.issued_at),
            "revoked_on": local_date(cert.revoked_at) if cert.revoked_at else None}


# --------------------------------------------------------------------------- lists
@dataclass(frozen=True)
class CertificateQuery:
    state: cd.CertificateState | None = None
    deal_ref: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None


def certificates_query(q: CertificateQuery, *, party_id: int | None = None) -> sa.Select:
    stmt = sa.select(Certificate).join(Deal, Deal.id == Certificate.deal_id)
    if party_id is not None:
        stmt = stmt.where(sa.or_(Deal.seller_party_id == party_id, Deal.buyer_party_id == party_id))
    if q.state is not None:
        stmt = stmt.where(Certificate.state == q.state)
    if q.deal_ref:
        stmt = stmt.where(Deal.ref == q.deal_ref)
    stmt = within(stmt, Certificate.issued_at, q.issued_from, q.issued_to)
    return stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc())


def list_certificates(session: Session, q: CertificateQuery, *, page: int, per_page: int,
                      party_id: int | None = None) -> tuple[list[Certificate], dict[str, int]]:
    return paginate(session, certificates_query(q, party_id=party_id), page, per_page)
