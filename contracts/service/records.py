"""Tamper evidence for the stored records: contracts, registrations and certificates.

Each row keeps ``record_hash`` = SHA-256 of the canonical JSON of its record
(``exchange.jsonable.canonical_json``); a contract's record includes its
signatures and non-technical items, a registration's its changes. The services
call ``seal`` after every change they make. ``verify_records`` recomputes every
hash, and also the hashes the record itself states (a contract's text SHA-256,
every signature's fingerprint, a certificate's fingerprint and short code), so
an edit made outside the services shows, wherever it was made.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from contracts import domain as cd
from contracts.models import Certificate, Contract, TechRegistration
from exchange.jsonable import canonical_json


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def contract_record(c: Contract) -> dict[str, Any]:
    """The contract as the auditor sees it, with its signatures and non-technical items."""
    return {
        "kind": "contract",
        "ref": c.ref,
        "deal_id": c.deal_id,
        "state": c.state,
        "contract_type": c.contract_type,
        "subtype": c.subtype,
        "title": c.title,
        "text_sha256": c.text_sha256,
        "text_edited": c.text_edited,
        "drafted_at": c.drafted_at,
        "in_force_at": c.in_force_at,
        "closed_at": c.closed_at,
        "close_reason": c.close_reason,
        "signatures": [{"side": s.side, "party_id": s.party_id, "user_id": s.user_id, "signed_at": s.signed_at,
                        "text_sha256": s.text_sha256} for s in c.signatures],
        "non_technical_items": [{"position": i.position, "description": i.description, "amount_fen": i.amount_fen,
                                 "currency": i.currency} for i in c.non_technical_items],
    }


_REGISTRATION_COLUMNS = (
    "ref", "contract_id", "state", "registration_number", "region_code", "contract_name", "subject", "asset_refs",
    "contract_type", "subtype", "technical_field", "ip_type", "signing_date", "term_start", "term_end",
    "licence_term_years", "deal_amount_fen", "tech_amount_fen", "currency", "parties", "seller_state_owned",
    "appraisal_filed", "seller_is_resident_company", "export_controlled", "export_licence_obtained",
    "restrictive_clauses_flagged", "disputed", "wholly_related", "submitted_at", "submitted_by", "due_on",
    "due_provisional", "overdue_flagged_at", "decided_at", "decided_by", "registered_on", "refusal_reasons",
    "decision_note", "tax_relief",
)


def registration_record(r: TechRegistration) -> dict[str, Any]:
    record = {name: getattr(r, name) for name in _REGISTRATION_COLUMNS}
    record["kind"] = "tech_registration"
    record["changes"] = [{"kind": ch.kind, "changes": ch.changes, "reason": ch.reason, "recorded_at": ch.recorded_at,
                          "recorded_by": ch.recorded_by} for ch in r.changes]
    return record


_CERTIFICATE_COLUMNS = ("ref", "deal_id", "contract_id", "serial", "short_code", "fingerprint", "data", "state",
                        "issued_at", "issued_by", "revoked_at", "revoked_reason", "revoked_by")


def certificate_record(c: Certificate) -> dict[str, Any]:
    record = {name: getattr(c, name) for name in _CERTIFICATE_COLUMNS}
    record["kind"] = "certificate"
    return record


def record_of(obj: Contract | TechRegistration | Certificate) -> dict[str, Any]:
    if isinstance(obj, Contract):
        return contract_record(obj)
    if isinstance(obj, TechRegistration):
        return registration_record(obj)
    return certificate_record(obj)


def record_hash(obj: Contract | TechRegistration | Certificate) -> str:
    return _sha256(record_of(obj))


def seal(session: Session, obj: Contract | TechRegistration | Certificate) -> None:
    """Write the record's hash after a change (flushes first so ids and children are in place)."""
    session.flush()
    obj.record_hash = record_hash(obj)
    session.flush()


# --------------------------------------------------------------------------- verification
@dataclass
class RecordsReport:
    checked: dict[str, int] = field(default_factory=lambda: {"contracts": 0, "registrations": 0, "certificates": 0})
    mismatches: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": dict(self.checked), "mismatches": list(self.mismatches)}


def _contract_problems(c: Contract) -> Iterator[str]:
    if record_hash(c) != c.record_hash:
        yield "the stored record does not match its record hash"
    if cd.contract_text_fingerprint(c.text) != c.text_sha256:
        yield "the contract text does not match its SHA-256"
    for s in c.signatures:
        if s.text_sha256 != c.text_sha256:
            yield f"the {s.side} signature is over another text"


def _certificate_problems(c: Certificate) -> Iterator[str]:
    if record_hash(c) != c.record_hash:
        yield "the stored record does not match its record hash"
    if cd.certificate_fingerprint(c.data) != c.fingerprint:
        yield "the certificate data does not match its fingerprint"
    elif cd.certificate_short_code(c.fingerprint, c.serial) != c.short_code:
        yield "the short code does not belong to the fingerprint and serial"


def _batches(session: Session, stmt: sa.Select, batch: int) -> Iterable[Any]:
    last = 0
    entity = stmt.column_descriptions[0]["entity"]
    while True:
        rows = session.scalars(stmt.where(entity.id > last).order_by(entity.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def verify_records(session: Session, *, batch: int = 500) -> RecordsReport:
    """Recompute every stored record's hash and the fingerprints it states; list what does not match."""
    session.flush()
    session.expire_all()  # compare what is stored, not what this session remembers
    report = RecordsReport()

    def note(kind: str, ref: str, problems: Iterable[str]) -> None:
        for problem in problems:
            report.mismatches.append({"kind": kind, "ref": ref, "problem": problem})

    stmt = sa.select(Contract).options(selectinload(Contract.signatures), selectinload(Contract.non_technical_items))
    for c in _batches(session, stmt, batch):
        report.checked["contracts"] += 1
        note("contract", c.ref, _contract_problems(c))
    stmt = sa.select(TechRegistration).options(selectinload(TechRegistration.changes))
    for r in _batches(session, stmt, batch):
        report.checked["registrations"] += 1
        note("tech_registration", r.ref, ["the stored record does not match its record hash"]
             if record_hash(r) != r.record_hash else [])
    for c in _batches(session, sa.select(Certificate), batch):
        report.checked["certificates"] += 1
        note("certificate", c.ref, _certificate_problems(c))
    return report
