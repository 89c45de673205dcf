"""Assets and rights confirmation (确权): register, owners and consents, split rights,
employee-invention authorisations, encumbrances, evidence, operator review."""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock
from exchange.db import remove_unless_committed
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolationError, ValidationError
from exchange.refs import next_reference
from exchange.text import clean_text
from listings import domain as d
from listings.fields import check_field
from listings.models import (
    Asset,
    AssetOwner,
    ConfirmationReview,
    Encumbrance,
    EvidenceDocument,
    InventionAuthorisation,
    RightHolding,
)
from listings.service.common import facts_for, load_asset, load_party, require_holder, today

EVIDENCE_KINDS = ("certificate", "register_extract", "consent", "authorisation", "appraisal_report",
                  "licence_contract", "pledge_record", "other")
CHECKLIST_ITEMS = ("ownership", "legal_status", "consents", "encumbrances", "evidence")


@dataclass(frozen=True)
class AssetInput:
    kind: d.AssetKind
    title: str
    technical_field: str
    number: str | None = None
    filing_date: date | None = None
    summary: str = ""
    confidential_details: str | None = None
    employee_invention_of: str | None = None  # party ref of the institution
    co_owners: list[str] = field(default_factory=list)  # party refs besides the holder


def register_asset(session: Session, actor: Actor, cmd: AssetInput, *, clock: Clock) -> Asset:
    """Register a technology asset held by the actor's party, with its checked identifier."""
    if actor.party_id is None:
        raise PermissionDeniedError("Only members register assets.", code="forbidden_role")
    title = clean_text(cmd.title, "title", max_length=200)
    summary = clean_text(cmd.summary or "", "summary", max_length=5000, min_length=0, multiline=True)
    check_field(cmd.technical_field)
    ident = d.validate_asset_identifier(cmd.kind, cmd.number, cmd.filing_date, today(clock))
    if ident.number and session.scalar(sa.select(Asset.id).where(Asset.number == ident.number)):
        raise ConflictError("%(number)s is already registered at the exchange.", params={"number": ident.number},
                            code="asset_exists", field="number")
    details = None
    if cmd.confidential_details:
        details = clean_text(cmd.confidential_details, "confidential_details", max_length=20000, multiline=True)
    institution_id = None
    if cmd.employee_invention_of:
        institution_id = load_party(session, cmd.employee_invention_of, "employee_invention_of").id
    now = clock.now()
    asset = Asset(ref=next_reference(session, "A", now.year), kind=cmd.kind, title=title, summary=summary,
                  technical_field=cmd.technical_field, number=ident.number, filing_date=cmd.filing_date,
                  expiry_date=ident.expiry, confidential_details=details, holder_party_id=actor.party_id,
                  employee_invention_of_id=institution_id, created_by_id=actor.user_id, created_at=now)
    session.add(asset)
    session.flush()
    # The holder is an owner by default and consents by listing; co-owners must consent in writing.
    session.add(AssetOwner(asset_id=asset.id, party_id=actor.party_id, consented=True))
    session.add(RightHolding(asset_id=asset.id, party_id=actor.party_id, right_type=d.RightType.OWNERSHIP))
    for ref in dict.fromkeys(cmd.co_owners):
        party = load_party(session, ref, "co_owners")
        if party.id != actor.party_id:
            session.add(AssetOwner(asset_id=asset.id, party_id=party.id, consented=False))
            session.add(RightHolding(asset_id=asset.id, party_id=party.id, right_type=d.RightType.OWNERSHIP))
    session.flush()
    record_event(session, actor=actor, action="asset.registered", subject_type="asset", subject_ref=asset.ref,
                 after={"kind": asset.kind, "number": asset.number, "title": title, "expiry": asset.expiry_date},
                 clock=clock)
    return asset


def _reopen_review(session: Session, actor: Actor, asset: Asset, why: str, clock: Clock) -> None:
    """A change to ownership or burdens after confirmation sends the asset back for review."""
    if asset.confirmation == d.AssetConfirmation.CONFIRMED:
        d.check_confirmation_transition(asset.confirmation, d.AssetConfirmation.PENDING)
        asset.confirmation = d.AssetConfirmation.PENDING
        asset.confirmed_at = None
        record_event(session, actor=actor, action="asset.review_reopened", subject_type="asset",
                     subject_ref=asset.ref, before={"confirmation": "confirmed"}, after={"confirmation": "pending"},
                     reason=why, clock=clock)


def set_owner(session: Session, actor: Actor, asset_ref: str, party_ref: str, *, consented: bool,
              share_bp: int | None = None, consent_document_id: int | None = None, clock: Clock) -> AssetOwner:
    """Add a co-owner or record its written consent (with the consent document)."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    party = load_party(session, party_ref)
    if share_bp is not None and not 0 < share_bp <= 10000:
        raise ValidationError("Shares are in basis points, 1-10000.", code="invalid_share", field="share_bp")
    if consented and party.id != asset.holder_party_id:
        if consent_document_id is None:
            raise ValidationError("A co-owner's consent needs its written consent document.",
                                  code="consent_document_required", field="consent_document_id")
        _document_of(session, asset, consent_document_id)
    owner = session.scalar(sa.select(AssetOwner).where(AssetOwner.asset_id == asset.id,
                                                       AssetOwner.party_id == party.id))
    before = None
    if owner is None:
        owner = AssetOwner(asset_id=asset.id, party_id=party.id)
        session.add(owner)
        _reopen_review(session, actor, asset, "owner added", clock)
    else:
        before = {"consented": owner.consented, "share_bp": owner.share_bp}
    owner.consented, owner.share_bp, owner.consent_document_id = consented, share_bp, consent_document_id
    session.flush()
    record_event(session, actor=actor, action="asset.owner_set", subject_type="asset", subject_ref=asset.ref,
                 before=before, after={"party": party.ref, "consented": consented, "share_bp": share_bp}, clock=clock)
    return owner


def add_right_holding(session: Session, actor: Actor, asset_ref: str, party_ref: str, right_type: d.RightType,
                      *, clock: Clock) -> RightHolding:
    """Record who holds a split right (ownership / operating / revenue)."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    party = load_party(session, party_ref)
    exists = session.scalar(sa.select(RightHolding).where(RightHolding.asset_id == asset.id,
                                                          RightHolding.party_id == party.id,
                                                          RightHolding.right_type == right_type))
    if exists:
        raise ConflictError("That holding is already recorded.", code="holding_exists")
    h = RightHolding(asset_id=asset.id, party_id=party.id, right_type=right_type)
    session.add(h)
    _reopen_review(session, actor, asset, "right holding added", clock)
    session.flush()
    record_event(session, actor=actor, action="asset.right_added", subject_type="asset", subject_ref=asset.ref,
                 after={"party": party.ref, "right_type": right_type}, clock=clock)
    return h


def remove_right_holding(session: Session, actor: Actor, asset_ref: str, holding_id: int, *, clock: Clock) -> None:
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    h = session.get(RightHolding, holding_id)
    if h is None or h.asset_id != asset.id:
        raise NotFoundError("No such holding.", code="holding_not_found")
    session.delete(h)
    _reopen_review(session, actor, asset, "right holding removed", clock)
    session.flush()
    record_event(session, actor=actor, action="asset.right_removed", subject_type="asset", subject_ref=asset.ref,
                 before={"party_id": h.party_id, "right_type": h.right_type}, clock=clock)


def add_authorisation(session: Session, actor: Actor, asset_ref: str, *, institution_ref: str, grantee_ref: str,
                      trading_modes: list[d.TradingMode], valid_from: date | None, valid_until: date | None,
                      document_id: int, clock: Clock) -> InventionAuthorisation:
    """Record an institution's authorisation to deal in an employee invention."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    inst, grantee = load_party(session, institution_ref, "institution_ref"), load_party(session, grantee_ref,
                                                                                        "grantee_ref")
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationError("The authorisation ends before it starts.", code="invalid_dates", field="valid_until")
    _document_of(session, asset, document_id)
    a = InventionAuthorisation(asset_id=asset.id, institution_party_id=inst.id, grantee_party_id=grantee.id,
                               trading_modes=[m.value for m in trading_modes], valid_from=valid_from,
                               valid_until=valid_until, document_id=document_id)
    session.add(a)
    session.flush()
    record_event(session, actor=actor, action="asset.authorisation_added", subject_type="asset",
                 subject_ref=asset.ref, after={"institution": inst.ref, "grantee": grantee.ref,
                                               "modes": [m.value for m in trading_modes]}, clock=clock)
    return a


@dataclass(frozen=True)
class EncumbranceInput:
    kind: d.EncumbranceKind
    starts_on: date
    ends_on: date | None = None
    holder_party_ref: str | None = None
    holder_name: str = ""
    consent_to_transfer: bool = False
    note: str = ""
    pledge_ref: str | None = None


def add_encumbrance(session: Session, actor: Actor, asset_ref: str, cmd: EncumbranceInput, *,
                    clock: Clock) -> Encumbrance:
    """Record a pledge, an existing exclusive/sole licence or a court freeze."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    if cmd.ends_on and cmd.ends_on < cmd.starts_on:
        raise ValidationError("The encumbrance ends before it starts.", code="invalid_dates", field="ends_on")
    if cmd.kind == d.EncumbranceKind.COURT_FREEZE and cmd.consent_to_transfer:
        raise ValidationError("A court freeze has no consent to transfer.", code="invalid_encumbrance",
                              field="consent_to_transfer")
    holder = load_party(session, cmd.holder_party_ref, "holder_party_ref") if cmd.holder_party_ref else None
    e = Encumbrance(asset_id=asset.id, kind=cmd.kind, starts_on=cmd.starts_on, ends_on=cmd.ends_on,
                    holder_party_id=holder.id if holder else None,
                    holder_name=clean_text(cmd.holder_name or (holder.name if holder else "-"), "holder_name",
                                           max_length=200),
                    consent_to_transfer=cmd.consent_to_transfer,
                    note=clean_text(cmd.note or "", "note", max_length=2000, min_length=0, multiline=True),
                    pledge_ref=cmd.pledge_ref)
    session.add(e)
    _reopen_review(session, actor, asset, f"{cmd.kind.value} recorded", clock)
    session.flush()
    record_event(session, actor=actor, action="asset.encumbrance_added", subject_type="asset", subject_ref=asset.ref,
                 after={"kind": cmd.kind, "starts_on": cmd.starts_on, "ends_on": cmd.ends_on,
                        "holder": e.holder_name, "consent_to_transfer": cmd.consent_to_transfer}, clock=clock)
    return e


def update_encumbrance(session: Session, actor: Actor, asset_ref: str, encumbrance_id: int, *,
                       consent_to_transfer: bool | None = None, released_on: date | None = None,
                       clock: Clock) -> Encumbrance:
    """Record the holder's consent to transfer, or the release of the encumbrance."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    e = session.get(Encumbrance, encumbrance_id)
    if e is None or e.asset_id != asset.id:
        raise NotFoundError("No such encumbrance.", code="encumbrance_not_found")
    if e.released_on is not None:
        raise ConflictError("This encumbrance is already released.", code="encumbrance_released")
    before = {"consent_to_transfer": e.consent_to_transfer, "released_on": e.released_on}
    if consent_to_transfer is not None:
        if e.kind == d.EncumbranceKind.COURT_FREEZE:
            raise ValidationError("A court freeze has no consent to transfer.", code="invalid_encumbrance")
        e.consent_to_transfer = consent_to_transfer
    if released_on is not None:
        if released_on < e.starts_on:
            raise ValidationError("Released before it started.", code="invalid_dates", field="released_on")
        e.released_on = released_on
    session.flush()
    record_event(session, actor=actor, action="asset.encumbrance_updated", subject_type="asset",
                 subject_ref=asset.ref, before=before,
                 after={"consent_to_transfer": e.consent_to_transfer, "released_on": e.released_on}, clock=clock)
    return e


# -- evidence ------------------------------------------------------------------------------
_SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


def sniff_type(data: bytes) -> tuple[str, str]:
    """The content type from the bytes themselves; a name or a declared type proves nothing."""
    for magic, ctype, ext in _SIGNATURES:
        if data.startswith(magic):
            return ctype, ext
    if len(data) > 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    raise ValidationError("Only PDF documents and PNG, JPEG or WebP images are accepted.",
                          code="unsupported_file_type", field="file")


def upload_evidence(session: Session, actor: Actor, asset_ref: str, *, kind: str, filename: str, data: bytes,
                    public: bool, folder: str, max_bytes: int, clock: Clock) -> EvidenceDocument:
    """Store an evidence file on disk, fingerprinted with SHA-256."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    if kind not in EVIDENCE_KINDS:
        raise ValidationError("Unknown evidence kind %(kind)r.", params={"kind": kind}, code="invalid_evidence_kind",
                              field="kind", details={"allowed": list(EVIDENCE_KINDS)})
    if not data:
        raise ValidationError("The file is empty.", code="empty_file", field="file")
    if len(data) > max_bytes:
        raise ValidationError("Files are limited to %(mb)d MB.", params={"mb": max_bytes // (1024 * 1024)},
                              code="file_too_large", field="file")
    ctype, ext = sniff_type(data)
    name = clean_text(os.path.basename(filename or "document") or "document", "filename", max_length=200)
    digest = hashlib.sha256(data).hexdigest()
    key = uuid.uuid4().hex + ext
    target = Path(folder) / key[:2] / key
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    remove_unless_committed(session, target)  # before writing: a failure from here on takes the file too
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # a half-written part (disk full) is not left behind
    doc = EvidenceDocument(asset_id=asset.id, kind=kind, filename=name, content_type=ctype, size=len(data),
                           sha256=digest, storage_key=key, public=public, uploaded_by_id=actor.user_id,
                           uploaded_at=clock.now())
    session.add(doc)
    session.flush()
    record_event(session, actor=actor, action="asset.evidence_uploaded", subject_type="asset", subject_ref=asset.ref,
                 after={"document_id": doc.id, "kind": kind, "sha256": digest, "size": len(data)}, clock=clock)
    return doc


def _document_of(session: Session, asset: Asset, document_id: int) -> EvidenceDocument:
    doc = session.get(EvidenceDocument, document_id)
    if doc is None or doc.asset_id != asset.id:
        raise NotFoundError("No such document for this asset.", code="document_not_found")
    return doc


def document_path(folder: str, doc: EvidenceDocument) -> Path:
    return Path(folder) / doc.storage_key[:2] / doc.storage_key


def can_download(actor: Actor | None, asset: Asset, doc: EvidenceDocument, *, listed_publicly: bool) -> bool:
    if actor is not None and (actor.can_read_all or actor.party_id == asset.holder_party_id):
        return True
    return doc.public and listed_publicly


# -- operator review -------------------------------------------------------------------------
def request_review(session: Session, actor: Actor, asset_ref: str, *, clock: Clock) -> Asset:
    """The holder asks the exchange to confirm its rights."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    if asset.confirmation == d.AssetConfirmation.PENDING:
        return asset
    before = asset.confirmation
    d.check_confirmation_transition(asset.confirmation, d.AssetConfirmation.PENDING)
    asset.confirmation = d.AssetConfirmation.PENDING
    session.flush()
    record_event(session, actor=actor, action="asset.review_requested", subject_type="asset", subject_ref=asset.ref,
                 before={"confirmation": before}, after={"confirmation": asset.confirmation}, clock=clock)
    return asset


def automatic_checks(session: Session, asset: Asset, clock: Clock) -> list[dict[str, str]]:
    """What the rules find wrong with the asset as a sale by its holder (the strictest mode)."""
    facts = facts_for(session, asset, asset.holder_party_id, d.TradingMode.ASSIGNMENT)
    found = [p._asdict() for p in d.listing_problems(facts, today(clock))]
    if not asset.documents:
        found.append({"code": "evidence_missing", "message": "No evidence document has been uploaded."})
    return found


def review_asset(session: Session, actor: Actor, asset_ref: str, *, checklist: dict[str, bool], confirm: bool,
                 reasons: str, clock: Clock) -> ConfirmationReview:
    """Record the operator's rights-confirmation decision (确权) with its checklist and reasons."""
    asset = load_asset(session, asset_ref, for_update=True)
    reasons = clean_text(reasons, "reasons", max_length=5000, multiline=True)
    unknown = set(checklist) - set(CHECKLIST_ITEMS)
    if unknown or set(CHECKLIST_ITEMS) - set(checklist):
        raise ValidationError(f"The checklist has exactly these items: {', '.join(CHECKLIST_ITEMS)}.",
                              code="invalid_checklist", field="checklist")
    if asset.confirmation != d.AssetConfirmation.PENDING:
        raise RuleViolationError("The holder has not asked for a review (or it is already decided).",
                                 code="review_not_requested")
    problems = automatic_checks(session, asset, clock)
    decision = d.AssetConfirmation.CONFIRMED if confirm else d.AssetConfirmation.REJECTED
    if confirm:
        unchecked = [k for k in CHECKLIST_ITEMS if not checklist[k]]
        if unchecked:
            raise RuleViolationError(f"Every checklist item must be ticked to confirm: {', '.join(unchecked)}.",
                                     code="confirmation_checklist_incomplete", field="checklist",
                                     details={"unchecked": unchecked})
        blocking = [p for p in problems if p["code"] in ("court_frozen", "patent_expired", "evidence_missing",
                                                         "co_owner_consent_missing", "seller_lacks_right",
                                                         "employee_invention_unauthorised")]
        if blocking:
            raise RuleViolationError(blocking[0]["message"], code=blocking[0]["code"],
                                     details={"problems": problems})
    d.check_confirmation_transition(asset.confirmation, decision)
    asset.confirmation = decision
    asset.confirmed_at = clock.now() if confirm else None
    review = ConfirmationReview(asset_id=asset.id, checklist=checklist, problems=problems, decision=decision,
                                reasons=reasons, reviewer_id=actor.user_id, decided_at=clock.now())
    session.add(review)
    session.flush()
    record_event(session, actor=actor, action="asset.confirmed" if confirm else "asset.confirmation_rejected",
                 subject_type="asset", subject_ref=asset.ref, before={"confirmation": "pending"},
                 after={"confirmation": decision, "checklist": checklist, "problems": problems}, reason=reasons,
                 clock=clock)
    return review
